"""Omnimatte optimization: turn a (solo, background) pair into an RGBA layer that holds the object
and its effects (shadows, reflections).

For each object, an alpha U-Net (diffusers `UNet2DModel`, fed the solo frame and the least alpha that
explains it over the background at each pixel) and a per-pixel foreground RGB are optimized so that
`alpha * fg + (1 - alpha) * background` reconstructs the solo video. The object is opaque on its
mask (alpha >= mask); alpha sparsity (an L0 approximation plus L1) keeps alpha at zero where the solo
and background agree, so the network grows the layer from the object into its effects only where the
reconstruction needs them. Coarse (long side `coarse_side`) then full resolution. The network's alpha
says *where* the layer is (above `layer_on`); there its opacity is the least one that explains the solo
(`least_opaque`, the definition the ground-truth layers use). Then detail transfer: the foreground takes
the exact colour that reconstructs the solo frame wherever alpha is non-zero.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import GenomniError
from ..layers import least_alpha
from ..metrics import psnr01
from .config import OmnimatteConfig


@dataclass
class Layer:
    """One RGBA layer: alpha (T,H,W) float in [0,1], foreground rgb (T,H,W,3) float in [0,1], and figures."""

    alpha: np.ndarray
    rgb: np.ndarray
    stats: dict[str, Any]

    def rgba8(self) -> np.ndarray:
        """(T,H,W,4) uint8 with alpha premultiplication undone (straight alpha, as PNG stores it)."""
        a = np.round(self.alpha * 255).astype(np.uint8)[..., None]
        return np.concatenate([np.round(self.rgb * 255).astype(np.uint8), a], -1)


def alpha_net(channels: tuple[int, ...]) -> torch.nn.Module:
    """A small 2D U-Net mapping [solo RGB | error] (4 channels) to an alpha logit."""
    from diffusers import UNet2DModel

    n = len(channels)
    return UNet2DModel(in_channels=4, out_channels=1, block_out_channels=channels, layers_per_block=1,
                       down_block_types=("DownBlock2D",) * n, up_block_types=("UpBlock2D",) * n,
                       norm_num_groups=min(8, channels[0]), add_attention=False)


def _to_tensor(x: np.ndarray) -> torch.Tensor:
    """(T,H,W,3) uint8 -> (T,3,H,W) float [0,1]; (T,H,W) bool -> (T,1,H,W) float."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    return (t.permute(0, 3, 1, 2).float() / 255.0) if t.ndim == 4 else t[:, None].float()


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str = "area") -> torch.Tensor:
    return x if x.shape[-2:] == size else F.interpolate(x, size=size, mode=mode)


