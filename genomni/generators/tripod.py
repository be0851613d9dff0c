"""`genomni generate tripod`: training samples from static-camera footage in which objects move.

The camera must not move: the background's motion (tracked corners and RANSAC, ECC for flat scenes,
between consecutive frames with the objects and their surroundings masked out, chained over the clip; see
`camera_shift`) is measured, and a clip whose frame corners move more than `max_shift` pixels is dropped
with the measured motion as its reason. The clean plate is, per pixel, the median over the uncovered
frames where the objects are farthest from it (see `clean_plate`), or a separately shot clean clip
(`clean`). Pixels that no frame uncovers are counted; a clip with more
than `max_uncovered` of them is dropped (the target would be invented there). Samples: input = footage
windows, target = the clean plate, trimask 0 on the objects and 128 elsewhere, so the real shadows and
reflections outside the masks are in the input and not in the target.

Footage folders: the layout `genomni data export` writes (`input.*` video or frame folder, `masks/` with one
mask video or folder per object, `caption.txt` describing the clean scene) or a gen-omnimatte sequence folder
(`input_video.mp4`, `mask_NN.mp4`, `prompt.json`); see `genomni.footage_folders`.
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
from ..footage import MaskOptions, dilate
from ..footage_folders import read_folder_footage, scan_folder
from ..media import read_video
from ..options import option, require
from ..sample import Sample
from .captions import CaptionOptions
from .run import RunOptions, RunSummary, SceneResult, run_generator, skipping_bad

SOURCE = "tripod"


@dataclass(kw_only=True)
class TripodConfig(MaskOptions, CaptionOptions):
    """Inputs and rules of a tripod run; everything here defines the output."""

    inputs: list[str] = option([], "Footage folders: input.* + masks/ (one entry per object) + caption.txt, or "
                                   "gen-omnimatte sequence folders (input_video.mp4 + mask_NN.mp4 + prompt.json) or Kubric render "
                                   "folders (rgba_*.png + segmentation_*.png).", positional=True)
    frames: int = option(0, "Frames per sample (0 = the whole clip).")
    stride: int = option(0, "Frames between sample starts (0 = --frames, no overlap).")
    dilate: int = option(2, "Grow object masks by this many pixels before building the plate and trimask.")
    max_shift: float = option(1.0, "Drop clips whose camera moves more than this many pixels over the clip "
                                   "(ECC on the background, objects and their surroundings masked out).")
    max_uncovered: float = option(0.0, "Drop clips where more than this fraction of pixels is never uncovered.")
    clean: str | None = option(None, "A separately shot clean clip of the same view (one footage folder only).")

    def __post_init__(self) -> None:
        MaskOptions.__post_init__(self)
        CaptionOptions.__post_init__(self)
        require([
            (bool(self.inputs), "give one or more footage folders (input.* + masks/ + caption.txt, or input_video.mp4 "
                                "+ mask_NN.mp4 + prompt.json)"),
            (self.frames >= 0 and self.stride >= 0 and self.dilate >= 0, "--frames, --stride and --dilate must be >= 0"),
            (self.max_shift >= 0 and 0 <= self.max_uncovered <= 1, "--max-shift must be >= 0 and --max-uncovered in [0, 1]"),
            (not self.clean or len(self.inputs) == 1, "--clean goes with exactly one footage folder"),
        ])


MOTION_SIDE = 256  # px: frames are measured at most this large (ECC cost grows with pixels; sub-pixel accuracy stays)
EXCLUDE_FRAC = 0.05  # the objects' masks grow by this share of the frame's long side before measuring (their shadows)


def _frame_motion(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """2x3 similarity warp taking frame `a`'s background to frame `b`'s: corners tracked by pyramidal Lucas-Kanade
    and fitted with RANSAC (a moving shadow or reflection is an outlier, not the camera); ECC on the masked
    background where too few corners are found (flat scenes). None when neither converges."""
    a8, b8 = a.astype(np.uint8), b.astype(np.uint8)
    points = cv2.goodFeaturesToTrack(a8, 400, 0.01, 4, mask=mask)
    if points is not None and len(points) >= 12:
        moved, ok, _ = cv2.calcOpticalFlowPyrLK(a8, b8, points, None, winSize=(15, 15))
        ok = ok.ravel() == 1
        if ok.sum() >= 12:
            warp, inliers = cv2.estimateAffinePartial2D(points[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=0.5)
            if warp is not None and inliers is not None and inliers.sum() >= 8:
                return warp.astype(np.float64)
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(a, b, warp, cv2.MOTION_EUCLIDEAN,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5), mask, 5)
    except cv2.error:
        return None
    return warp.astype(np.float64)


def camera_shift(video: np.ndarray, holes: np.ndarray | None = None) -> float:
    """How far the camera moves over the clip, in pixels: the largest displacement of a frame corner under the
    accumulated background motion from the first frame.

    Motion between consecutive frames is estimated on the background only (`_frame_motion`: tracked corners
    and a RANSAC similarity fit, ECC for flat scenes): the object masks (`holes`), grown by EXCLUDE_FRAC of
    the frame so their shadows near them are out too, are left out (not filled with a constant, which pinned
    the earlier phase-correlation estimate near zero). The frame-to-frame warps are chained, so a slow pan adds
    up. A clip whose motion cannot be estimated returns infinity.
    """
    t, h, w = video.shape[:3]
    scale = min(1.0, MOTION_SIDE / max(h, w))
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    gray = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32)
            for f in video]
    grow = max(1, round(EXCLUDE_FRAC * max(size)))
    if holes is not None:
        small = np.stack([cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) for m in holes]) > 0
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        excluded = np.stack([cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in small])
    else:
        excluded = np.zeros((t, size[1], size[0]), bool)
    corners = np.array([[0, 0, 1], [size[0] - 1, 0, 1], [0, size[1] - 1, 1], [size[0] - 1, size[1] - 1, 1]], np.float64).T
    total, worst = np.eye(3), 0.0
    for k in range(1, t):
        mask = (~(excluded[k - 1] | excluded[k])).astype(np.uint8)
        if mask.sum() < 0.1 * mask.size:
            return float("inf")  # too little background to see the camera
        warp = _frame_motion(gray[k - 1], gray[k], mask)
        if warp is None:
            return float("inf")
        total = total @ np.vstack([warp, [0, 0, 1]])
        moved = (total @ corners)[:2] - corners[:2]
        worst = max(worst, float(np.hypot(*moved).max()) / scale)
    return worst


PLATE_FAR_SHARE = 0.25  # a pixel's plate comes from this share of its uncovered frames, those where the objects are farthest


def _far_median(video: np.ndarray, holes: np.ndarray, far: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Per pixel: the median over its `usable` frames with the largest `far` (PLATE_FAR_SHARE of them, >= 1)."""
    t = len(video)
    score = np.where(usable, far, -np.inf)
    keep = np.maximum(1, np.ceil(PLATE_FAR_SHARE * usable.sum(0))).astype(int)
    order = np.argsort(-score, axis=0, kind="stable")  # farthest first, unusable frames last
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(t)[:, None, None], order.shape).copy(), axis=0)
    masked = np.where(((rank < keep[None]) & usable)[..., None], video.astype(np.float32), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: pixels with no usable frame
        return np.nanmedian(masked, axis=0)


def clean_plate(video: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(plate (H,W,3) uint8, never-uncovered (H,W) bool).

    Each pixel's plate is the median over the frames where no (dilated) object covers it *and* the objects are
    farthest from it (the PLATE_FAR_SHARE of those frames with the largest distance to any object pixel, at
    least one): shadows and reflections lie near the object that casts them, so when a slow object's shadow
    covers a pixel in most frames, the frames in which the object was far away still show the floor. A pixel
    that a shadow covers in every uncovered frame keeps it (see the README).
    """
    t = len(video)
    far = np.stack([cv2.distanceTransform((~h).astype(np.uint8), cv2.DIST_L2, 3) for h in holes]).astype(np.float32)
    uncovered = ~holes
    keep = np.maximum(1, np.ceil(PLATE_FAR_SHARE * uncovered.sum(0))).astype(int)  # frames used per pixel
    order = np.argsort(-np.where(uncovered, far, -np.inf), axis=0, kind="stable")  # farthest first, covered last
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(t)[:, None, None], order.shape).copy(), axis=0)
    masked = np.where(((rank < keep[None]) & uncovered)[..., None], video.astype(np.float32), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are the never-uncovered pixels
        plate = np.nanmedian(masked, axis=0)
    never = ~uncovered.any(0)
    return np.nan_to_num(plate).round().astype(np.uint8), never


def tripod_job(cfg: TripodConfig, index: int) -> SceneResult:
    """Footage folder `index` -> samples, or a dropped result with the measured reason."""
    folder = Path(cfg.inputs[index])
    found = scan_folder(folder)
    if found is None:
        raise GenomniError(f"{folder}: not a footage folder (input.* + masks/, or input_video.mp4 + mask_NN.mp4)")
    footage = read_folder_footage(found, cfg.mask_threshold)
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
    caption = cfg.captions([np.repeat(plate[None], 3, axis=0)], footage.prompt, str(folder))[0]
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
    cfg.check_captioner()
    identity = {"config": asdict(cfg)}
    job = partial(skipping_bad, partial(tripod_job, cfg)) if skip_bad else partial(tripod_job, cfg)
    return run_generator(SOURCE, identity, len(cfg.inputs), job, opts,
                         {"source": SOURCE, "config": asdict(cfg)})
