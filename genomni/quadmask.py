"""The quadmask convention of Netflix VOID (Video Object and Interaction Deletion): per pixel
0 = a removed object, nothing changed under it; 63 = a removed object and the scene changed under it;
127 = the scene changed here because the objects are gone (something moved differently, or its shadow or
reflection did); 255 = keep as it is.

VOID builds it from three passes of one scene (data_generation/kubric_variable_objects.py): A, everything with the
original physics; C, the removed objects hidden but still pushing things (same physics); B, the removed objects
absent and the physics simulated again. 0 is A's segmentation of the removed objects; 127 is where C and B differ;
63 both. VOID marks a difference of 15 levels in any channel; genomni marks only a *coherent* difference
(`effects.effect_region`), so render noise is not "changed". A removed object's own shadow is in neither C nor B
(both hide the object), so, as in VOID, it is not 127: the trimask's 128 says "may change" everywhere instead.

Quadmasks are uint8 (T,H,W) with values exactly in {0, 63, 127, 255}; anything else is rejected, never rounded:
VOID writes them losslessly (H.264 at qp 0), and its released masks hold exactly these four values.
"""

from __future__ import annotations

import numpy as np

from . import trimask as tm
from .effects import effect_region
from .errors import GenomniError
from .footage import dilate

REMOVE = 0
REMOVE_CHANGED = 63
CHANGED = 127
KEEP = 255
VALUES = (REMOVE, REMOVE_CHANGED, CHANGED, KEEP)
CHANGE_GROW_PX = 1  # px: a changed area is grown by this much so the antialiased edge of what moved is inside


def validate(quadmask: np.ndarray, name: str = "quadmask") -> np.ndarray:
    """Return `quadmask` unchanged if it is a valid (T,H,W) uint8 quadmask, else raise one clear error."""
    if not isinstance(quadmask, np.ndarray) or quadmask.dtype != np.uint8 or quadmask.ndim != 3:
        got = f"{getattr(quadmask, 'dtype', type(quadmask).__name__)} {getattr(quadmask, 'shape', '')}"
        raise GenomniError(f"{name}: must be a (T,H,W) uint8 array, got {got}")
    bad = ~np.isin(quadmask, VALUES)
    if bad.any():
        values = np.unique(quadmask[bad])
        shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise GenomniError(f"{name}: {int(bad.sum())} pixels hold values other than 0/63/127/255 (found {shown})")
    return quadmask


def compose(removed: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """The quadmask of a removed-object area and a changed area ((T,H,W) bool each)."""
    out = np.full(removed.shape, KEEP, np.uint8)
    out[changed] = CHANGED
    out[removed] = REMOVE
    out[removed & changed] = REMOVE_CHANGED
    return out


def changed_area(hidden: np.ndarray, resimulated: np.ndarray) -> np.ndarray:
    """(T,H,W) bool: where pass C (`hidden`: removed objects hidden, same physics) and pass B (`resimulated`)
    ((T,H,W,3) uint8) differ coherently (not by render noise), grown by CHANGE_GROW_PX. Identical passes (no
    interaction) give nothing."""
    if np.array_equal(hidden, resimulated):
        return np.zeros(hidden.shape[:3], bool)
    area = effect_region(hidden, resimulated, np.zeros(hidden.shape[:3], bool))
    return dilate(area, CHANGE_GROW_PX)


def from_passes(trimask: np.ndarray, hidden: np.ndarray, resimulated: np.ndarray) -> np.ndarray:
    """The quadmask of a sample: its removed objects (the trimask's 0, rims included) and where passes C and B
    differ (`changed_area`)."""
    return compose(tm.validate(trimask) == tm.REMOVE, changed_area(hidden, resimulated))


def from_trimask(trimask: np.ndarray) -> np.ndarray:
    """The quadmask that says what a trimask says and no more: removed objects 0, everything else 255 (no
    interaction: nothing is known to change because of the removal)."""
    return compose(tm.validate(trimask) == tm.REMOVE, np.zeros(trimask.shape, bool))


def to_trimask(quadmask: np.ndarray) -> np.ndarray:
    """The trimask a quadmask implies: removed objects (0 and 63) 0, everything else 128 (the trimask's "may
    change": a quadmask does not say which objects are kept)."""
    validate(quadmask)
    return np.where(quadmask <= REMOVE_CHANGED, tm.REMOVE, tm.BACKGROUND).astype(np.uint8)


def affected(quadmask: np.ndarray) -> np.ndarray:
    """(T,H,W) bool: where the scene changed because of the removal (63 and 127): eval's "affected" region."""
    return np.isin(validate(quadmask), (REMOVE_CHANGED, CHANGED))