def _need(solo: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """(T,1,H,W): the least alpha that explains the solo over the background at each pixel (`layers.least_alpha`,
    the rule the ground-truth layers use); computed once per resolution, the frames being fixed."""
    need = least_alpha(solo.permute(0, 2, 3, 1).numpy(), bg.permute(0, 2, 3, 1).numpy())
    return torch.from_numpy(np.ascontiguousarray(need))[:, None]


def _alpha(net: torch.nn.Module, solo: torch.Tensor, need: torch.Tensor) -> torch.Tensor:
    """Alpha in [0,1] from the net fed [solo | the least alpha explaining it] (a faint shadow on a dark floor is a
    small difference but a clear need; measured on held-out scenes: alpha IoU 0.809 -> 0.879, effect MAE 0.056 ->
    0.033 against |solo - background|), padding the frame to the U-Net's multiple and cropping back."""
    x = torch.cat([solo, need], 1) * 2 - 1
    h, w = x.shape[-2:]
    m = 2 ** (len(net.config.block_out_channels) - 1)
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    logit = net(x, 0).sample[..., :h, :w]
    return torch.sigmoid(logit)


TARGET_PSNR = 35.0  # dB: the reconstruction quality whose time each layer reports (issue 14)


def least_opaque(alpha: torch.Tensor, need: torch.Tensor, obj: torch.Tensor, on: float) -> torch.Tensor:
    """Inside the layer (alpha > `on`) and off the object, the least opaque alpha that explains the solo over the
    background (`layers.truth_layer`'s rule: darkening over black, brightening over white); elsewhere 0 or 1.

    Any alpha above that minimum also reconstructs the solo, with a paler colour; sparsity only pushes towards it,
    so the network decides *where* the layer is and the minimum decides *how opaque* (measured: shadow opacity
    0.72 against a true 0.50 without this, 0.505 with it)."""
    return torch.where(obj > 0.5, torch.ones_like(alpha), torch.where(alpha > on, need, torch.zeros_like(alpha)))


def _stage(net: torch.nn.Module, net_opt: torch.optim.Optimizer, solo: torch.Tensor, bg: torch.Tensor, mask: torch.Tensor,
           fg_init: torch.Tensor, iters: int, start: int, cfg: OmnimatteConfig, gen: torch.Generator,
           on_iter: Callable[[int], None] | None) -> tuple[torch.Tensor, list[float], float | None]:
    """Optimize net and a foreground at one resolution; returns the foreground logits, the losses and the seconds
    until a batch's reconstruction first reached TARGET_PSNR dB (None if it never did). The network's optimizer
    (and its moment estimates) carries over between stages; the per-pixel foreground is new at each resolution,
    so it gets its own."""
    fg_logit = torch.logit(fg_init.clamp(1e-3, 1 - 1e-3)).clone().requires_grad_(True)
    fg_opt = torch.optim.Adam([fg_logit], lr=cfg.fg_lr)
    losses = []
    t = solo.shape[0]
    need = _need(solo, bg) if iters else None
    reached, t0 = None, time.perf_counter()
    for it in range(iters):
        idx = torch.randperm(t, generator=gen)[:cfg.frames_per_iter]
        s, b, m = solo[idx], bg[idx], mask[idx]
        a = torch.maximum(_alpha(net, s, need[idx]), m)  # the object is opaque on its mask
        fg = torch.sigmoid(fg_logit[idx])
        residual = s - (a * fg + (1 - a) * b)
        recon = residual.abs().mean()
        if reached is None and float((residual.detach() ** 2).mean()) <= 10 ** (-TARGET_PSNR / 10):
            reached = time.perf_counter() - t0
        sparse = (2 * torch.sigmoid(cfg.l0_k * a) - 1).mean() + a.mean()
        loss = recon + cfg.sparsity * sparse
        net_opt.zero_grad()
        fg_opt.zero_grad()
        loss.backward()
        net_opt.step()
        fg_opt.step()
        losses.append(float(loss.detach()))
        if on_iter is not None:
            on_iter(start + it + 1)
    return fg_logit.detach(), losses, reached


def optimize_layer(solo: np.ndarray, background: np.ndarray, mask: np.ndarray, cfg: OmnimatteConfig | None = None,
                   on_iter: Callable[[int], None] | None = None) -> Layer:
    """Optimize one RGBA layer from solo (T,H,W,3) uint8, background (same) and the object's mask (T,H,W) bool."""
    cfg = cfg or OmnimatteConfig()
    if solo.shape != background.shape or solo.shape[:3] != mask.shape:
        raise GenomniError(f"solo {solo.shape}, background {background.shape} and mask {mask.shape} do not match")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    s_full, b_full, m_full = _to_tensor(solo), _to_tensor(background), _to_tensor(mask)
    h, w = s_full.shape[-2:]
    scale = min(1.0, cfg.coarse_side / max(h, w))
    small = (max(8, round(h * scale)), max(8, round(w * scale)))
    net = alpha_net(cfg.channels)
    net_opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    started = time.perf_counter()
    fg_c, loss_c, coarse_35 = _stage(net, net_opt, _resize(s_full, small), _resize(b_full, small), (_resize(m_full, small) > 0.5).float(),
                          _resize(s_full, small), cfg.coarse_iters, 0, cfg, gen, on_iter)
    fg_init = _resize(torch.sigmoid(fg_c), (h, w), "bilinear") if cfg.coarse_iters else s_full
    fine_start = time.perf_counter() - started
    fg_f, loss_f, fine_35 = _stage(net, net_opt, s_full, b_full, m_full, fg_init, cfg.fine_iters, cfg.coarse_iters, cfg,
                                   gen, on_iter)
    optimize_s = time.perf_counter() - started
    with torch.no_grad():
        need = _need(s_full, b_full)
        alpha = torch.cat([torch.maximum(_alpha(net, s_full[i:i + 8], need[i:i + 8]), m_full[i:i + 8])
                           for i in range(0, s_full.shape[0], 8)])
        fg = torch.sigmoid(fg_f)
        raw = alpha * fg + (1 - alpha) * b_full  # what the optimization itself reached
        alpha = least_opaque(alpha, need, m_full, cfg.layer_on)
        # Detail transfer: where alpha > 0 the foreground takes the colour that reconstructs the solo exactly.
        exact = ((s_full - (1 - alpha) * b_full) / alpha.clamp_min(1e-3)).clamp(0, 1)
        fg = torch.where(alpha > 1e-3, exact, fg)
        recon = alpha * fg + (1 - alpha) * b_full
    a_np = alpha[:, 0].numpy()
    rgb = fg.permute(0, 2, 3, 1).numpy()
    solo01 = s_full.permute(0, 2, 3, 1).numpy()
    stats = {"recon_psnr": psnr01(recon.permute(0, 2, 3, 1).numpy(), solo01),
             "recon_psnr_before_transfer": psnr01(raw.permute(0, 2, 3, 1).numpy(), solo01),
             "alpha_mean": float(a_np.mean()), "alpha_outside_mask": float(a_np[~mask].mean()) if (~mask).any() else 0.0,
             "loss_first": (loss_c + loss_f)[0], "loss_last": (loss_c + loss_f)[-1], "coarse_size": list(small),
             "optimize_s": round(optimize_s, 3),
             # seconds until a batch of frames reconstructed the solo at TARGET_PSNR dB before transfer: at the coarse
             # size, and at full size (counted from the start of the layer)
             "coarse_s_to_35db": None if coarse_35 is None else round(coarse_35, 3),
             "full_size_s_to_35db": None if fine_35 is None else round(fine_start + fine_35, 3),
             "config": asdict(cfg)}
    return Layer(a_np, rgb, stats)


OPAQUE = 0.98  # alpha above which a layer pixel is the object itself (the public code's transmission threshold)


def transfer_from_input(layer: Layer, video: np.ndarray, mask: np.ndarray, others: np.ndarray) -> Layer:
    """The layer's colour taken from the input video's own pixels where the layer is the object (its mask, or alpha >
    OPAQUE) and no other object is in front of it (`others`: the other objects' masks), as the public
    reimplementation transfers detail: there the input shows exactly this object, without the artefacts of the
    removal model's decoded solo video. Elsewhere (shadows, reflections) the colour stays the one that reconstructs
    the solo video. Alpha is unchanged."""
    own = (mask | (layer.alpha > OPAQUE)) & ~others
    rgb = np.where(own[..., None], video.astype(np.float32) / 255.0, layer.rgb).astype(np.float32)
    return Layer(layer.alpha, rgb, {**layer.stats, "input_transfer_frac": float(own.mean())})


# Peak memory of one layer = fixed + per frame-pixel (every full-size frame held as float tensors, the foreground's
# Adam state) + per pixel of one frame (the U-Net's activations on frames_per_iter full-size frames). Measured by
# benchmarks/omnimatte_memory.py (fit 249 MB + 87 B + 12,140 B at the default options), rounded up here.
LAYER_BYTES_FIXED = 300e6
LAYER_BYTES_PER_FRAME_PIXEL = 100.0
LAYER_BYTES_PER_PIXEL = 13_000.0


def layer_memory_bytes(frames: int, height: int, width: int) -> float:
    """Estimated peak memory (bytes) of one layer optimization on a (frames, height, width) clip."""
    return LAYER_BYTES_FIXED + LAYER_BYTES_PER_FRAME_PIXEL * frames * height * width + LAYER_BYTES_PER_PIXEL * height * width


def machine_memory_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_layer_memory(frames: int, height: int, width: int) -> None:
    """Refuse, before any work, a clip whose layer optimization would need more memory than the machine has."""
    need, have = layer_memory_bytes(frames, height, width), machine_memory_bytes()
    if need > have:
        raise GenomniError(f"the layer optimization of {frames} frames at {width}x{height} needs about {need / 1e9:.1f} GB, "
                           f"more than this machine's {have / 1e9:.1f} GB; downscale the video or split it into shorter clips")
