"""Object masks without weights for static-camera footage (`genomni masks --method motion`): what moves against
a background model is an object, what darkens the background without changing its colour is a shadow (an effect,
left to the removal model, so not in the mask), and the moving regions are split into objects by following their
connected pieces from frame to frame.

1. The camera must not move: measured on the background as `generate tripod` measures it
   (`camera_motion.camera_shift`); a clip whose frame corners move more than `max_shift` px is refused with the
   measured motion.
2. The background: every frame's exposure first matched to the clip's (`_one_exposure`: flicker, auto-exposure);
   per pixel, the median of the largest group of frames that agree (`_mode_plate`), then the clean plate of the
   tripod generator (`baselines.clean_plate`, from PLATE_FRAMES frames) with the regions that differ from it held
   out, PLATE_ROUNDS times, so passing objects and their shadows stay out of it.
3. Moving: a pixel whose Gaussian-smoothed difference (largest channel) from the plate exceeds the clip's noise
   (MOTION_SIGMAS robust deviations, from consecutive frames: `_noise`; at least MIN_LEVEL) and the background's
   own difference from the plate away from what surely moves (a lossy codec's error, which consecutive frames do
   not show). A shadow: every channel darker than the plate, by factors within SHADOW_SPREAD of each other and
   above SHADOW_FLOOR (the plate's shadow rule); shadows are taken out of the moving pixels, except in a grey
   clip, where colour cannot tell them from objects.
4. Cleaned per frame: an opening removes noise; the edge is drawn per pixel (smoothing spreads it), where the
   pixel differs from the plate by the per-pixel threshold and by half the object's inside contrast nearby
   (`_half_contrast`: the half-level border of an edge a codec or lens blurred); a closing; holes filled. Pieces
   linked to the pieces they overlap in the next frame (grown by LINK_GROW of the frame's long side, for fast
   objects), one track per linked group; tracks whose largest frame is under `min_object` of the frame are
   dropped, the rest named object1, object2, ... by their total area, largest first.

What it cannot do: an object that never moves is background; two objects that touch become one track; an object
that stays in one place for most of the clip leaves a ghost where it was; a dark grey object on a lighter grey
floor can read as a shadow. SAM 2 prompts (`--method sam2`) are the tool for those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .baselines import SHADOW_SPREAD, clean_plate, masked_median
from .camera_motion import camera_shift
from .constants import EFFECT_LEVELS
from .errors import GenomniError
from .footage import dilate
from .mask_cleanup import fill_holes
from .masks import MaskTracks
from .options import option

logger = logging.getLogger(__name__)

MOTION_SIGMAS = 5.0  # the moving threshold in robust deviations of the difference from the plate
BACKGROUND_QUANTILE = 99.5  # %: the background's difference from the plate the thresholds stay above, ...
BACKGROUND_FACTOR = 1.5  # ... by this factor
CLEAR_FACTOR = 4  # what differs from the plate by this many times the noise threshold surely moves, and ...
HOLE_MARGIN = 8  # px: ... the background is measured this far from it
MIN_LEVEL = float(EFFECT_LEVELS)  # levels: the least difference that is motion, whatever the measured noise
EDGE_REACH = 3.0  # px: the Gaussian over which an object's inside contrast is taken for its edge
SMOOTH = 1.5  # px: the Gaussian that finds moving regions and shadows (the edge is then drawn per pixel)
SHADOW_FLOOR = 0.2  # a pixel darker than this share of the plate in some channel is an object, not a shadow
LINK_GROW = 0.01  # pieces in consecutive frames are one object when they overlap grown by this share of the long side
ROW_BYTES = 64 * 2**20  # the first background is made in bands of rows of about this much memory
MODE_FRAMES = 16  # the first background looks at this many frames spread over the clip
PLATE_FRAMES = 48  # the clean plate is made from this many frames spread over the clip (a static view needs no more)
MIN_FRAMES = 3  # fewer frames cannot tell what moves from what is there
PLATE_ROUNDS = 2  # plate, moving regions against it, a clean plate without them, ...


@dataclass(kw_only=True)
class MotionOptions:
    """The motion method's rules (`genomni masks --method motion`)."""

    max_shift: float = option(
        1.0,
        "--method motion: refuse the clip when its camera moves more than this many pixels (measured on the "
        "background, as generate tripod does).",
        bounds=(0, 1e6),
    )
    min_object: float = option(
        0.002,
        "--method motion: drop moving regions whose largest frame covers less than this share of the frame.",
        bounds=(0, 1),
    )


