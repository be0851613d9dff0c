"""Moving samples between genomni shards and the layouts the field uses.

Formats (one folder per sample):
- `gen-omnimatte`: the public gen-omnimatte training tuples: `rgb_full.mp4` (input),
  `mask.mp4` (trimask in the same convention: 255 keep, 0 remove, 128 background) and
  `rgb_removed.mp4` (target), plus `caption.txt`. Its videos are H.264 (lossy), so on import the
  mask is snapped to {0,128,255} explicitly with `trimask.quantize` (the count of changed pixels
  goes into meta) and export writes the mask as a lossless FFV1 `.mkv` next to the mp4.
- `png`: lossless `input/`, `target/`, `trimask/` PNG folders, `caption.txt` and `meta.json`
  (exact round trips).

Import also reads the public reimplementation's other layouts:
- its PNG training tuples (omnimatte+tripod data): `input/`, `bg/` (target), `trimask/` PNG folders in the
  same trimask convention (its background value 127 is snapped to 128 and counted);
- its inference sequence folders (`input_video.mp4`, `mask_NN.mp4`, `prompt.json`): with a clean
  background (`bg/` or `bg.mp4`) each becomes a sample (every object removed: trimask 0 on the masks, 128
  elsewhere); without one they have no target, so they become genomni footage folders for `decompose`
  and `generate tripod` (`import_footage`);
- Kubric render folders (`rgba_*.png` + `segmentation_*.png`): footage folders too (one mask per instance);
- Netflix VOID's training folders (`rgb_full.mp4` beside `metadata.json`, quadmask `mask.mp4`: `void_format`).
Captions come from `caption.txt`, `prompt.json` (`{"bg": ...}`) or a captions file (the public
`<category>.json` list of `{"path", "short_prompt"}`, VOID's `[{"file_path", "text"}]`, or a `{folder: caption}` mapping).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import trimask as tm
from ..constants import DEFAULT_FPS, MASK_THRESHOLD
from ..errors import GenomniError
from ..footage_folders import KUBRIC, SEQUENCE, FootageFolder, read_caption_txt, read_folder_footage, read_prompt_json, scan_folder
from ..media import atomic_dir, read_video, write_video
from ..outdir import check_replaceable, locks
from ..sample import Sample
from ..shards import BadSample, read_card, shard_name, write_index, write_shard
from .export import chosen_samples
from .void_format import is_void_folder, read_void_folder, void_target

log = logging.getLogger(__name__)
FORMATS = ("gen-omnimatte", "png")
ENTRIES = {
    "png": frozenset({"input", "target", "trimask", "meta.json", "caption.txt"}),
    "gen-omnimatte": frozenset({"rgb_full.mp4", "rgb_removed.mp4", "mask.mp4", "mask.mkv", "caption.txt"}),
}


@locks("out")
def export_samples(
    source: str | os.PathLike,
    out: str | os.PathLike,
    fmt: str,
    skipped: list[BadSample] | None = None,
    keys: list[str] | None = None,
    limit: int | None = None,
    benchmark: bool = False,
) -> list[Path]:
    """Write the chosen samples of a shard dir (`export.chosen_samples`: all, `keys`, at most `limit`, remove-all
    only with `benchmark`) as folders in `fmt`; returns the folders. With a `skipped` list, damaged samples are
    recorded there and skipped instead of stopping the export."""
    if fmt not in FORMATS:
        raise GenomniError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    written = []
    for s in chosen_samples(source, keys, limit, benchmark, skipped):
        check_replaceable(out / s.key, ENTRIES[fmt])
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


def load_captions(path: str | os.PathLike) -> dict[str, str]:
    """A captions file: the public `[{"path": folder, "short_prompt": caption}, ...]` list or `{folder: caption}`."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GenomniError(f"--captions {path}: not a readable JSON file ({exc})") from exc
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return {str(k): v.strip() for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(d, dict) and "path" in d and "short_prompt" in d for d in data):
        return {Path(str(d["path"])).name: str(d["short_prompt"]).strip().strip('"') for d in data}
    if isinstance(data, list) and all(isinstance(d, dict) and "file_path" in d and "text" in d for d in data):  # VOID's
        return {Path(str(d["file_path"])).name: str(d["text"]).strip() for d in data}
    raise GenomniError(
        f'--captions {path}: expected [{{"path": ..., "short_prompt": ...}}, ...], VOID\'s [{{"file_path": ..., "text": ...}}, ...] '
        f'or {{"folder": "caption"}}'
    )


