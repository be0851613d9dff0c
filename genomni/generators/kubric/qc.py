"""Quality figures for rendered samples, computed from pixels and instance maps.

- visible pixels per object (min over frames): objects out of view or tiny fail the scene;
- effect area: pixels outside every object mask where the rendered target differs from the input
  *coherently* (`effects.effect_region`: shadows and reflections removed, not noise);
- changed fraction: the share of non-object pixels the sample's target takes from the target render
  (the removed objects' surroundings and their effects); the input's pixels everywhere else;
- identical fraction: pixels outside object masks that are bit-identical between input and target;
- drift: pixels outside the changed region where the *rendered* target differs from the input by more than
  EFFECT_LEVELS, and the largest such difference: render noise that the pairing replaced with the input's
  pixels. A scene above --max-drift is so noisy that its changed region is noisy too, and is resampled
  (denoised renders differ by broad 1-3 level blotches instead, which this does not count);
- residual object pixels: pixels of removed objects still present in the target's instance map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...constants import EFFECT_LEVELS
from ...effects import effect_region


def visible_pixels(instances: np.ndarray, ids: list[int]) -> list[int]:
    """Minimum over frames of each object's visible pixel count."""
    flat = instances.reshape(instances.shape[0], -1)
    return [int((flat == i).sum(1).min()) for i in ids]


def sample_qc(
    inp: np.ndarray,
    rendered: np.ndarray,
    target: np.ndarray,
    region: np.ndarray,
    instances: np.ndarray,
    target_instances: np.ndarray,
    removed: list[int],
) -> dict[str, Any]:
    """QC figures of one pair: `rendered` is the target pass as Cycles made it, `target` the sample's target
    (the input outside the changed `region`, see `pairs.py`); see the module docstring."""
    raw = np.abs(inp.astype(np.int16) - rendered.astype(np.int16)).max(-1)
    diff = np.abs(inp.astype(np.int16) - target.astype(np.int16)).max(-1)
    objects = instances > 0
    outside = ~objects
    effect = effect_region(inp, rendered, objects)
    far = ~region
    n_out, n_far = max(1, int(outside.sum())), max(1, int(far.sum()))
    residual = int(np.isin(target_instances, removed).sum()) if removed else 0
    return {
        "effect_pixels": int(effect.sum()),
        "effect_frac": round(float(effect.sum()) / n_out, 6),
        "changed_frac": round(float((region & outside).sum()) / n_out, 6),
        "identical_frac": round(float(((diff == 0) & outside).sum()) / n_out, 6),
        "drift_frac": round(float(((raw > EFFECT_LEVELS) & far).sum()) / n_far, 6),
        "drift_max": int(raw[far].max()) if far.any() else 0,
        "residual_object_pixels": residual,
    }
