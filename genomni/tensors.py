"""The one conversion between uint8 frames and the models' float videos, used by every stage."""

from __future__ import annotations

import numpy as np
import torch


def from_uint8(frames: np.ndarray) -> torch.Tensor:
    """(..., T, H, W, 3) uint8 -> (..., 3, T, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float().div(127.5).sub(1.0).movedim(-1, -4)


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """(..., 3, T, H, W) float in [-1, 1] -> (..., T, H, W, 3) uint8 (clamped, rounded)."""
    return ((video.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().byte().movedim(-4, -1).cpu().numpy()
