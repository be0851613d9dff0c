"""The one conversion between uint8 frames and the models' float videos, and the one device choice, used by every
stage."""

from __future__ import annotations

import numpy as np
import torch

from .errors import GenomniError


def from_uint8(frames: np.ndarray) -> torch.Tensor:
    """(..., T, H, W, 3) uint8 -> (..., 3, T, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float().div(127.5).sub(1.0).movedim(-1, -4)


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """(..., 3, T, H, W) float in [-1, 1] -> (..., T, H, W, 3) uint8 (clamped, rounded)."""
    return ((video.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().byte().movedim(-4, -1).cpu().numpy()


def pick_device(name: str, flag: str = "--device") -> torch.device:
    """`auto` (a GPU when there is one), `cpu`, `cuda` or `cuda:N`; a GPU this machine does not have is one line."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GenomniError(f"{flag} {name}: no CUDA GPU is available")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise GenomniError(f"{flag} {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return torch.device(name)
