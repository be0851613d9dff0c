"""Benchmark scenes: input video, object masks and the ground-truth clean background.

Layouts (one folder per scene under the benchmark root):
- `genomni` (what `genomni data export --benchmark` writes, and the plain layout for your own
  scenes): `input.mkv|input.mp4|input/`, `masks/` with one mask video or folder per object, and
  `background.mkv|background.mp4|background/` (or `target.*`) holding the clean background.
- `omnimatte`: the Omnimatte / OmnimatteRF scene folders: `rgb/` frames, `mask/<id>/` frames per
  object, and the ground-truth background frames in `--gt-name` (default `bg_gt`). The public
  OmnimatteRF release does not ship a ground-truth comparison, so name the folder you have.

A scene that cannot be scored is returned as a `Skipped` with the reason (never dropped silently).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GenomniError
from ..footage import Footage, find_media, read_footage
from ..media import read_video

LAYOUTS = ("auto", "genomni", "omnimatte")


@dataclass
class Scene:
    """One scored scene: the footage (video + masks) and the clean background to compare against."""

    name: str
    footage: Footage
    background: np.ndarray


@dataclass
class Skipped:
    name: str
    reason: str


def _layout(scene: Path) -> str:
    if (scene / "rgb").is_dir() and (scene / "mask").is_dir():
        return "omnimatte"
    return "genomni"


def load_scene(scene: Path, layout: str = "auto", gt_name: str = "bg_gt") -> Scene:
    """Read one scene folder; raise a GenomniError naming the scene and file on any problem."""
    layout = _layout(scene) if layout == "auto" else layout
    if layout == "omnimatte":
        video, masks_dir, gt = scene / "rgb", scene / "mask", find_media(scene, (gt_name,))
        if not video.is_dir():
            raise GenomniError(f"{scene.name}: no rgb/ folder")
    else:
        video, masks_dir, gt = find_media(scene, ("input", "rgb")), scene / "masks", find_media(scene, ("background", "target"))
        if video is None:
            raise GenomniError(f"{scene.name}: no input video (input.mkv, input.mp4 or input/)")
    if gt is None:
        expected = f"{gt_name}/" if layout == "omnimatte" else "background.* or target.*"
        raise GenomniError(f"{scene.name}: no ground-truth background ({expected})")
    if not masks_dir.is_dir():
        raise GenomniError(f"{scene.name}: no {masks_dir.name}/ folder of object masks")
    try:
        footage = read_footage(video, masks_dir=masks_dir)
        background, _ = read_video(gt)
    except GenomniError as exc:
        raise GenomniError(f"{scene.name}: {exc}") from exc
    if background.shape != footage.video.shape:
        raise GenomniError(f"{scene.name}: ground truth {gt.name} is {background.shape[0]} frames of "
                           f"{background.shape[2]}x{background.shape[1]}, the input {footage.video.shape[0]} of "
                           f"{footage.video.shape[2]}x{footage.video.shape[1]}")
    return Scene(scene.name, footage, background)


def load_benchmark(root: str | os.PathLike, layout: str = "auto", gt_name: str = "bg_gt",
                   strict: bool = False) -> list[Scene | Skipped]:
    """Every scene folder under `root`, sorted; unreadable ones become Skipped (or raise with `strict`)."""
    if layout not in LAYOUTS:
        raise GenomniError(f"--layout must be one of {', '.join(LAYOUTS)}")
    root = Path(root)
    if not root.is_dir():
        raise GenomniError(f"benchmark {root} does not exist")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise GenomniError(f"benchmark {root} has no scene folders")
    scenes: list[Scene | Skipped] = []
    for folder in folders:
        try:
            scenes.append(load_scene(folder, layout, gt_name))
        except GenomniError as exc:
            if strict:
                raise
            scenes.append(Skipped(folder.name, str(exc)))
    return scenes
