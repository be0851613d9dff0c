"""What the studio's pages show, computed by the library functions the CLI uses (the manifest reader, the shard
index, `edit`'s re-composition, the masks overlay): JSON-ready dicts and PNG/GIF bytes. Nothing here knows about
HTTP (`server.py` does)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
from PIL import Image

from ..errors import GenomniError

PANEL_HEIGHT = 160  # px: clips smaller than this are enlarged (nearest neighbour) to be readable
GIF_FRAMES = 48
PAGE_SIZES = (12, 24, 48, 96)
NAME = re.compile(r"[A-Za-z0-9_.-]+")


def png(image: np.ndarray) -> bytes:
    """RGB or grey uint8 image -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def readable(image: np.ndarray) -> np.ndarray:
    """`image` enlarged by a whole factor (nearest neighbour, every pixel stays a block) to PANEL_HEIGHT or more."""
    factor = _factor(image.shape[0])
    return image if factor == 1 else cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


class Cache:
    """A small thread-safe least-recently-used cache of computed values."""

    def __init__(self, size: int):
        self.size, self._items, self._lock = size, OrderedDict[Any, Any](), threading.Lock()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def cache_dir() -> Path:
    """Where previews are kept between runs: $XDG_CACHE_HOME/genomni/studio (~/.cache/genomni/studio)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genomni" / "studio"


class DatasetView:
    """A shard directory: its samples filtered, sorted and paged from the manifest; frames and animated previews
    of one sample (input | trimask | target) decoded through the shard index, previews cached on disk."""

    def __init__(self, path: str):
        from ..shards import read_card, read_manifest

        self.path = path
        self.card = read_card(path)
        self.records = read_manifest(path)
        self.by_key = {r["key"]: i for i, r in enumerate(self.records)}
        self.qc_fields = sorted(
            {k for r in self.records for k, v in r.get("qc", {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        )
        self.sources = sorted({r["source"] for r in self.records})
        self.scenarios = sorted({r["scenario"] for r in self.records if isinstance(r.get("scenario"), str)})
        self._index: Any = None
        self._samples = Cache(8)
        self._reading = threading.Lock()  # one reader of the shards at a time: the index is built once, a shard scanned once
        digest = hashlib.sha256((os.path.abspath(path) + json.dumps(self.card.get("shard_files", {}), sort_keys=True)).encode())
        self._cache = cache_dir() / digest.hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        card = self.card
        return {
            "samples": len(self.records),
            "sources": self.sources,
            "scenarios": self.scenarios,
            "qc_fields": self.qc_fields,
            "command": card.get("command", ""),
            "generator": card.get("generator", card.get("source", "")),
            "resolutions": card.get("resolutions", []),
            "frames": card.get("frames", []),
            "dropped_scenes": card.get("dropped_scenes", []),
            "complete": card.get("complete"),
        }

    def page(
        self,
        page: int = 0,
        per: int = 24,
        source: str = "",
        scenario: str = "",
        text: str = "",
        sort: str = "",
        descending: bool = False,
        ranges: dict[str, tuple[float | None, float | None]] | None = None,
    ) -> dict[str, Any]:
        """One page of samples: those of `source` and `scenario` (recorded in manifests written after genomni
        0.2.0; older ones have none) whose caption or key holds `text` and whose QC figures lie in `ranges`
        ({figure: (least, most)}), sorted by QC figure `sort` (samples without it last)."""
        if per not in PAGE_SIZES:
            raise GenomniError(f"per: one of {', '.join(map(str, PAGE_SIZES))}, got {per}")
        for name in [sort, *(ranges or {})]:
            if name and name not in self.qc_fields:
                raise GenomniError(f"{name!r} is not a QC figure of this dataset ({', '.join(self.qc_fields) or 'none'})")
        needle = text.strip().lower()
        chosen = []
        for r in self.records:
            if (source and r["source"] != source) or (scenario and r.get("scenario") != scenario):
                continue
            if needle and needle not in r.get("caption", "").lower() and needle not in r["key"].lower():
                continue
            qc = r.get("qc", {})
            if any(
                not isinstance(qc.get(name), (int, float)) or (lo is not None and qc[name] < lo) or (hi is not None and qc[name] > hi)
                for name, (lo, hi) in (ranges or {}).items()
            ):
                continue
            chosen.append(r)
        if sort:
            has = [isinstance(r.get("qc", {}).get(sort), (int, float)) for r in chosen]
            present = [r for r, h in zip(chosen, has) if h]
            absent = [r for r, h in zip(chosen, has) if not h]
            chosen = sorted(present, key=lambda r: r["qc"][sort], reverse=descending) + absent
        pages = max(1, -(-len(chosen) // per))
        page = min(max(0, page), pages - 1)
        rows = chosen[page * per : (page + 1) * per]
        return {
            "total": len(chosen),
            "page": page,
            "pages": pages,
            "per": per,
            "samples": [
                {
                    k: r.get(k)
                    for k in ("key", "caption", "source", "scenario", "shard", "frames", "width", "height", "qc", "removed", "kept")
                }
                for r in rows
            ],
        }

    def _record(self, key: str) -> dict[str, Any]:
        if key not in self.by_key:
            raise GenomniError(f"{self.path}: no sample {key!r}")
        return self.records[self.by_key[key]]

    def sample(self, key: str) -> Any:
        """The decoded sample (checked against its manifest digests); a damaged one is a one-line error."""
        from ..datasets.index import ShardIndex

        self._record(key)
        with self._reading:
            if self._index is None:
                self._index = ShardIndex([self.path])
            return self._samples.get(key, lambda: self._index.read(self.by_key[key]))

    def details(self, key: str) -> dict[str, Any]:
        s = self.sample(key)
        interaction = "hidden" in s.extras and "quadmask" in s.extras  # the row adds pass C | quadmask (`sample_row`)
        return {
            "record": self._record(key),
            "meta": s.meta,
            "caption": s.caption,
            "frames": len(s.input),
            "fps": s.fps,
            "interaction": interaction,
        }

    def frame_png(self, key: str, k: int) -> bytes:
        """Frame k of the sample: input | trimask | target (`data inspect`'s row), enlarged to be readable."""
        from ..datasets.inspect import sample_row

        s = self.sample(key)
        if not 0 <= k < len(s.input):
            raise GenomniError(f"frame {k}: sample {key} has {len(s.input)} frames (0..{len(s.input) - 1})")
        return png(readable(sample_row(s, k)))

    def preview_gif(self, key: str) -> bytes:
        """The sample as an animated GIF (input | trimask | target, at most GIF_FRAMES frames), made once and kept
        in the cache folder."""
        self._record(key)
        path = self._cache / f"{key}.gif"
        if path.is_file():
            return path.read_bytes()
        from ..datasets.inspect import sample_row

        s = self.sample(key)
        # octree palettes without dithering: a quarter of the median-cut default's time, a fifth of its size
        frames = [
            Image.fromarray(readable(sample_row(s, k))).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            for k in range(min(GIF_FRAMES, len(s.input)))
        ]
        buf = io.BytesIO()
        frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / (s.fps or 24)), loop=0)
        data = buf.getvalue()
        from ..media import atomic_write_bytes

        atomic_write_bytes(path, data)
        return data


