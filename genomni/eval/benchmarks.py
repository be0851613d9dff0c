"""Benchmark scenes: input video, object masks and the ground-truth clean background.

Layouts (one folder per scene under the benchmark root):
- `genomni` (what `genomni data export --benchmark` writes, and the plain layout for your own
  scenes): `input.mkv|input.mp4|input/`, `masks/` with one mask video or folder per object, and
  `background.mkv|background.mp4|background/` (or `target.*`) holding the clean background, and optionally
  `quadmask.mkv` (VOID's quadmask: its 63/127 pixels are scored as the "affected" region); or a
  gen-omnimatte sequence folder (`input_video.mp4`, `mask_NN.mp4`, `prompt.json`) with its clean
  background as `bg/` or `bg.mp4`.
- `omnimatte`: the Omnimatte scene folders: `rgb/` frames, `mask/<id>/` frames per object, and the
  ground-truth background frames in `--gt-name` (default `bg_gt`).
- `void`: Netflix VOID's training folders (`rgb_full.mp4`, `rgb_removed.mp4` or `rgb_altered_physics.mp4`,
  quadmask `mask.mp4`, `metadata.json`; `data export --format void` writes them): the quadmask's 0/63 is one
  object mask and its 63/127 the affected region.
- `omnimatterf`: OmnimatteRF's released data layout: `rgb_1x/` frames, `masks/mask/<NN>/` frames per
  object, and the ground-truth background in `--gt-name`. The public OmnimatteRF release does not ship a
  ground-truth comparison, so name the folder you have.

With a scoring size (`--resize`), input, masks and ground truth are resized before any method runs:
frames by area averaging (cv2.INTER_AREA), masks so that a scoring pixel is the object when any source
pixel it covers is (the mask area-averaged, then > 0); predictions given at the scene's original size are
resized like the ground truth.

A scene that cannot be scored is returned as a `Skipped` with the reason (never dropped silently).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import quadmask as qm
from ..constants import MASK_THRESHOLD
from ..datasets.void_format import is_void_folder, read_void_folder
from ..errors import GenomniError
from ..footage import Footage, find_media, read_footage
from ..footage_folders import SEQUENCE, read_folder_footage, read_quadmask, scan_folder
from ..media import read_video, resize_video

LAYOUTS = ("auto", "genomni", "omnimatte", "omnimatterf", "void")
SIZE_PRESETS = {"movie": (270, 480), "kubric": (256, 256)}  # (height, width) of the published tables' scoring


@dataclass
class Scene:
    """One scored scene: the footage (video + masks) and the clean background to compare against."""

    name: str
    footage: Footage
    background: np.ndarray
    original_size: tuple[int, int] | None = None  # (height, width) before --resize; None when not resized
    affected: np.ndarray | None = None  # (T,H,W) bool: a quadmask's 63/127 pixels (`quadmask.affected`), when given


@dataclass
class Skipped:
    name: str
    reason: str


def _layout(scene: Path) -> str:
    if (scene / "rgb_1x").is_dir() and (scene / "masks" / "mask").is_dir():
        return "omnimatterf"
    if (scene / "rgb").is_dir() and (scene / "mask").is_dir():
        return "omnimatte"
    if is_void_folder(scene):
        return "void"
    return "genomni"


def _void_scene(scene: Path, size: tuple[int, int] | None) -> Scene:
    """A VOID folder as a scene: rgb_full.mp4 the input, its target the ground truth, the quadmask's 0/63 one
    object mask (VOID's folders do not separate objects) and its 63/127 the affected region."""
    try:
        sample = read_void_folder(scene, scene.name, "void", "")
    except GenomniError as exc:
        raise GenomniError(f"{scene.name}: {exc}") from exc
    quad = sample.extras["quadmask"]
    footage = Footage(sample.input, (quad <= qm.REMOVE_CHANGED)[None], ["removed"], sample.fps, quadmask=quad)
    return _scene(scene, footage, sample.target, scene / "mask.mp4", size, qm.affected(quad))


def scoring_size(text: str | None) -> tuple[int, int] | None:
    """--resize WIDTHxHEIGHT or a preset name (movie, kubric) -> (height, width); None: the scene's own size."""
    if not text:
        return None
    if text in SIZE_PRESETS:
        return SIZE_PRESETS[text]
    from ..media import parse_resolution

    try:
        return parse_resolution(text)
    except GenomniError as exc:
        raise GenomniError(f"--resize must be WIDTHxHEIGHT, movie or kubric, got {text!r}") from exc


def resized(scene: Scene, size: tuple[int, int]) -> Scene:
    """The scene at the scoring size (see the module docstring for the rule)."""
    h, w = size
    if scene.background.shape[1:3] == (h, w):
        return scene
    f = scene.footage
    masks = np.stack([resize_video(m.astype(np.uint8) * 255, (h, w)) > 0 for m in f.masks])
    footage = Footage(resize_video(f.video, (h, w)), masks, f.names, f.fps, prompt=f.prompt)
    affected = None if scene.affected is None else resize_video(scene.affected.astype(np.uint8) * 255, (h, w)) > 0
    if affected is not None:  # a quadmask model reads it from the footage: what the objects' removal changes
        footage = replace(footage, quadmask=qm.compose(masks.any(0), affected))
    return Scene(scene.name, footage, resize_video(scene.background, (h, w)), scene.background.shape[1:3], affected)


def load_scene(
    scene: Path, layout: str = "auto", gt_name: str = "bg_gt", size: tuple[int, int] | None = None, threshold: int = MASK_THRESHOLD
) -> Scene:
    """Read one scene folder (at the scoring `size` when given); raise a GenomniError naming the scene and file
    on any problem."""
    layout = _layout(scene) if layout == "auto" else layout
    if layout == "void":
        return _void_scene(scene, size)
    sequence = scan_folder(scene) if layout == "genomni" else None
    if sequence is not None and sequence.layout == SEQUENCE:
        if sequence.clean is None:
            raise GenomniError(f"{scene.name}: no ground-truth background (bg/ or bg.mp4 beside input_video.mp4)")
        try:
            footage, background = read_folder_footage(sequence, threshold), read_video(sequence.clean)[0]
        except GenomniError as exc:
            raise GenomniError(f"{scene.name}: {exc}") from exc
        return _scene(scene, footage, background, sequence.clean, size)
    if layout == "omnimatterf":
        video, masks_dir, gt = scene / "rgb_1x", scene / "masks" / "mask", find_media(scene, (gt_name,))
        if not video.is_dir():
            raise GenomniError(f"{scene.name}: no rgb_1x/ folder")
    elif layout == "omnimatte":
        video, masks_dir, gt = scene / "rgb", scene / "mask", find_media(scene, (gt_name,))
        if not video.is_dir():
            raise GenomniError(f"{scene.name}: no rgb/ folder")
    else:
        video, masks_dir, gt = find_media(scene, ("input", "rgb")), scene / "masks", find_media(scene, ("background", "target"))
        if video is None:
            raise GenomniError(f"{scene.name}: no input video (input.mkv, input.mp4 or input/)")
    if gt is None:
        expected = f"{gt_name}/" if layout.startswith("omnimatte") else "background.* or target.*"
        raise GenomniError(f"{scene.name}: no ground-truth background ({expected})")
    if not masks_dir.is_dir():
        raise GenomniError(f"{scene.name}: no {masks_dir.relative_to(scene)}/ folder of object masks")
    quad = find_media(scene, ("quadmask",)) if layout == "genomni" else None
    try:
        footage = read_footage(video, masks_dir=masks_dir, threshold=threshold)
        background, _ = read_video(gt)
        affected = None if quad is None else qm.affected(read_quadmask(quad, footage.video, "the input"))
    except GenomniError as exc:
        raise GenomniError(f"{scene.name}: {exc}") from exc
    if affected is not None:
        footage = replace(footage, quadmask=qm.compose(footage.masks.any(0), affected))
    return _scene(scene, footage, background, gt, size, affected)


def _scene(
    scene: Path, footage: Footage, background: np.ndarray, gt: Path, size: tuple[int, int] | None, affected: np.ndarray | None = None
) -> Scene:
    """The scene after checking the ground truth matches the input, at the scoring size when given."""
    if background.shape != footage.video.shape:
        raise GenomniError(
            f"{scene.name}: ground truth {gt.name} is {background.shape[0]} frames of "
            f"{background.shape[2]}x{background.shape[1]}, the input {footage.video.shape[0]} of "
            f"{footage.video.shape[2]}x{footage.video.shape[1]}"
        )
    loaded = Scene(scene.name, footage, background, affected=affected)
    return resized(loaded, size) if size is not None else loaded


def load_benchmark(
    root: str | os.PathLike,
    layout: str = "auto",
    gt_name: str = "bg_gt",
    strict: bool = False,
    size: tuple[int, int] | None = None,
    threshold: int = MASK_THRESHOLD,
) -> list[Scene | Skipped]:
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
            scenes.append(load_scene(folder, layout, gt_name, size, threshold))
        except GenomniError as exc:
            if strict:
                raise
            scenes.append(Skipped(folder.name, str(exc)))
    return scenes
