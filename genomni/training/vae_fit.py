"""Fit (or fine-tune) the VAE of a Casper model dir as a video autoencoder on shard clips.

Wan's pretrained VAE needs none of this; the tiny preset's VAE is random, and a random decoder
turns any latent into noise, so a CPU-sized experiment first fits it here. The latent
normalisation (`latents_mean`/`latents_std`) is then measured on the data, as Wan's was, so the
diffusion model sees unit-variance latents.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..datasets.clips import ClipConfig
from ..datasets.index import ShardIndex
from ..datasets.loader import ClipDataset, collate
from ..errors import GenomniError
from ..metrics import psnr_uint8
from ..models.casper import CasperModel
from ..progress import progress_bar
from .validate import to_uint8


def _recon_psnr(vae: Any, clips: torch.Tensor) -> float:
    with torch.no_grad():
        rec = vae.decode(vae.encode(clips).latent_dist.mode()).sample.clamp(-1, 1)
    return float(np.mean([psnr_uint8(to_uint8(r), to_uint8(c)) for r, c in zip(rec, clips)]))


@dataclass
class VaeFit:
    """A VAE fit: optimizer steps, wall seconds, held-out reconstruction PSNR before and after, what it saw."""

    steps: int
    seconds: float
    psnr_before: float
    psnr_after: float
    clip: list[int]
    data: list[str]


def fit_vae(
    model_dir: str | os.PathLike,
    data: list[str],
    steps: int = 500,
    batch_size: int = 4,
    lr: float = 1e-3,
    clip: ClipConfig | None = None,
    val: list[str] | None = None,
    seed: int = 0,
    max_minutes: float | None = None,
    kl_weight: float = 1e-6,
    progress: bool = True,
) -> "VaeFit":
    """Train the model dir's VAE on input and target clips, set its latent statistics, save in place.

    Reconstruction PSNR before and after is measured on 4 clips of `val` (or of `data` when no
    held-out data is given).
    """

    model = CasperModel.from_pretrained(model_dir)
    if model.vae is None:
        raise GenomniError(f"{model_dir} is a {model.config.backbone} model: it has no VAE to fit")
    clip = clip or ClipConfig()
    model.check_clip(clip.frames, clip.height, clip.width)
    if steps < 1 or batch_size < 1:
        raise GenomniError("--steps and --batch-size must be >= 1")
    ds = ClipDataset(ShardIndex(data), clip, seed=seed)
    probe = ClipDataset(ShardIndex(val), clip, seed=seed) if val else ds
    held_out = collate([probe[(10**9, j)] for j in range(4)])["target"]
    vae = model.vae
    vae.requires_grad_(True).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=lr)
    before = _recon_psnr(vae, held_out)
    t0, deadline, done = time.time(), (time.time() + 60 * max_minutes) if max_minutes else None, 0
    with progress_bar(progress) as bar:
        task = bar.add_task("fit vae", total=steps)
        for step in range(steps):
            b = collate([ds[(step, j)] for j in range(batch_size)])
            x = torch.cat([b["input"], b["target"]])
            post = vae.encode(x).latent_dist
            rec = vae.decode(post.sample(generator=torch.Generator().manual_seed(seed + step))).sample
            loss = (rec - x).abs().mean() + ((rec - x) ** 2).mean() + kl_weight * post.kl().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            done = step + 1
            bar.update(task, completed=done)
            if deadline and time.time() > deadline:
                break
    vae.requires_grad_(False).eval()
    with torch.no_grad():
        z = torch.cat(
            [vae.encode(collate([ds[(10**9 + k, j)] for j in range(4)])["target"]).latent_dist.mode() for k in range(1, 5)]
        )  # 16 clips measure the latent statistics
    mean = z.mean(dim=(0, 2, 3, 4))
    std = z.std(dim=(0, 2, 3, 4)).clamp_min(1e-3)
    vae.register_to_config(latents_mean=mean.tolist(), latents_std=std.tolist())
    after = _recon_psnr(vae, held_out)
    result = VaeFit(done, time.time() - t0, before, after, [clip.frames, clip.height, clip.width], list(data))
    model.config.extra["vae_fit"] = asdict(result)  # provenance in casper.json
    model.save_pretrained(Path(model_dir))
    return result
