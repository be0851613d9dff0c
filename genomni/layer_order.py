"""Which object is in front, from the masks alone.

Object masks of real footage (DAVIS, SAM) are the *visible* parts, so where two objects overlap in the image the one
behind is cut by the one in front. Two cues, checked on the public examples (kite-walk: the pole in front of the
person; davis_camel: the near camel in front of the far one):
- *shrinking*: while the two masks touch, the object behind loses visible area (the far camel shows 15% of its usual
  area, the near one 86%); the one in front keeps its usual area. Decisive when the difference is large.
- *gaps*: the object behind has gaps where the front one passes (the person's mask is cut by the pole); closing its
  outline over gaps narrower than a fraction of the smaller object fills them with the front object's pixels, far
  more than the reverse. Used when the areas say nothing (a thin occluder barely changes an area).
Pairs that never touch keep the given order, and so do pairs neither cue decides and contradictions. The layers are
sorted back to front, keeping the given order wherever the masks say nothing. (boys-beach: the boy in the yellow hat
passes in front of the other, who keeps 53% of his usual area while they touch against 87%.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import GenomniError
from .footage import extent

log = logging.getLogger(__name__)

WORK_SIDE = 160  # px: masks are compared at this long side (closing large outlines at full size costs seconds)
CLOSE_FRACTION = 0.15  # gaps narrower than this fraction of an object's size are closed over
MIN_SHARE = 0.01  # of the smaller object's visible pixels: less evidence than this says nothing
DOMINANCE = 2.0  # A is in front of B by the gaps when its evidence is at least this many times B's
SHRINK = 0.3  # A is in front of B by shrinking when B keeps this much less of its usual area than A while they touch


@dataclass
class LayerOrder:
    """Layers bottom to top, how the order was decided (`occlusion`, `given`, `names`), and the evidence per pair
    that meets: "A over B" -> {"gap_pixels": A's pixels inside B's closed outline (at the working size),
    "kept_area": A's usual area it keeps while they touch}."""

    order: list[str]
    source: str
    evidence: dict[str, dict[str, float]] = field(default_factory=dict)


def _small(masks: np.ndarray) -> np.ndarray:
    n, t, h, w = masks.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale == 1.0:
        return masks
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    flat = masks.reshape(n * t, h, w).astype(np.uint8) * 255
    return np.stack([cv2.resize(m, size, interpolation=cv2.INTER_AREA) > 127 for m in flat]).reshape(n, t, size[1], size[0])


def inside_closed(front: np.ndarray, back: np.ndarray) -> int:
    """Pixels of `front` (T,H,W bool) inside `back`'s outline closed over gaps narrower than CLOSE_FRACTION of the
    smaller of the two objects, frame by frame (one gap width for both directions of a pair, so a large object's
    wide concavities do not count as the gaps a small one leaves)."""
    total = 0
    for f, b in zip(front, back):
        size = min(extent(f), extent(b))
        if size == 0:
            continue
        k = max(3, int(CLOSE_FRACTION * size) | 1)
        closed = cv2.morphologyEx(b.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)) > 0
        total += int((closed & f & ~b).sum())
    return total


def kept_area(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    """(a's, b's) median visible area over the frames where they touch (a grown 2 px meets b), each relative to
    its own usual area (90th percentile over the clip); None when they never touch."""
    grow = np.ones((5, 5), np.uint8)
    touch = np.array([((cv2.dilate(x.astype(np.uint8), grow) > 0) & y).any() for x, y in zip(a, b)])
    if not touch.any():
        return None
    out = []
    for m in (a, b):
        area = m.reshape(len(m), -1).sum(1).astype(np.float64)
        out.append(float(np.median(area[touch]) / max(np.percentile(area, 90), 1.0)))
    return out[0], out[1]


def occlusion_order(masks: np.ndarray, names: list[str]) -> LayerOrder:
    """Order (N,T,H,W) bool masks back to front from where they meet (see the module docstring); pairs that never
    touch, pairs neither cue decides and contradictions (A over B over C over A) keep the given order."""
    small = _small(masks)
    n = len(names)
    area = small.reshape(n, -1).sum(1)
    above: dict[int, set[int]] = {i: set() for i in range(n)}  # i -> objects that must be drawn before i
    evidence: dict[str, dict[str, float]] = {}
    for a in range(n):
        for b in range(a + 1, n):
            kept = kept_area(small[a], small[b])
            if kept is None:
                continue  # they never touch: nothing to decide
            (ka, kb), (ab, ba) = kept, (inside_closed(small[a], small[b]), inside_closed(small[b], small[a]))
            evidence[f"{names[a]} over {names[b]}"] = {"gap_pixels": ab, "kept_area": round(ka, 3)}
            evidence[f"{names[b]} over {names[a]}"] = {"gap_pixels": ba, "kept_area": round(kb, 3)}
            least = max(MIN_SHARE * min(area[a], area[b]), 1)
            if ka - kb >= SHRINK or (abs(ka - kb) < SHRINK and ab >= max(least, DOMINANCE * ba)):
                above[a].add(b)
            elif kb - ka >= SHRINK or (abs(ka - kb) < SHRINK and ba >= max(least, DOMINANCE * ab)):
                above[b].add(a)
    order: list[int] = []
    left = list(range(n))
    while left:  # the first object in the given order whose back objects are all placed
        ready = [i for i in left if above[i] <= set(order)]
        if not ready:
            log.warning(
                "layer order: the masks contradict each other (%s); keeping the given order for %s",
                evidence,
                ", ".join(names[i] for i in left),
            )
            order += left
            break
        order.append(ready[0])
        left.remove(ready[0])
    decided = any(above.values())
    return LayerOrder([names[i] for i in order], "occlusion" if decided else "given", evidence)


def layer_order(masks: np.ndarray, names: list[str], how: str) -> LayerOrder:
    """`how`: auto (`occlusion_order`), given (the objects' order), or names bottom to top, comma-separated, each
    object once."""
    if how == "given":
        return LayerOrder(list(names), "given")
    if how == "auto":
        return occlusion_order(masks, names)
    listed = [s.strip() for s in how.split(",")]
    if sorted(listed) != sorted(names):
        raise GenomniError(f"--layer-order {how!r}: name every object once, bottom to top; the objects are {', '.join(names)}")
    return LayerOrder(listed, "names")
