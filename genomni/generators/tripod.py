"""`genomni generate tripod`: training samples from static-camera footage in which objects move.

The camera must not move: the global shift between the first frame and every other frame is
measured by phase correlation and a clip above `max_shift` pixels is dropped with the measured
shift as its reason. The clean plate is each pixel's temporal median over the frames where no
(dilated) object mask covers it, or a separately shot clean clip (`clean`). Pixels that no frame
uncovers are counted; a clip with more than `max_uncovered` of them is dropped (the target would be
invented there). Samples: input = footage windows, target = the clean plate, trimask 0 on the
objects and 128 elsewhere, so the real shadows and reflections outside the masks are in the input
and not in the target.

Footage folders use the layout `genomni data export` writes: `input.*` (video or frame folder),
`masks/` (one mask video or folder per object), and `caption.txt` (describing the clean scene).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import __version__
from .. import trimask as tm
from ..constants import DEFAULT_FPS, EFFECT_LEVELS
from ..errors import GenomniError
from ..footage import dilate, find_media, read_footage
from ..media import read_video
from ..options import check_choice, option, require
from ..sample import Sample
from .captions import Blip2Captioner
from .run import RunOptions, RunSummary, SceneResult, run_generator, skipping_bad

SOURCE = "tripod"


@dataclass
class TripodConfig:
    """Inputs and rules of a tripod run; everything here defines the output."""

    inputs: list[str] = option([], "Footage folders: input.* + masks/ (one entry per object) + caption.txt.", positional=True)
    frames: int = option(0, "Frames per sample (0 = the whole clip).")
    stride: int = option(0, "Frames between sample starts (0 = --frames, no overlap).")
    dilate: int = option(2, "Grow object masks by this many pixels before building the plate and trimask.")
    max_shift: float = option(1.0, "Drop clips whose camera moves more than this many pixels (phase correlation outside the object masks).")
    max_uncovered: float = option(0.0, "Drop clips where more than this fraction of pixels is never uncovered.")
    clean: str | None = option(None, "A separately shot clean clip of the same view (one footage folder only).")
    caption: str | None = option(None, "Caption for every sample (else BLIP-2, else each folder's caption.txt).")
    captioner: str = option("file", "file (--caption or caption.txt) or blip2 (captions the clean plate).")
    captioner_model: str | None = option(None, "Local BLIP-2 dir (save_pretrained layout) for --captioner blip2.")

    def __post_init__(self) -> None:
        require([
            (bool(self.inputs), "give one or more footage folders (input.* + masks/ + caption.txt)"),
            (self.frames >= 0 and self.stride >= 0 and self.dilate >= 0, "--frames, --stride and --dilate must be >= 0"),
            (self.max_shift >= 0 and 0 <= self.max_uncovered <= 1, "--max-shift must be >= 0 and --max-uncovered in [0, 1]"),
            (not self.clean or len(self.inputs) == 1, "--clean goes with exactly one footage folder"),
        ])
        check_choice("--captioner", self.captioner, ("file", "blip2"))


def camera_shift(video: np.ndarray, holes: np.ndarray | None = None) -> float:
    """Largest global translation (pixels) between frame 0 and any frame, by phase correlation.

    Object areas (`holes`, of either frame) are set to one constant in both frames first, so moving
    objects do not pull the estimate; what moves outside them (shadows) is small against the scene.
    """
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in video]
    fill = float(gray[0].mean())
    window = cv2.createHanningWindow(gray[0].shape[::-1], cv2.CV_32F)
    worst = 0.0
    for k in range(1, len(gray)):
        a, b = gray[0].copy(), gray[k].copy()
        if holes is not None:
            both = holes[0] | holes[k]
            a[both] = b[both] = fill
        (dx, dy), _ = cv2.phaseCorrelate(a, b, window)
        worst = max(worst, float(np.hypot(dx, dy)))
    return worst


def clean_plate(video: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(plate (H,W,3) uint8, never-uncovered (H,W) bool): per-pixel median over uncovered frames."""
    masked = np.where(holes[..., None], np.nan, video.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are the never-uncovered pixels
        plate = np.nanmedian(masked, axis=0)
    never = np.isnan(plate[..., 0])
    return np.nan_to_num(plate).round().astype(np.uint8), never


def _caption(folder: Path, cfg: TripodConfig, target: np.ndarray) -> str:
    if cfg.caption:
        return cfg.caption
    if cfg.captioner == "blip2":
        return _captioner(cfg.captioner_model or "").caption(target, {})
    f = folder / "caption.txt"
    if f.is_file() and f.read_text().strip():
        return f.read_text().strip()
    raise GenomniError(f"{folder}: no caption.txt, --caption or --captioner-model")


_CAPTIONERS: dict[str, Blip2Captioner] = {}


def _captioner(model_dir: str) -> Blip2Captioner:
    """One BLIP-2 per process, loaded on first use."""
    if model_dir not in _CAPTIONERS:
        _CAPTIONERS[model_dir] = Blip2Captioner(model_dir)
    return _CAPTIONERS[model_dir]


def tripod_job(cfg: TripodConfig, index: int) -> SceneResult:
    """Footage folder `index` -> samples, or a dropped result with the measured reason."""
    folder = Path(cfg.inputs[index])
    video_path = find_media(folder, ("input",))
    if video_path is None:
        raise GenomniError(f"{folder}: no input video (input.mkv, input.mp4 or input/)")
    footage = read_footage(video_path, masks_dir=folder / "masks")
    holes = dilate(footage.masks.any(0), cfg.dilate)
    shift = camera_shift(footage.video, holes)
    stats: dict[str, Any] = {"camera_shift_px": round(shift, 3)}
    if shift > cfg.max_shift:
        return SceneResult(index, [], 1, f"camera moves: {shift:.2f} px > --max-shift {cfg.max_shift}", stats)
    if cfg.clean:
        clean, _ = read_video(cfg.clean)
        if clean.shape[1:] != footage.video.shape[1:]:
            raise GenomniError(f"--clean {cfg.clean}: frames are {clean.shape[2]}x{clean.shape[1]}, "
                               f"the footage {footage.video.shape[2]}x{footage.video.shape[1]}")
        plate, never = np.median(clean, axis=0).round().astype(np.uint8), np.zeros(holes.shape[1:], bool)
    else:
        plate, never = clean_plate(footage.video, holes)
    stats["never_uncovered_frac"] = float(never.mean())
    if never.mean() > cfg.max_uncovered:
        return SceneResult(index, [], 1, f"{int(never.sum())} pixels are never uncovered "
                                         f"({never.mean():.4f} > --max-uncovered {cfg.max_uncovered})", stats)
    t = footage.video.shape[0]
    n = cfg.frames or t
    if n > t:
        return SceneResult(index, [], 1, f"clip has {t} frames, --frames asks for {n}", stats)
    step = cfg.stride or n
    caption = _caption(folder, cfg, np.repeat(plate[None], 3, axis=0))
    samples = []
    for k, start in enumerate(range(0, t - n + 1, step)):
        inp = footage.video[start:start + n]
        tri = np.where(holes[start:start + n], tm.REMOVE, tm.BACKGROUND).astype(np.uint8)
        target = np.repeat(plate[None], n, axis=0)
        effect = (np.abs(inp.astype(np.int16) - target).max(-1) > EFFECT_LEVELS) & (tri == tm.BACKGROUND)
        meta = {"source": SOURCE, "generator": f"genomni.tripod {__version__}", "footage": folder.name,
                "scene_index": index, "clip_start": start, "fps": footage.fps or DEFAULT_FPS, "frames": n,
                "object_names": footage.names, "removed_ids": list(range(1, len(footage.names) + 1)), "kept_ids": [],
                "clean_plate": "clip" if cfg.clean else "temporal median",
                "qc": {"camera_shift_px": stats["camera_shift_px"], "never_uncovered_frac": stats["never_uncovered_frac"],
                       "effect_frac": float(effect.mean())}}
        samples.append(Sample(f"tripod-s{index:07d}-c{k:03d}", inp, target, tri, caption, meta).validate())
    return SceneResult(index, samples, 1, None, stats)


def run_tripod(cfg: TripodConfig, opts: RunOptions, skip_bad: bool = False) -> RunSummary:
    """Generate tripod samples from each footage folder into `opts.out_dir` (resumable); with `skip_bad`, a
    folder with bad input is dropped with its reason instead of stopping the run."""
    if cfg.captioner == "blip2":
        _captioner(cfg.captioner_model or "")  # a missing model dir fails here, before any work
    identity = {"config": asdict(cfg)}
    job = partial(skipping_bad, partial(tripod_job, cfg)) if skip_bad else partial(tripod_job, cfg)
    return run_generator(SOURCE, identity, len(cfg.inputs), job, opts,
                         {"source": SOURCE, "config": asdict(cfg)})