class DecompositionView:
    """A `genomni decompose` folder: the re-composition with chosen layers left out (`edit`'s own function), the
    background, each layer over a checkerboard and its alpha, frame by frame."""

    def __init__(self, path: str):
        from ..inference.edit import layer_order

        self.path = Path(path)
        self.order, self.report = layer_order(self.path)
        self._clips = Cache(6)

    def summary(self) -> dict[str, Any]:
        r = self.report
        return {
            "layers": self.order,
            "frames": r.get("frames"),
            "fps": r.get("fps"),
            "size": r.get("size"),
            "recomposition_psnr": r.get("recomposition_psnr"),
            "figures": r.get("layers", {}),
        }

    def _layer(self, name: str) -> np.ndarray:
        from ..layers import read_rgba8_folder

        if name not in self.order:
            raise GenomniError(f"no layer {name!r}; this decomposition has {', '.join(self.order)}")
        return self._clips.get(("layer", name), lambda: read_rgba8_folder(self.path / "layers" / name))

    def _composite(self, edits: Any) -> np.ndarray:
        from ..inference.edit import edited

        key = (
            "composite",
            tuple(sorted(edits.drop)),
            tuple(sorted(edits.retime.items())),
            tuple(sorted(edits.move.items())),
            edits.background,
        )
        return self._clips.get(key, lambda: edited(self.path, edits)[0])

    def frame_png(self, what: str, k: int, name: str = "", edits: Any = None) -> bytes:
        """Frame k of `what`: composite (with `edits`: layers dropped, retimed, moved; `edit`'s own function),
        background, layer `name` over a checkerboard, or its alpha."""
        from ..inference.edit import Edits
        from ..layers import checkerboard, composite_rgba8
        from ..media import read_video

        if what == "composite":
            clip = self._composite(edits or Edits())
        elif what == "background":
            clip = self._clips.get(("background",), lambda: read_video(self.path / "background")[0])
        elif what in ("layer", "alpha"):
            rgba = self._layer(name)
            if not 0 <= k < len(rgba):
                raise GenomniError(f"frame {k}: the decomposition has {len(rgba)} frames")
            if what == "alpha":
                return png(readable(rgba[k, ..., 3]))
            board = checkerboard(*rgba.shape[1:3])[None]
            return png(readable(composite_rgba8(board, [rgba[k : k + 1]])[0]))
        else:
            raise GenomniError(f"{what!r}: composite, background, layer or alpha")
        if not 0 <= k < len(clip):
            raise GenomniError(f"frame {k}: the decomposition has {len(clip)} frames")
        return png(readable(clip[k]))


