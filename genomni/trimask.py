"""The trimask convention: per pixel 0 = remove, 128 = background (may change), 255 = keep.

Trimasks are uint8 (T,H,W) with values exactly in {0, 128, 255}; anything else is rejected, never
rounded silently. `quantize` is the one explicit converter for values that went through a lossy path.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import GenomniError

REMOVE = 0
BACKGROUND = 128
KEEP = 255
VALUES = (REMOVE, BACKGROUND, KEEP)


def validate(trimask: np.ndarray, name: str = "trimask") -> np.ndarray:
    """Return `trimask` unchanged if it is a valid (T,H,W) uint8 trimask, else raise one clear error."""
    if not isinstance(trimask, np.ndarray):
        raise GenomniError(f"{name}: expected a numpy array, got {type(trimask).__name__}")
    if trimask.dtype != np.uint8:
        raise GenomniError(f"{name}: dtype must be uint8, got {trimask.dtype}")
    if trimask.ndim != 3:
        raise GenomniError(f"{name}: shape must be (T,H,W), got {trimask.shape}")
    bad = ~np.isin(trimask, VALUES)
    if bad.any():
        values = np.unique(trimask[bad])
        shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise GenomniError(
            f"{name}: {int(bad.sum())} pixels hold values other than 0/128/255 (found {shown}); "
            "use genomni.trimask.quantize to snap them explicitly"
        )
    return trimask


def from_instances(instances: np.ndarray, remove: Iterable[int], keep: Iterable[int] = ()) -> np.ndarray:
    """Build a trimask from an instance-id map (T,H,W; 0 = no object).

    Pixels of ids in `remove` become 0, ids in `keep` become 255, everything else (background and
    objects in neither list) becomes 128. An id may not be both removed and kept.
    """
    remove, keep = set(int(i) for i in remove), set(int(i) for i in keep)
    if remove & keep:
        raise GenomniError(f"object ids {sorted(remove & keep)} are both removed and kept")
    if 0 in remove or 0 in keep:
        raise GenomniError("instance id 0 is the background and cannot be removed or kept")
    if instances.ndim != 3:
        raise GenomniError(f"instances must have shape (T,H,W), got {instances.shape}")
    tm = np.full(instances.shape, BACKGROUND, dtype=np.uint8)
    if remove:
        tm[np.isin(instances, list(remove))] = REMOVE
    if keep:
        tm[np.isin(instances, list(keep))] = KEEP
    return tm


def to_float(trimask: np.ndarray) -> np.ndarray:
    """Map a valid trimask to float32 {0, 0.5, 1} (value/255 rounded to the paper's levels)."""
    validate(trimask)
    out = np.empty(trimask.shape, dtype=np.float32)
    out[trimask == REMOVE] = 0.0
    out[trimask == BACKGROUND] = 0.5
    out[trimask == KEEP] = 1.0
    return out


def quantize(values: np.ndarray) -> np.ndarray:
    """Explicitly snap noisy uint8 mask values (e.g. after lossy video) to the nearest of 0/128/255."""
    v = np.asarray(values).astype(np.int16)
    levels = np.array(VALUES, dtype=np.int16)
    idx = np.abs(v[..., None] - levels).argmin(-1)
    return levels.astype(np.uint8)[idx]


def with_rims(trimask: np.ndarray, px: int = 1) -> np.ndarray:
    """The trimask with each object grown by `px` pixels (a 3x3 square per pixel) into the background (128):
    an instance map gives a pixel to an object only when the object covers most of it, so the antialiased
    rim just outside is part object, and it changes when the object is removed. Removed objects grow first,
    then kept ones into what is still background."""
    import cv2

    out = trimask.copy()
    kernel = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    for value in (REMOVE, KEEP):
        grown = np.stack([cv2.dilate((f == value).astype(np.uint8), kernel) > 0 for f in trimask])
        out[grown & (out == BACKGROUND)] = value
    return out