def root_captions(root: str | os.PathLike) -> dict[str, str] | None:
    """The captions a folder of samples carries itself: VOID's annotation list at its top (what `data export
    --format void` writes), else None."""
    path = Path(root) / "void_train_data.json"
    return load_captions(path) if path.is_file() else None


def _caption(folder: Path, captions: dict[str, str]) -> str:
    """caption.txt, else prompt.json's "bg", else the captions file's entry for the folder."""
    for text in (read_caption_txt(folder) or "", read_prompt_json(folder) or "", captions.get(folder.name, "")):
        if text:
            return text
    raise GenomniError(
        f"{folder}: no caption (caption.txt, prompt.json or an entry in --captions); every sample needs a caption of its target"
    )


def _snapped(raw: np.ndarray) -> tuple[np.ndarray, int]:
    tri = tm.quantize(raw)  # lossy or 127-valued masks: snap explicitly and count what changed
    return tri, int((tri != raw).sum())


def _sequence_sample(ff: FootageFolder, key: str, source: str, caption: str, threshold: int) -> Sample:
    """A sequence folder with a clean background: every object removed."""
    footage = read_folder_footage(ff, threshold)
    assert ff.clean is not None
    target, _ = read_video(ff.clean)
    if target.shape != footage.video.shape:
        raise GenomniError(
            f"{ff.clean}: {target.shape[0]} frames of {target.shape[2]}x{target.shape[1]}, the input has "
            f"{footage.video.shape[0]} of {footage.video.shape[2]}x{footage.video.shape[1]}"
        )
    tri = np.where(footage.masks.any(0), tm.REMOVE, tm.BACKGROUND).astype(np.uint8)
    meta = {
        "source": source,
        "format": "gen-omnimatte sequence",
        "fps": footage.fps or DEFAULT_FPS,
        "folder": ff.folder.name,
        "object_names": footage.names,
        "removed_ids": list(range(1, len(footage.names) + 1)),
        "kept_ids": [],
        "mask_threshold": threshold,
    }
    return Sample(key, footage.video, target, tri, caption, meta).validate()


def read_sample_folder(folder: Path, source: str, captions: dict[str, str] | None = None, threshold: int = MASK_THRESHOLD) -> Sample:
    """One sample from a `png`, `gen-omnimatte` tuple, public PNG tuple (input/ bg/ trimask/) or sequence folder
    with a clean background (detected by its files)."""
    captions = captions or {}
    key = "".join(c if c.isalnum() or c in "-_" else "_" for c in folder.name)
    ff = scan_folder(folder)
    if ff is not None and ff.layout == SEQUENCE:
        if ff.clean is None:
            raise GenomniError(
                f"{folder}: a sequence folder without a clean background (bg/ or bg.mp4) has no target; "
                f"import it on its own to get a footage folder"
            )
        return _sequence_sample(ff, key, source, _caption(folder, captions), threshold)
    if (folder / "trimask").is_dir():
        caption = _caption(folder, captions)
        target_dir = folder / "target" if (folder / "target").is_dir() else folder / "bg"
        if not target_dir.is_dir():
            raise GenomniError(f"{folder}: trimask/ but no target/ (genomni png) or bg/ (gen-omnimatte png) folder")
        inp, fps = read_video(folder / "input")
        target, _ = read_video(target_dir)
        raw, _ = read_video(folder / "trimask", gray=True)
        if target_dir.name == "target":
            meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").is_file() else {}
            meta.setdefault("source", source)
            return Sample(key, inp, target, tm.validate(raw, f"{folder}/trimask"), caption, meta).validate()
        tri, snapped = _snapped(raw)
        meta = {"source": source, "format": "gen-omnimatte png", "fps": DEFAULT_FPS, "mask_pixels_snapped": snapped, "folder": folder.name}
        return Sample(key, inp, target, tri, caption, meta).validate()
    if is_void_folder(folder):
        void_target(folder)  # a missing file is named before a missing caption
        return read_void_folder(folder, key, source, _caption(folder, captions))
    if (folder / "rgb_full.mp4").is_file():
        caption = _caption(folder, captions)
        inp, fps = read_video(folder / "rgb_full.mp4")
        target, _ = read_video(folder / "rgb_removed.mp4")
        if (folder / "mask.mkv").is_file():
            tri, _ = read_video(folder / "mask.mkv", gray=True)
            snapped = 0
        else:
            tri, snapped = _snapped(read_video(folder / "mask.mp4", gray=True)[0])
        meta = {
            "source": source,
            "format": "gen-omnimatte",
            "fps": fps or DEFAULT_FPS,
            "mask_pixels_snapped": snapped,
            "folder": folder.name,
        }
        return Sample(key, inp, target, tri, caption, meta).validate()
    raise GenomniError(
        f"{folder}: not a sample folder (input/ target|bg/ trimask/, rgb_full.mp4 + mask.mp4 + "
        f"rgb_removed.mp4, or input_video.mp4 + mask_NN.mp4 + bg/)"
    )


