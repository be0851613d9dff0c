"""Noise-free training pairs: the target equals the input everywhere the removed objects do not affect, and where
they do, it differs from the input by their coherent effect only.

Input and target are separate Cycles renders, so they differ by path-tracing noise everywhere (how much:
benchmarks/kubric_pairs.py, benchmarks/render_fidelity.py). A model trained on that learns to change the
background at random. The rule here:

1. the *effect region* is where the target differs from the input *coherently* (`effects.effect_region`:
   the smoothed signed difference in deviations of the local noise, hysteresis-thresholded), so a shadow or
   a reflection counts and path-tracing noise does not;
2. the *changed region* is the removed objects (grown by RIM_PX for their antialiased rims) plus the
   effect region, grown by GROW_PX so soft shadow edges are inside;
3. outside the changed region the target takes the input's pixels;
4. inside it, on what the target must show anew (the removed objects grown by CORE_PX, and whatever else moved:
   `own`), the target keeps its rendered pixels; elsewhere it is the input plus the MEDIAN_PX x MEDIAN_PX median
   of the target-minus-input difference (the core's pixels left out of the median). A shadow's change is smooth or
   has edges a median keeps; the two renders' independent noise is isolated pixels a median drops. So the pair
   shares its noise and differs by the effect, at the cost of the target carrying the input's noise there instead
   of its own (both figures: benchmarks/render_fidelity.py).

So outside the changed region a pair is identical by construction, and the QC's effect figure is the
coherent effect, not noise. What a faint effect below the threshold loses stays in the target as it is
in the input (the model is then taught to keep it): measured against 16x more samples by
`benchmarks/generate_kubric.py`.
"""

from __future__ import annotations

import numpy as np

from ...effects import RIM_PX, effect_region
from ...footage import dilate

GROW_PX = 4  # px: the changed region is grown by this much around the objects and their effects
CORE_PX = 1  # px: the removed objects' own antialiased edge, which the target shows anew
MEDIAN_PX = 3  # px: the window of the difference's median (a 1-px line of effect is lost, a 2-px one kept)


def changed_region(inp: np.ndarray, target: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """(T,H,W) bool: the removed objects (with their rims) and their effects, grown by GROW_PX."""
    rims = dilate(removed, RIM_PX)
    region = rims | effect_region(inp, target, rims)
    return dilate(region, GROW_PX)


def masked_median(diff: np.ndarray, skip: np.ndarray, size: int = MEDIAN_PX) -> np.ndarray:
    """(H,W,C) float32: each pixel's median of `diff` (H,W,C) over its size x size window, pixels in `skip` (H,W
    bool) and outside the frame left out (0 where nothing is left). Written here because the median filters of
    OpenCV and SciPy take every pixel of the window."""
    r = size // 2
    h, w = skip.shape
    vals = np.where(skip[..., None], np.nan, diff.astype(np.float32))
    padded = np.pad(vals, ((r, r), (r, r), (0, 0)), constant_values=np.nan)
    stack = np.stack([padded[i : i + h, j : j + w] for i in range(size) for j in range(size)])
    stack.sort(axis=0)  # NaN sorts last: the first n entries are the window's counted values
    n = (~np.isnan(stack)).sum(0)
    lo = np.take_along_axis(stack, np.maximum((n - 1) // 2, 0)[None], 0)[0]
    hi = np.take_along_axis(stack, np.maximum(n // 2, 0)[None], 0)[0]
    return np.where(n > 0, (lo + hi) / 2, 0.0).astype(np.float32)


def clean_target(inp: np.ndarray, target: np.ndarray, removed: np.ndarray, own: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(target with the input's pixels outside the changed region and the input plus the difference's median inside
    it, off the removed objects and `own`; the changed region). `own` (T,H,W bool): pixels the target shows anew
    besides the removed objects (what moved in a re-simulated target), kept as rendered and part of the region."""
    region = changed_region(inp, target, removed)
    core = dilate(removed, CORE_PX)
    if own is not None:
        core |= dilate(own, CORE_PX)
        region |= core
    out = inp.copy()
    diff = target.astype(np.float32) - inp.astype(np.float32)
    for t in range(len(inp)):
        if not region[t].any():
            continue
        shared = np.clip(np.rint(inp[t] + masked_median(diff[t], core[t])), 0, 255).astype(np.uint8)
        out[t] = np.where(core[t][..., None], target[t], shared)
    return np.where(region[..., None], out, inp), region
