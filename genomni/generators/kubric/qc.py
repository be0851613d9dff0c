"""Quality figures for rendered samples, computed from pixels and instance maps.

- visible pixels per object (min over frames): objects out of view or tiny fail the scene;
- effect area: pixels outside every object mask where target differs from input by more than a
  threshold (shadows, reflections removed);
- identical fraction: pixels outside object masks that are bit-identical between input and target;
- drift: pixels outside the dilated object-plus-effect region that differ by more than 2 levels
  (render noise from bounce light; large values mean the target is not a clean edit of the input);
- residual object pixels: pixels of removed objects still present in the target's instance map.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

DRIFT_LEVELS = 2


def visible_pixels(instances: np.ndarray, ids: list[int]) -> list[int]:
    """Minimum over frames of each object's visible pixel count."""
    flat = instances.reshape(instances.shape[0], -1)
    return [int((flat == i).sum(1).min()) for i in ids]


def sample_qc(inp: np.ndarray, target: np.ndarray, instances: np.ndarray, target_instances: np.ndarray,
              removed: list[int], effect_threshold: int, dilate: int = 3) -> dict[str, Any]:
    """QC figures of one (input, target) pair; see the module docstring."""
    diff = np.abs(inp.astype(np.int16) - target.astype(np.int16)).max(-1)
    objects = instances > 0
    outside = ~objects
    effect = (diff > effect_threshold) & outside
    kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
    region = np.stack([cv2.dilate((objects[t] | effect[t]).astype(np.uint8), kernel) for t in range(len(diff))]) > 0
    far = ~region
    n_out, n_far = max(1, int(outside.sum())), max(1, int(far.sum()))
    residual = int(np.isin(target_instances, removed).sum()) if removed else 0
    return {
        "effect_pixels": int(effect.sum()),
        "effect_frac": round(float(effect.sum()) / n_out, 6),
        "identical_frac": round(float(((diff == 0) & outside).sum()) / n_out, 6),
        "drift_frac": round(float(((diff > DRIFT_LEVELS) & far).sum()) / n_far, 6),
        "drift_max": int(diff[far].max()) if far.any() else 0,
        "residual_object_pixels": residual,
    }
