"""What `genomni studio` shows: the genomni outputs in the folders it is given or below them, each recognised by
the file its writer leaves (a shard directory's dataset.json and manifest.jsonl, a decomposition's
decomposition.json, an eval's results.json, a training run's train_log.jsonl, a footage folder's input and
masks), and the video files beside them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import GenomniError

KINDS = ("dataset", "decomposition", "eval", "run", "footage", "video")
MAX_DEPTH = 4  # folders below a given path that are searched


@dataclass(frozen=True)
class Item:
    """One thing the studio shows: its kind (one of KINDS), a stable id (its position), the folder or URL."""

    id: int
    kind: str
    path: str

    @property
    def title(self) -> str:
        return Path(self.path).name or self.path


def kind_of(folder: Path) -> str | None:
    """The kind of genomni output `folder` is, or None."""
    from ..footage_folders import scan_folder

    if (folder / "dataset.json").is_file() and (folder / "manifest.jsonl").is_file():
        return "dataset"
    if (folder / "decomposition.json").is_file():
        return "decomposition"
    if (folder / "results.json").is_file() and (folder / "per_scene.csv").is_file():
        return "eval"
    if (folder / "train_log.jsonl").is_file():
        return "run"
    try:
        return "footage" if scan_folder(folder) is not None else None
    except GenomniError:
        return None  # a folder that looks like footage but is incomplete: not shown


def discover(paths: list[str]) -> list[Item]:
    """Every genomni output at or below `paths` (MAX_DEPTH folders down; hidden folders and the inside of a found
    output are not searched), and the video files outside them (clips to make masks and layers for). A URL
    (s3://...) is taken as a shard directory, a video file given directly as a clip. One line for a path that
    does not exist or holds none of these."""
    from ..media import VIDEO_SUFFIXES

    found: list[tuple[str, str]] = []
    for given in paths:
        if "://" in given:
            found.append(("dataset", given))
            continue
        root = Path(given)
        if not root.exists():
            raise GenomniError(f"{given}: no such file or folder")
        if root.is_file():
            if root.suffix.lower() not in VIDEO_SUFFIXES:
                raise GenomniError(f"{given}: not a folder or a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
            found.append(("video", str(root)))
            continue
        before = len(found)
        found += _walk(root)
        if len(found) == before:
            raise GenomniError(
                f"{given}: no genomni output or video found (a dataset, decomposition, eval output, training run, footage "
                f"folder or video file, up to {MAX_DEPTH} folders down)"
            )
    unique = list(dict.fromkeys(found))
    return [Item(i, kind, path) for i, (kind, path) in enumerate(unique)]


def _walk(root: Path) -> list[tuple[str, str]]:
    """(kind, path) of the outputs and video files from `root` down, breadth first; a recognised output's
    inside is not searched."""
    from ..media import VIDEO_SUFFIXES

    out: list[tuple[str, str]] = []
    queue = [(root, 0)]
    while queue:
        folder, depth = queue.pop(0)
        kind = kind_of(folder)
        if kind is not None:
            out.append((kind, str(folder)))
            continue
        try:
            entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        except OSError:
            continue
        out += [("video", str(p)) for p in entries if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
        if depth < MAX_DEPTH:
            queue += [(p, depth + 1) for p in entries if p.is_dir() and not os.path.islink(p)]
    return out
