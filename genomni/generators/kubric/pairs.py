"""Noise-free training pairs: the target equals the input everywhere the removed objects do not affect.

Input and target are separate Cycles renders, so at a few samples per pixel they differ by path-tracing
noise everywhere (how much: benchmarks/kubric_pairs.py). A model trained on that
learns to change the background at random. The rule here:

1. the *effect region* is where the target differs from the input *coherently* (`effects.effect_region`:
   the smoothed signed difference in deviations of the local noise, hysteresis-thresholded), so a shadow or
   a reflection counts and path-tracing noise does not;
2. the *changed region* is the removed objects (grown by RIM_PX for their antialiased rims) plus the
   effect region, grown by GROW_PX so soft shadow edges are inside;
3. the target takes its rendered pixels inside the changed region and the input's pixels outside it.

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


def changed_region(inp: np.ndarray, target: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """(T,H,W) bool: the removed objects (with their rims) and their effects, grown by GROW_PX."""
    rims = dilate(removed, RIM_PX)
    region = rims | effect_region(inp, target, rims)
    return dilate(region, GROW_PX)


def clean_target(inp: np.ndarray, target: np.ndarray, removed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(target with the input's pixels outside the changed region, the changed region)."""
    region = changed_region(inp, target, removed)
    return np.where(region[..., None], target, inp), region
