"""Moving samples between genomni shards and the layouts the field uses.

Formats (one folder per sample):
- `gen-omnimatte`: the public gen-omnimatte training tuples: `rgb_full.mp4` (input),
  `mask.mp4` (trimask in the same convention: 255 keep, 0 remove, 128 background) and
  `rgb_removed.mp4` (target), plus `caption.txt`. Its videos are H.264 (lossy), so on import the
  mask is snapped to {0,128,255} explicitly with `trimask.quantize` (the count of changed pixels
  goes into meta) and export writes the mask as a lossless FFV1 `.mkv` next to the mp4.
- `png`: lossless `input/`, `target/`, `trimask/` PNG folders, `caption.txt` and `meta.json`
  (exact round trips).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .. import trimask as tm
from ..constants import DEFAULT_FPS
from ..errors import GenomniError
from ..media import atomic_dir, read_video, write_video
from ..sample import Sample
from ..shards import BadSample, iter_samples, shard_name, write_index, write_shard

FORMATS = ("gen-omnimatte", "png")


def export_samples(source: str | os.PathLike, out: str | os.PathLike, fmt: str,
                   skipped: list[BadSample] | None = None) -> list[Path]:
    """Write every sample of a shard dir as a folder in `fmt`; returns the folders. With a `skipped` list,
    damaged samples are recorded there and skipped instead of stopping the export."""
    if fmt not in FORMATS:
        raise GenomniError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    written = []
    for s in iter_samples(source, skipped):
        with atomic_dir(out / s.key) as tmp:
            if fmt == "png":
                write_video(tmp / "input", s.input)
                write_video(tmp / "target", s.target)
                write_video(tmp / "trimask", s.trimask)
                (tmp / "meta.json").write_text(json.dumps(s.meta, indent=1, sort_keys=True))
            else:
                even = s.input.shape[1] % 2 == 0 and s.input.shape[2] % 2 == 0
                if not even:
                    raise GenomniError(f"{s.key}: H.264 needs even sides, the sample is {s.input.shape[2]}x{s.input.shape[1]}")
                write_video(tmp / "rgb_full.mp4", s.input, s.fps)
                write_video(tmp / "rgb_removed.mp4", s.target, s.fps)
                write_video(tmp / "mask.mp4", np.repeat(s.trimask[..., None], 3, -1), s.fps)
                write_video(tmp / "mask.mkv", s.trimask, s.fps)  # the exact trimask
            (tmp / "caption.txt").write_text(s.caption + "\n")
        written.append(out / s.key)
    return written


def read_sample_folder(folder: Path, source: str) -> Sample:
    """One sample from a `png` or `gen-omnimatte` folder (detected by its files)."""
    caption = (folder / "caption.txt").read_text().strip() if (folder / "caption.txt").is_file() else ""
    if not caption:
        raise GenomniError(f"{folder}: no caption.txt (every sample needs a caption of its target)")
    key = "".join(c if c.isalnum() or c in "-_" else "_" for c in folder.name)
    if (folder / "trimask").is_dir():
        inp, fps = read_video(folder / "input")
        target, _ = read_video(folder / "target")
        tri, _ = read_video(folder / "trimask", gray=True)
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").is_file() else {}
        meta.setdefault("source", source)
        return Sample(key, inp, target, tm.validate(tri, f"{folder}/trimask"), caption, meta).validate()
    if (folder / "rgb_full.mp4").is_file():
        inp, fps = read_video(folder / "rgb_full.mp4")
        target, _ = read_video(folder / "rgb_removed.mp4")
        if (folder / "mask.mkv").is_file():
            tri, _ = read_video(folder / "mask.mkv", gray=True)
            snapped = 0
        else:
            raw, _ = read_video(folder / "mask.mp4", gray=True)
            tri = tm.quantize(raw)  # lossy mp4: snap explicitly and count what changed
            snapped = int((tri != raw).sum())
        meta = {"source": source, "format": "gen-omnimatte", "fps": fps or DEFAULT_FPS, "mask_pixels_snapped": snapped,
                "folder": folder.name}
        return Sample(key, inp, target, tri, caption, meta).validate()
    raise GenomniError(f"{folder}: neither a png sample (input/ target/ trimask/) nor a gen-omnimatte tuple (rgb_full.mp4 ...)")


def import_samples(root: str | os.PathLike, out: str | os.PathLike, source: str = "omnimatte",
                   samples_per_shard: int = 64, command: str = "") -> dict:
    """Every sample folder under `root` into shards at `out` (atomic shards, manifest, card)."""
    root, out = Path(root), Path(out)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    if not folders:
        raise GenomniError(f"{root}: no sample folders inside")
    if (out / "dataset.json").exists():
        raise GenomniError(f"{out} already holds a dataset; choose a new --out (nothing was changed)")
    samples = [read_sample_folder(f, source) for f in folders]
    records = []
    for j in range(0, len(samples), samples_per_shard):
        records += write_shard(out / shard_name(source, j // samples_per_shard), samples[j:j + samples_per_shard])
    return write_index(out, records, {"source": source, "imported_from": str(root), "command": command, "complete": True})