def _mode_plate(video: np.ndarray, tolerance: float) -> np.ndarray:
    """(H,W,3) uint8 first background: per pixel, the median of the largest group of frames that agree with one
    another (each channel of the smoothed frames within `tolerance` of one frame), from at most MODE_FRAMES frames.
    Hand-written: the median is pulled off the floor where passing objects and shadows cover a pixel in half the
    frames, and OpenCV's MOG2 background image had not settled after three passes over a short clip."""
    t, h, w = video.shape[:3]
    picks = np.linspace(0, t - 1, min(MODE_FRAMES, t)).round().astype(int)
    smooth = np.stack([cv2.GaussianBlur(video[k], (0, 0), SMOOTH) for k in picks]).astype(np.float32)
    s = len(picks)
    rows = max(1, int(ROW_BYTES // max(1, s * s * w * 3 * 4)))
    plate = np.empty((h, w, 3), np.float32)
    for r in range(0, h, rows):
        band = smooth[:, r : r + rows]
        agree = np.abs(band[:, None] - band[None]).max(-1) <= tolerance  # (S,S,rows,W)
        best = agree.sum(1).argmax(0)  # the frame most others agree with
        group = np.take_along_axis(agree, best[None, None], axis=0)[0]  # (S,rows,W) the frames agreeing with it
        raw = video[picks, r : r + rows].astype(np.float32)
        plate[r : r + rows] = masked_median(raw, group)
    return plate.round().astype(np.uint8)


def _noise(video: np.ndarray, sigma: float) -> float:
    """The clip's noise in frames smoothed by `sigma`: robust deviation (1.4826 x median absolute value) of the
    difference between consecutive frames, over sqrt(2); measured on at most 16 frame pairs."""
    picks = np.linspace(0, len(video) - 2, min(16, len(video) - 1)).round().astype(int)
    values = np.concatenate([_difference(video[k + 1], video[k], sigma).ravel() for k in picks])
    return 1.4826 * float(np.median(values)) / np.sqrt(2)


def _difference(frame: np.ndarray, plate: np.ndarray, sigma: float = SMOOTH) -> np.ndarray:
    """(H,W) float32: the largest channel of |frame - plate|, Gaussian-smoothed by `sigma` px (noise averages out;
    0 = per pixel)."""
    d = frame.astype(np.float32) - plate.astype(np.float32)
    return np.abs(cv2.GaussianBlur(d, (0, 0), sigma) if sigma > 0 else d).max(-1)


def shadow_like(frame: np.ndarray, plate: np.ndarray) -> np.ndarray:
    """(H,W) bool: the frame is the plate darkened by one factor in every channel (a shadow, not an object)."""
    f = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), SMOOTH) + 1
    b = cv2.GaussianBlur(np.asarray(plate, np.float32), (0, 0), SMOOTH) + 1
    ratio = f / b
    hi, lo = ratio.max(-1), ratio.min(-1)
    return (hi < 1) & (lo > SHADOW_FLOOR) & (hi - lo < SHADOW_SPREAD)