class EvalView:
    """A `genomni eval` output: the per-scene table (every column), the summary per method and benchmark, and the
    worst frames it saved."""

    def __init__(self, path: str):
        self.path = Path(path)
        try:
            self.results = json.loads((self.path / "results.json").read_text())
            with open(self.path / "per_scene.csv", newline="", encoding="utf-8") as fh:
                self.rows = list(csv.DictReader(fh))
        except (OSError, ValueError) as exc:
            raise GenomniError(f"{self.path}: an unreadable eval output ({exc})") from exc

    def summary(self) -> dict[str, Any]:
        worst = sorted(p.name for p in (self.path / "worst").glob("*.png")) if (self.path / "worst").is_dir() else []
        columns = list(self.rows[0]) if self.rows else []
        return {"columns": columns, "rows": self.rows, "summary": self.results.get("summary", {}), "worst": worst}

    def scene(self, benchmark: str, scene: str) -> dict[str, Any]:
        """Every method on one scene: its per-frame PSNR and its worst frame's strip (input | prediction | truth),
        from the eval's own cache."""
        from ..eval.run import cache_path

        if not any(r.get("benchmark") == benchmark and r.get("scene") == scene for r in self.rows):
            raise GenomniError(f"no scene {benchmark}/{scene} in this eval")
        methods = {}
        for method in self.results.get("methods", {}):
            path = cache_path(self.path, method, benchmark, scene)
            if not path.is_file():
                continue
            try:
                record = json.loads(path.read_text())
                methods[method] = {
                    "psnr": record["frames"]["psnr"],
                    "worst_frame": record.get("worst_frame"),
                    "worst": Path(record.get("worst_strip", "")).name,
                }
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise GenomniError(f"{path}: an unreadable eval cache entry ({exc})") from None
        return {"benchmark": benchmark, "scene": scene, "methods": methods}

    def worst_png(self, name: str) -> bytes:
        if not NAME.fullmatch(name) or not (self.path / "worst" / name).is_file():
            raise GenomniError(f"no worst-frame image {name!r}")
        return (self.path / "worst" / name).read_bytes()


class RunView:
    """A `genomni train run` folder: the loss and validation curves from train_log.jsonl, validation videos by
    step."""

    def __init__(self, path: str):
        self.path = Path(path)

    def summary(self) -> dict[str, Any]:
        loss, validation, baselines = [], [], {}
        for line in (self.path / "train_log.jsonl").read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill: the run's own reader skips it too
            if not isinstance(event, dict):
                continue
            if event.get("event") == "validation":
                validation.append({k: v for k, v in event.items() if k != "event"})
            elif event.get("event") == "baselines":
                baselines = {k: v for k, v in event.items() if k not in ("event", "step")}
            elif isinstance(event.get("loss"), (int, float)):
                loss.append([event.get("step"), event["loss"]])
        videos: dict[str, list[str]] = {}
        folder = self.path / "validation"
        if folder.is_dir():
            for step in sorted(p for p in folder.iterdir() if p.is_dir()):
                videos[step.name] = sorted(f.name for f in step.iterdir() if f.suffix in (".mp4", ".png"))
        return {"loss": loss, "validation": validation, "baselines": baselines, "videos": videos}

    def video(self, step: str, name: str) -> bytes:
        path = self.path / "validation" / step / name
        if not (NAME.fullmatch(step) and NAME.fullmatch(name) and path.is_file()):
            raise GenomniError(f"no validation file {step}/{name}")
        return path.read_bytes()


class FootageView:
    """A footage folder: its frames with every object's mask overlaid (the masks verb's preview)."""

    def __init__(self, path: str):
        from ..footage_folders import open_footage

        self.path = path
        self.footage = open_footage(path)

    def summary(self) -> dict[str, Any]:
        f = self.footage
        return {
            "objects": f.names,
            "frames": len(f.video),
            "size": list(f.video.shape[1:3]),
            "caption": f.prompt,
            "scale": _factor(f.video.shape[1]),
        }

    def frame_png(self, k: int) -> bytes:
        from ..masks import overlay

        f = self.footage
        if not 0 <= k < len(f.video):
            raise GenomniError(f"frame {k}: the footage has {len(f.video)} frames")
        return png(readable(overlay(f.video[k], f.masks[:, k])))


class VideoView:
    """A video file: its frames, to click on (the masks of a clip start here)."""

    def __init__(self, path: str):
        from ..media import read_video

        self.path = path
        self.video, self.fps = read_video(path)

    def summary(self) -> dict[str, Any]:
        return {"frames": len(self.video), "size": list(self.video.shape[1:3]), "fps": self.fps, "scale": _factor(self.video.shape[1])}

    def frame_png(self, k: int) -> bytes:
        if not 0 <= k < len(self.video):
            raise GenomniError(f"frame {k}: the clip has {len(self.video)} frames")
        return png(readable(self.video[k]))


def _factor(height: int) -> int:
    """How many times `readable` enlarges an image `height` px tall."""
    return max(1, -(-PANEL_HEIGHT // height))


VIEWS: dict[str, Callable[[str], Any]] = {
    "dataset": DatasetView,
    "decomposition": DecompositionView,
    "eval": EvalView,
    "run": RunView,
    "footage": FootageView,
    "video": VideoView,
}
