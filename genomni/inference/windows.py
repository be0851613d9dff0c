"""Temporal multi-diffusion for videos longer than the model's window, and the frame/size
bookkeeping around it (padding to the VAE's 4n+1 frames, resizing to the model's grid and back).

At every denoising step each window of latent frames is denoised on its own and the velocities are
averaged with weights that taper to the window edges, so neighbouring windows agree smoothly and
no seam appears where one window ends (MultiDiffusion, Bar-Tal et al. 2023, along time).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..errors import GenomniError


def padded_length(frames: int, multiple: int) -> int:
    """The smallest multiple*n+1 >= frames."""
    return frames + (-(frames - 1)) % multiple


def pad_frames(frames: np.ndarray, multiple: int) -> tuple[np.ndarray, int]:
    """Repeat the last frame until the count is multiple*n+1; returns (padded, original count)."""
    t = frames.shape[0]
    extra = padded_length(t, multiple) - t
    if extra == 0:
        return frames, t
    return np.concatenate([frames, np.repeat(frames[-1:], extra, axis=0)]), t


def model_size(height: int, width: int, multiple: int, max_side: int | None = None) -> tuple[int, int]:
    """The working size: the input's, scaled so the long side is at most `max_side`, rounded to `multiple`."""
    scale = min(1.0, max_side / max(height, width)) if max_side else 1.0
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    return h, w


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start indices of windows of `window` covering 0..length-1 with the given stride (last one flush)."""
    if window >= length:
        return [0]
    if stride < 1 or stride > window:
        raise GenomniError(f"window stride must be in 1..{window}, got {stride}")
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def taper(window: int, overlap: int) -> torch.Tensor:
    """Per-frame weights of one window: 1 in the middle, a raised-cosine ramp over `overlap` frames at each end.

    Never zero, so every frame is covered even at the clip's ends.
    """
    w = torch.ones(window)
    ramp = min(overlap, window // 2)
    if ramp > 0:
        x = (torch.arange(ramp, dtype=torch.float32) + 1) / (ramp + 1)
        edge = 0.5 - 0.5 * torch.cos(np.pi * x)
        w[:ramp] = edge
        w[window - ramp :] = edge.flip(0)
    return w


def blended_velocity(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], window: int, stride: int
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """Wrap a velocity function of (latents, cond, sigma, text) so it runs per latent-time window and blends."""

    def run(latents: torch.Tensor, cond: torch.Tensor, sigma: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        length = latents.shape[2]
        starts = window_starts(length, window, stride)
        if len(starts) == 1:
            return fn(latents, cond, sigma, text)
        weights = taper(window, window - stride).to(latents.device)
        total = torch.zeros_like(latents)
        norm = torch.zeros(length, device=latents.device)
        for s in starts:
            v = fn(latents[:, :, s : s + window], cond[:, :, s : s + window], sigma, text)
            total[:, :, s : s + window] += v * weights.view(1, 1, -1, 1, 1)
            norm[s : s + window] += weights
        return total / norm.view(1, 1, -1, 1, 1)

    return run