def _half_contrast(difference: np.ndarray, core: np.ndarray) -> np.ndarray:
    """(H,W) float32: half the difference from the plate inside the nearby moving region (its pixels two away from
    its border, Gaussian-weighted): an edge pixel belongs to the object when it differs at least that much, the
    half-level border of a blurred edge (a video codec's, a lens's), as binary masks are read at half level."""
    inner = cv2.erode(core.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(np.float32)
    weight = cv2.GaussianBlur(inner, (0, 0), EDGE_REACH)
    total = cv2.GaussianBlur(difference * inner, (0, 0), EDGE_REACH)
    return np.where(weight > 1e-3, 0.5 * total / np.maximum(weight, 1e-3), 0.0).astype(np.float32)


def _tracks(moving: np.ndarray, link: int, least: float) -> tuple[list[np.ndarray], int]:
    """Split (T,H,W) bool into tracks: 8-connected pieces per frame, joined to the pieces of the next frame they
    overlap (grown by `link` px). Returns the tracks ((T,H,W) bool) whose largest frame covers at least `least`
    pixels, largest total first, and how many tracks there were in all."""
    labels: list[np.ndarray] = []
    offsets: list[int] = []
    areas: list[int] = []
    parent: list[int] = []
    for m in moving:
        count, lab, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
        offsets.append(len(parent) - 1)  # piece j (1..count-1) of this frame is node offset + j
        parent.extend(range(len(parent), len(parent) + count - 1))
        areas.extend(int(a) for a in stats[1:, cv2.CC_STAT_AREA])
        labels.append(lab)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * link + 1, 2 * link + 1))
    for k in range(len(moving) - 1):
        a, b = labels[k], labels[k + 1]
        if not a.any() or not b.any():
            continue
        grown = cv2.dilate(a.astype(np.uint16), kernel)  # a piece's label spreads into its surroundings
        pairs = np.unique(np.stack([grown[b > 0], b[b > 0]], 1), axis=0)
        for la, lb in pairs:
            if la > 0:
                parent[root(offsets[k] + int(la))] = root(offsets[k + 1] + int(lb))
    per_frame: dict[tuple[int, int], int] = {}  # (track, frame) -> pixels
    total: dict[int, int] = {}
    for k, lab in enumerate(labels):
        for j in range(1, int(lab.max()) + 1):
            r, area = root(offsets[k] + j), areas[offsets[k] + j]
            per_frame[(r, k)] = per_frame.get((r, k), 0) + area
            total[r] = total.get(r, 0) + area
    largest: dict[int, int] = {}
    for (r, _), area in per_frame.items():
        largest[r] = max(largest.get(r, 0), area)
    kept = sorted((r for r in total if largest[r] >= max(least, 1)), key=lambda r: -total[r])
    tracks = [np.zeros(moving.shape, bool) for _ in kept]
    for k, lab in enumerate(labels):
        for j in range(1, int(lab.max()) + 1):
            r = root(offsets[k] + j)
            if r in kept:
                tracks[kept.index(r)][k] |= lab == j
    return tracks, len(total)


def _gain(frame: np.ndarray, plate: np.ndarray) -> float:
    """The frame's exposure against the plate (flicker, auto-exposure): the median ratio of their grey levels."""
    f = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) + 1
    p = cv2.cvtColor(plate, cv2.COLOR_RGB2GRAY).astype(np.float32) + 1
    return float(np.median(f / p))


def _one_exposure(video: np.ndarray) -> np.ndarray:
    """The clip with every frame's exposure matched to the median of 16 frames spread over it (`_gain`): flicker
    and auto-exposure are not motion."""
    picks = np.linspace(0, len(video) - 1, min(16, len(video))).round().astype(int)
    reference = np.median(video[picks], axis=0).astype(np.uint8)
    out = np.empty_like(video)
    for k, frame in enumerate(video):
        out[k] = np.clip(frame.astype(np.float32) / _gain(frame, reference), 0, 255).round().astype(np.uint8)
    return out


def motion_steps(frames: int) -> int:
    """How many times `motion_masks` reports a step done on a clip of `frames` frames (a progress bar's total)."""
    return 2 + PLATE_ROUNDS + frames