def sample_folders(root: str | os.PathLike) -> list[Path]:
    """The folders to import: `root` itself when it is one footage folder, else its subfolders."""
    root = Path(root)
    if scan_folder(root) is not None:
        return [root]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    if not folders:
        raise GenomniError(f"{root}: no sample folders inside")
    return folders


def targetless(folders: list[Path]) -> bool:
    """True when the folders are sequence folders without a clean background (footage, not samples); a mix of
    those and samples is refused."""
    scanned = [scan_folder(f) for f in folders]
    bare = [f for f, ff in zip(folders, scanned) if ff is not None and ff.clean is None and ff.layout in (SEQUENCE, KUBRIC)]
    if bare and len(bare) < len(folders):
        raise GenomniError(
            f"{bare[0].parent}: mixes sequence folders without a clean background ({bare[0].name}, ...) with "
            f"samples; import them separately"
        )
    return bool(bare)


@locks("out")
def import_footage(
    folders: list[Path], out: str | os.PathLike, threshold: int = MASK_THRESHOLD, on_folder: Callable[[Path], None] | None = None
) -> list[Path]:
    """Sequence and Kubric render folders (no target) -> genomni footage folders (`input.*` copied byte for byte, `masks/<name>/`
    PNG masks binarized once by the mask rule, `caption.txt` from prompt.json), one per folder, each written
    atomically; folders already at `out` are kept. `on_folder` hears each folder as it is done."""
    out = Path(out)
    written = []
    for folder in folders:
        ff = scan_folder(folder)
        assert ff is not None
        dest = out / folder.name
        if not dest.exists():
            footage = read_folder_footage(ff, threshold)
            with atomic_dir(dest) as tmp:
                if ff.video.is_file():  # the video as it was, byte for byte
                    shutil.copyfile(ff.video, tmp / f"input{ff.video.suffix.lower()}")
                else:
                    write_video(tmp / "input", footage.video)
                for name, m in zip(footage.names, footage.masks):
                    write_video(tmp / "masks" / name, m.astype(np.uint8) * 255)
                if footage.prompt:
                    (tmp / "caption.txt").write_text(footage.prompt + "\n")
        written.append(dest)
        if on_folder is not None:
            on_folder(folder)
    return written


def check_source_name(source: str) -> None:
    """An imported source names its shards (<source>-000000.tar) and is what --mix weighs: a plain name."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", source):
        raise GenomniError(f"--source {source!r}: a name of letters, digits, '_', '.' or '-' (it names the shards: <source>-000000.tar)")


@locks("out")
def import_samples(
    root: str | os.PathLike,
    out: str | os.PathLike,
    source: str = "omnimatte",
    samples_per_shard: int = 64,
    command: str = "",
    captions: dict[str, str] | None = None,
    threshold: int = MASK_THRESHOLD,
    on_folder: Callable[[Path], None] | None = None,
) -> dict:
    """Every sample folder under `root` into shards at `out` (atomic shards, manifest, card); `on_folder` hears each
    folder as it is read."""
    out = Path(out)
    check_source_name(source)
    folders = sample_folders(root)
    captions_json = json.dumps(captions or {}, sort_keys=True).encode("utf-8")
    identity = {
        "root": str(Path(root).resolve()),
        "source": source,
        "mask_threshold": threshold,
        "samples_per_shard": samples_per_shard,
        "captions_sha256": hashlib.sha256(captions_json).hexdigest()[:16],
    }
    if (out / "dataset.json").exists():
        card = read_card(out)
        if card.get("complete") and card.get("import") == identity:  # the same import, finished (killed while exiting)
            log.info("%s already holds this import, complete; nothing to do", out)
            return card
        raise GenomniError(f"{out} already holds a dataset; choose a new --out (nothing was changed)")
    records = []

    def read(f: Path) -> Any:
        sample = read_sample_folder(f, source, captions, threshold)
        if on_folder is not None:
            on_folder(f)
        return sample

    for j in range(0, len(folders), samples_per_shard):  # one shard's samples in memory at a time
        samples = [read(f) for f in folders[j : j + samples_per_shard]]
        records += write_shard(out / shard_name(source, j // samples_per_shard), samples)
    return write_index(
        out, records, {"source": source, "imported_from": str(root), "command": command, "import": identity, "complete": True}
    )
