"""Noise-free training pairs: the target equals the input everywhere the removed objects do not affect.

Input and target are separate Cycles renders, so at a few samples per pixel they differ by path-tracing
noise everywhere (1.4% of far background pixels by more than 6 levels at 16 spp). A model trained on that
learns to change the background at random. The rule here:

1. the *effect region* is where the target differs from the input *coherently*: the signed difference,
   Gaussian-smoothed (sigma EFFECT_SIGMA px) so that zero-mean noise averages out while a shadow or a
   reflection (many neighbouring pixels changed the same way) stays. Measured in deviations of what the
   local noise leaves after the same smoothing (estimated from the difference's high-pass residual, so a
   noisy, undenoised floor does not turn into "effects"), an effect is a connected area above 3.5
   deviations (and EFFECT_LEVELS / 4 levels) that somewhere reaches NOISE_SIGMAS[1] deviations (and
   EFFECT_LEVELS / 2 levels) at this smoothing or at twice it (a wide faint shadow stands out at the
   wider one), outside the objects (hysteresis thresholding, as Canny does for edges);
2. the *changed region* is the removed objects (grown by RIM_PX for their antialiased rims) plus the
   effect region, grown by GROW_PX so soft shadow edges are inside;
3. the target takes its rendered pixels inside the changed region and the input's pixels outside it.

So outside the changed region a pair is identical by construction, and the QC's effect figure is the
coherent effect, not noise. What a faint effect below the threshold loses stays in the target as it is
in the input (the model is then taught to keep it): measured against 16x more samples by
`benchmarks/generate_kubric.py`.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...constants import EFFECT_LEVELS

EFFECT_SIGMA = 2.0  # px: the smoothing that separates coherent effects from per-pixel noise
NOISE_SIGMAS = (3.5, 7.0)  # hysteresis: an effect is a connected area above the first, reaching the second
NOISE_WINDOW = 6.0  # px: the neighbourhood the local noise is estimated over
RIM_PX = 2  # px: antialiased rims of removed objects count as the object
GROW_PX = 4  # px: the changed region is grown by this much around the objects and their effects


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _deviations(diff: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(|smoothed difference| in deviations of the smoothed local noise, the smoothed difference) at `sigma`."""
    smooth = cv2.GaussianBlur(diff, (0, 0), sigma)
    residual = np.sqrt(cv2.GaussianBlur((diff - smooth) ** 2, (0, 0), NOISE_WINDOW))  # local noise std
    noise = residual / (np.sqrt(4.0 * np.pi) * sigma)  # what white noise of that std keeps after the Gaussian
    return np.abs(smooth) / np.maximum(noise, 1e-3), smooth


def effect_region(inp: np.ndarray, target: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """(T,H,W) bool: where target and input differ coherently outside `objects` (see the module docstring)."""
    diff = target.astype(np.float32) - inp.astype(np.float32)
    out = np.zeros(objects.shape, bool)
    for t in range(len(diff)):
        z, smooth = _deviations(diff[t], EFFECT_SIGMA)
        z_wide, smooth_wide = _deviations(diff[t], 2 * EFFECT_SIGMA)
        low = ((z > NOISE_SIGMAS[0]) & (np.abs(smooth) > EFFECT_LEVELS / 4)).any(-1) & ~objects[t]
        high = (((z > NOISE_SIGMAS[1]) & (np.abs(smooth) > EFFECT_LEVELS / 2))
                | ((z_wide > NOISE_SIGMAS[1]) & (np.abs(smooth_wide) > EFFECT_LEVELS / 2))).any(-1) & low
        n, labels = cv2.connectedComponents(low.astype(np.uint8), connectivity=8)
        seeded = np.zeros(n, bool)
        seeded[np.unique(labels[high])] = True
        seeded[0] = False
        out[t] = seeded[labels]
    return out


def changed_region(inp: np.ndarray, target: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """(T,H,W) bool: the removed objects (with their rims) and their effects, grown by GROW_PX."""
    rims = np.stack([cv2.dilate(m.astype(np.uint8), _disk(RIM_PX)) > 0 for m in removed])
    region = rims | effect_region(inp, target, rims)
    return np.stack([cv2.dilate(m.astype(np.uint8), _disk(GROW_PX)) > 0 for m in region])


def clean_target(inp: np.ndarray, target: np.ndarray, removed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(target with the input's pixels outside the changed region, the changed region)."""
    region = changed_region(inp, target, removed)
    return np.where(region[..., None], target, inp), region