def motion_masks(video: np.ndarray, opts: MotionOptions, on_step: Callable[[], None] | None = None) -> MaskTracks:
    """The masks of the objects that move in a static-camera `video` (T,H,W,3) uint8; see the module's
    docstring. One line naming the measured motion when the camera moves. `on_step` is called after the camera
    check, the first background, each plate round and each frame (`motion_steps`)."""
    step = on_step or (lambda: None)
    t, h, w = video.shape[:3]
    if t < MIN_FRAMES:
        raise GenomniError(f"--method motion needs at least {MIN_FRAMES} frames to see what moves; the clip has {t}")
    shift = camera_shift(video)
    if shift == float("inf"):
        raise GenomniError(
            "--method motion: the camera's motion cannot be measured (a background without texture); "
            "give SAM 2 prompts instead (--model with --point/--box)"
        )
    if shift > opts.max_shift:
        raise GenomniError(
            f"--method motion needs a static camera: this one moves {shift:.2f} px > --max-shift {opts.max_shift:g}; "
            "give SAM 2 prompts instead (--model with --point/--box)"
        )
    logger.info("camera moves %.2f px over the clip: static", shift)
    step()
    video = _one_exposure(video)
    level = max(MIN_LEVEL, MOTION_SIGMAS * _noise(video, SMOOTH))
    edge = max(MIN_LEVEL, MOTION_SIGMAS * _noise(video, 0))
    plate = _mode_plate(video, level)
    step()
    picks = np.linspace(0, t - 1, min(PLATE_FRAMES, t)).round().astype(int)
    for _ in range(PLATE_ROUNDS):
        holes = np.stack([_difference(video[k], plate) > level for k in picks])
        plate, _ = clean_plate(video[picks], dilate(holes, 2))
        step()
    # a lossy codec's error against the plate is not seen between consecutive frames (it copies still blocks): the
    # thresholds also stay above the background's own difference from the plate, measured away from what surely moves
    away = ~dilate(np.stack([_difference(video[k], plate) > CLEAR_FACTOR * level for k in picks]), HOLE_MARGIN)
    if away.any():
        smooth = np.concatenate([_difference(video[k], plate)[a] for k, a in zip(picks, away)])
        raw = np.concatenate([_difference(video[k], plate, 0)[a] for k, a in zip(picks, away)])
        level = max(level, BACKGROUND_FACTOR * float(np.percentile(smooth, BACKGROUND_QUANTILE)))
        edge = max(edge, BACKGROUND_FACTOR * float(np.percentile(raw, BACKGROUND_QUANTILE)))
    colour = np.abs(video[picks].astype(np.int16) - video[picks].mean(-1, keepdims=True)).max() > 2
    if not colour:
        logger.info("a grey clip: shadows cannot be told from objects by colour, so they stay in the masks")
    logger.info("moving: difference from the plate above %.1f levels smoothed, %.1f per pixel", level, edge)
    opening = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    moving = np.empty((t, h, w), bool)
    for k, f in enumerate(video):
        core = _difference(f, plate) > level
        if colour:
            core &= ~shadow_like(f, plate)
        core = cv2.morphologyEx(core.astype(np.uint8), cv2.MORPH_OPEN, opening) > 0
        m = core & (_difference(f, plate, 0) > np.maximum(edge, _half_contrast(_difference(f, plate, 0), core)))
        moving[k] = fill_holes(cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, opening) > 0)
        step()
    kept, found = _tracks(moving, max(1, round(LINK_GROW * max(h, w))), opts.min_object * h * w)
    logger.info("%d moving region(s), %d kept (largest frame >= %.0f px)", found, len(kept), opts.min_object * h * w)
    masks = np.stack(kept) if kept else np.zeros((0, t, h, w), bool)
    return MaskTracks([f"object{i + 1}" for i in range(len(kept))], masks)
