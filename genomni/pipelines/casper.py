"""Flow-matching sampling with a Casper model: from noise to the clean latent of one window.

It lives beside the model (not in inference/) because training validation samples too; the
inference stage adds long-video windows, resizing and I/O on top of it.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..models.casper import CasperModel


def fresh_scheduler(model: CasperModel) -> Any:
    """A new scheduler of the model's class and config (schedulers keep per-run state)."""
    return model.scheduler.__class__.from_config(model.scheduler.config)


@torch.no_grad()
def sample_latents(model: CasperModel, cond: torch.Tensor, text: torch.Tensor, steps: int, seed: int,
                   guidance: float = 1.0, uncond_text: torch.Tensor | None = None, transformer: Any | None = None,
                   velocity: Callable[..., torch.Tensor] | None = None, on_step: Callable[[int], None] | None = None) -> torch.Tensor:
    """Denoise from seeded noise with the model's scheduler; classifier-free guidance when guidance != 1.

    `cond` is `model.condition(batch)`. `velocity(latents, cond, sigma, text)` replaces the single
    denoiser call (inference passes one that blends overlapping windows); `on_step(i)` reports progress.
    """
    def single(x: torch.Tensor, c: torch.Tensor, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return model.denoise(x, c, s, e, transformer)

    velocity = velocity or single
    b, _, t, h, w = cond.shape
    gen = torch.Generator(device="cpu").manual_seed(seed)
    latents = torch.randn((b, model.config.latent_channels, t, h, w), generator=gen).to(cond.device)
    scheduler = fresh_scheduler(model)
    scheduler.set_timesteps(steps, device=cond.device)
    n_train = float(scheduler.config.num_train_timesteps)
    for i, ts in enumerate(scheduler.timesteps):
        sigma = (ts / n_train).expand(b).to(cond.device, torch.float32)
        v = velocity(latents, cond, sigma, text)
        if guidance != 1.0 and uncond_text is not None:
            v_u = velocity(latents, cond, sigma, uncond_text)
            v = v_u + guidance * (v - v_u)
        latents = scheduler.step(v, ts, latents, return_dict=False)[0]
        if on_step is not None:
            on_step(i)
    return latents
