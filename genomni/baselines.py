"""The classical baselines genomni compares against and builds on: OpenCV Telea inpainting (the `cv2-inpaint`
eval method, the pixel backbone's pre-fill, validation's floor) and the static-camera clean plate (the tripod
generator's target and the `temporal-median` eval method). numpy and OpenCV only, so every stage may use them."""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from .constants import EFFECT_DILATE, EFFECT_LEVELS
from .footage import dilate
from .progress import say_step


def inpaint_telea(frames: np.ndarray, holes: np.ndarray, radius: int = 3) -> np.ndarray:
    """OpenCV Telea inpainting of (T,H,W) boolean holes, frame by frame: the cv2-inpaint baseline."""
    return np.stack(
        [cv2.inpaint(np.ascontiguousarray(f), h.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA) for f, h in zip(frames, holes)]
    )


PLATE_FAR_SHARE = 0.25  # the first estimate of a pixel's plate uses this share of its uncovered frames, the farthest
PLATE_ROUNDS = 2  # refinement rounds (more change nothing measurable: benchmarks/generate_footage.py)
SHADOW_RATIO = 0.95  # a darker group whose channels are all below this share of the brighter one's, ...
SHADOW_SPREAD = 0.2  # ... and within this of each other, is a shadow of it (a multiplicative darkening)
STRIP_BYTES = 64 * 2**20  # the plate is made in bands of rows whose float32 clip takes about this much memory
PLATE_HALO = 6  # rows: the reach of the difference's Gaussian blur (sigma 1.5), per round


def masked_median(video: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per pixel, the median over the frames in `use` (NaN where none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: pixels with no such frame
        return np.nanmedian(np.where(use[..., None], video, np.nan), axis=0)


def _far_first(video: np.ndarray, far: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Per pixel: the median over its usable frames with the largest distance to any object (PLATE_FAR_SHARE of
    them, at least one): the first estimate, before the effects are told apart."""
    t = len(video)
    keep = np.maximum(1, np.ceil(PLATE_FAR_SHARE * usable.sum(0))).astype(int)
    order = np.argsort(-np.where(usable, far, -np.inf), axis=0, kind="stable")  # farthest first, unusable last
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(t)[:, None, None], order.shape).copy(), axis=0)
    return masked_median(video, (rank < keep[None]) & usable)


def _plate_rows(v: np.ndarray, far: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """`clean_plate`'s rounds on a band of rows (T,h,W,3) float32: the first estimate, then PLATE_ROUNDS rounds
    of telling a pixel's effect frames from its floor frames (see `clean_plate`); NaN where no frame uncovers."""
    plate = _far_first(v, far, usable)
    for _ in range(PLATE_ROUNDS):
        raw = (v - np.nan_to_num(plate)[None]).mean(-1)
        smooth = np.stack([cv2.GaussianBlur(r, (0, 0), 1.5) for r in raw])
        differs = (np.abs(raw) > EFFECT_LEVELS) & (np.abs(smooth) > EFFECT_LEVELS / 2)
        agree, other = usable & ~differs, usable & differs
        a_val, o_val = masked_median(v, agree), masked_median(v, other)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            a_far = np.nanmean(np.where(agree, far, np.nan), axis=0)
            o_far = np.nanmean(np.where(other, far, np.nan), axis=0)
        o_brighter = o_val.mean(-1) > a_val.mean(-1)
        bright = np.where(o_brighter[..., None], o_val, a_val)
        dark = np.where(o_brighter[..., None], a_val, o_val)
        ratio = (dark + 1) / (bright + 1)
        shadow = (ratio.max(-1) < SHADOW_RATIO) & (ratio.max(-1) - ratio.min(-1) < SHADOW_SPREAD)
        both = agree.any(0) & other.any(0)
        take_other = np.where(both, np.where(shadow, o_brighter, o_far > a_far), other.any(0) & ~agree.any(0))
        plate = np.where(take_other[..., None], o_val, a_val)
    return plate


def clean_plate(video: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(plate (H,W,3) uint8, never-uncovered (H,W) bool): per pixel, the background with the objects' effects left out.

    1. First estimate: the median over the uncovered frames where the objects are farthest (`_far_first`).
    2. Per pixel, its uncovered frames split into those that agree with the estimate and those that differ
       (mean over channels more than EFFECT_LEVELS, and coherently: also in the Gaussian-smoothed difference,
       so render or sensor noise does not split). Where both groups exist, one is the effect: if the darker
       group is a multiplicative darkening of the brighter (every channel below SHADOW_RATIO of it, within
       SHADOW_SPREAD of each other) it is a shadow and the brighter group is the floor; otherwise (reflections,
       bounce light) the group seen while the objects were farther away is the floor. The plate is the median
       of the chosen group; PLATE_ROUNDS rounds.
    A slow object's shadow that covers a pixel in most frames is thereby left out whenever the floor was seen
    once; a pixel under an effect in every uncovered frame cannot be told from the floor and keeps it. Pixels
    no frame uncovers are filled by inpainting (OpenCV Telea) from the plate around them, never left black;
    they are returned as `never` (the trimask is 0 there in every frame).
    """
    far = np.stack([cv2.distanceTransform((~h).astype(np.uint8), cv2.DIST_L2, 3) for h in holes]).astype(np.float32)
    usable = ~holes
    frames, height, width = holes.shape
    plate = np.empty((height, width, 3), np.float32)
    step = max(1, int(STRIP_BYTES // max(1, frames * width * 3 * 4)))  # rows per strip: bounded memory on long clips
    halo = PLATE_HALO * PLATE_ROUNDS  # each round's blur reads this far: the kept rows come out as from the whole
    for r0 in range(0, height, step):
        r1 = min(height, r0 + step)
        a0, a1 = max(0, r0 - halo), min(height, r1 + halo)
        rows = _plate_rows(video[:, a0:a1].astype(np.float32), far[:, a0:a1], usable[:, a0:a1])
        plate[r0:r1] = rows[r0 - a0 : r0 - a0 + (r1 - r0)]
        say_step(f"clean plate: rows {r1}/{height}")
    never = ~usable.any(0)
    plate8: np.ndarray = np.clip(np.nan_to_num(plate), 0, 255).round().astype(np.uint8)
    if never.any():
        plate8 = cv2.inpaint(plate8, never.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return plate8, never


def telea_background(video: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The `cv2-inpaint` baseline: (T,H,W,3) with every object of (N,T,H,W) masks, grown by EFFECT_DILATE px,
    inpainted by Telea frame by frame."""
    return inpaint_telea(video, dilate(masks.any(0), EFFECT_DILATE))


def median_background(video: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The `temporal-median` baseline for a static camera: inside the grown object masks each pixel's clean plate
    (`clean_plate`), elsewhere the input; pixels no frame uncovers are inpainted by Telea."""
    holes = dilate(masks.any(0), EFFECT_DILATE)
    plate, never = clean_plate(video, holes)
    out = np.where(holes[..., None], plate[None], video)
    if never.any():
        out = inpaint_telea(out, never[None] & holes)
    return out
