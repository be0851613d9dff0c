"""Clean-up of object mask tracks, shared by every way `genomni masks` makes them (SAM 2, the motion method):
temporal smoothing, holes filled, specks dropped, masks grown or shrunk. Every option's default leaves the
masks as they are, so a clean-up is always asked for. numpy and OpenCV only."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .options import option


@dataclass(kw_only=True)
class CleanupOptions:
    """How `genomni masks` tidies each object's track after it is made; in the order applied."""

    smooth: int = option(
        0,
        "Temporal smoothing: a pixel is in the mask when it is in most of the 2N+1 frames around it (one-frame flicker goes; 0 = off).",
        bounds=(0, 50),
    )
    fill_holes: bool = option(False, "Fill holes inside each mask (background regions it encloses), frame by frame.")
    min_area: int = option(0, "Drop mask pieces smaller than this many pixels in a frame (specks; 0 = keep all).", bounds=(0, 2**31 - 1))
    grow: int = option(0, "Grow each mask by this many pixels (a disk); negative shrinks it.", bounds=(-256, 256))


def smooth_time(masks: np.ndarray, radius: int) -> np.ndarray:
    """(T,H,W) bool: the majority of the 2*radius+1 frames around each frame (fewer at the clip's ends)."""
    if radius <= 0:
        return masks
    counts = np.concatenate([np.zeros((1, *masks.shape[1:]), np.int32), np.cumsum(masks, axis=0, dtype=np.int32)])
    t = len(masks)
    lo = np.clip(np.arange(t) - radius, 0, t)
    hi = np.clip(np.arange(t) + radius + 1, 0, t)
    inside = counts[hi] - counts[lo]
    return 2 * inside > (hi - lo)[:, None, None]


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """(H,W) bool with every background region that does not reach the frame's border filled."""
    outside = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), (2,))  # the padding joins every border region to the corner
    return mask | (outside[1:-1, 1:-1] != 2)


def drop_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    """(H,W) bool without its 8-connected pieces under `min_area` pixels."""
    if min_area <= 1 or not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(H,W) bool grown by `pixels` (a disk), or shrunk by -`pixels`."""
    if pixels == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(pixels) + 1, 2 * abs(pixels) + 1))
    op = cv2.dilate if pixels > 0 else cv2.erode
    return op(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE) > 0


def clean_masks(masks: np.ndarray, opts: CleanupOptions) -> np.ndarray:
    """(N,T,H,W) bool tracks cleaned as `opts` says: smoothing over time, then per frame holes, specks, grow."""
    out = np.empty_like(masks)
    for i, track in enumerate(masks):
        track = smooth_time(track, opts.smooth)
        for k, m in enumerate(track):
            if opts.fill_holes:
                m = fill_holes(m)
            m = grow(drop_specks(m, opts.min_area), opts.grow)
            out[i, k] = m
    return out
