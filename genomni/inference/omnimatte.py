"""Omnimatte layers: turn a (solo, background) pair into an RGBA layer that holds the object and its effects
(shadows, reflections).

A layer is its rule (the default): opaque on the object's mask and, inside where the solo and background differ
coherently (not by noise) and off the other objects' places (`_need`, `_elsewhere`), the least opaque alpha that
explains the solo over the background (`least_opaque`, the definition the ground-truth layers use), with the
colour that reconstructs the solo exactly there. Measured against true layers (benchmarks/omnimatte.py), optimizing the paper's
alpha network first added nothing to this on any input, so it is opt-in (`coarse_iters`, `fine_iters`): then an
alpha U-Net (diffusers `UNet2DModel`, fed the solo frame and that least alpha) and a per-pixel foreground RGB are
optimized so that `alpha * fg + (1 - alpha) * background` reconstructs the solo video (the object opaque on its
mask, alpha sparsity as an L0 approximation plus L1; coarse, long side `coarse_side`, then full resolution), and
the network's alpha also says *where* the layer is (above `layer_on`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..effects import RIM_PX, denoised_difference, layer_support, near_object
from ..errors import GenomniError
from ..footage import dilate
from ..layers import least_alpha
from ..metrics import psnr_of_mse
from .config import OmnimatteConfig


@dataclass
class Layer:
    """One RGBA layer: alpha (T,H,W) float in [0,1], foreground rgb (T,H,W,3) float in [0,1], and figures."""

    alpha: np.ndarray
    rgb: np.ndarray
    stats: dict[str, Any]

    def rgba8(self) -> np.ndarray:
        """(T,H,W,4) uint8 with alpha premultiplication undone (straight alpha, as PNG stores it)."""
        out = np.empty((*self.alpha.shape, 4), np.uint8)
        for i in range(0, len(out), 8):  # eight frames at a time: no clip-sized float temporaries
            out[i : i + 8, ..., :3] = np.round(self.rgb[i : i + 8] * 255)
            out[i : i + 8, ..., 3] = np.round(self.alpha[i : i + 8] * 255)
        return out


def alpha_net(channels: tuple[int, ...]) -> torch.nn.Module:
    """A small 2D U-Net mapping [solo RGB | error] (4 channels) to an alpha logit."""
    from diffusers import UNet2DModel

    n = len(channels)
    return UNet2DModel(
        in_channels=4,
        out_channels=1,
        block_out_channels=channels,
        layers_per_block=1,
        down_block_types=("DownBlock2D",) * n,
        up_block_types=("UpBlock2D",) * n,
        norm_num_groups=min(8, channels[0]),
        add_attention=False,
    )


def _to_tensor(x: np.ndarray) -> torch.Tensor:
    """(T,H,W,3) uint8 -> (T,3,H,W) float [0,1]; (T,H,W) bool -> (T,1,H,W) float."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    return (t.permute(0, 3, 1, 2).float() / 255.0) if t.ndim == 4 else t[:, None].float()


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str = "area") -> torch.Tensor:
    return x if x.shape[-2:] == size else F.interpolate(x, size=size, mode=mode)


def _need(solo: torch.Tensor, bg: torch.Tensor, mask: torch.Tensor, elsewhere: torch.Tensor) -> torch.Tensor:
    """(T,1,H,W): the least alpha that explains the solo over the background (`layers.least_alpha`, the rule the
    ground-truth layers use), taken from their difference with its noise shrunk (`effects.denoised_difference`)
    and kept to the object and its coherent effect (`effects.layer_support`) where that reaches near the object
    (`effects.near_object`: no far-away changes, frame borders) off `elsewhere` (`_elsewhere`), so two
    videos that differ by noise everywhere (a removal model's outputs, renders) give a layer only where the object
    changed the scene; the frames being fixed, it is computed once per resolution. Held-out kubric layers with
    independent noise on each input are the reference (benchmarks/omnimatte.py, "Layer rule 2" in
    benchmarks/README.md); a noise-free pair's difference passes the filter unchanged."""
    s = solo.permute(0, 2, 3, 1).numpy() * 255.0
    b = bg.permute(0, 2, 3, 1).numpy() * 255.0
    obj = mask[:, 0].numpy() > 0.5
    support = near_object(layer_support(b, s, obj), obj) & ~(elsewhere[:, 0].numpy() > 0.5)
    need = np.zeros(obj.shape, np.float32)
    for k in range(len(s)):
        clean = b[k] + denoised_difference(s[k] - b[k], obj[k])
        need[k] = np.where(support[k], least_alpha(clean / 255.0, b[k] / 255.0), 0.0)
    return torch.from_numpy(need)[:, None]


OTHERS_GROW = 4  # px: how far around another object's mask its removal may have changed the scene


def _elsewhere(mask: np.ndarray, others: np.ndarray | None) -> np.ndarray:
    """(T,H,W) bool: the other objects' places (their masks grown by OTHERS_GROW px) off this object's rim. Both
    removal runs (this object's solo video, the background) regenerate those pixels, each its own way, so a
    difference there is no evidence of this object's effect (measured on held-out kubric layers whose solo had the
    other objects' places refilled another way, with 3 levels of noise: alpha IoU 0.436 -> 0.689 as the rule
    alone; on the renders themselves it costs this object's effects where another stood: 0.940 -> 0.917 at the
    default budget)."""
    if others is None or not others.any():
        return np.zeros(mask.shape, bool)
    return dilate(others, OTHERS_GROW) & ~dilate(mask, RIM_PX)


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


# What a layer is, given its options: raised whenever the same options give another layer, so `decompose --resume`
# refuses a folder whose finished layers an earlier rule made (2: the least alpha from the noise-shrunk difference,
# kept to the object and its coherent effect, off the other objects' places; 3: the effect only where it reaches
# near the object, `effects.near_object`)
LAYER_RULE = 3

TARGET_PSNR = 35.0  # dB: the reconstruction quality whose time each layer reports (issue 14)


def least_opaque(alpha: torch.Tensor, need: torch.Tensor, obj: torch.Tensor, on: float) -> torch.Tensor:
    """Inside the layer (alpha > `on`) and off the object, the least opaque alpha that explains the solo over the
    background (`layers.truth_layer`'s rule: darkening over black, brightening over white); elsewhere 0 or 1.

    Any alpha above that minimum also reconstructs the solo, with a paler colour; sparsity only pushes towards it,
    so the network decides *where* the layer is and the minimum decides *how opaque* (measured: shadow opacity
    0.72 against a true 0.50 without this, 0.505 with it)."""
    return torch.where(obj > 0.5, torch.ones_like(alpha), torch.where(alpha > on, need, torch.zeros_like(alpha)))


def _f32(x: torch.Tensor) -> torch.Tensor:
    """A batch of stored frames as float32 in [0,1]: uint8 frames are divided by 255, masks and float16 cast."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


class _BatchAdam:
    """Adam (torch's defaults: betas 0.9/0.999, eps 1e-8) over a clip-sized per-pixel foreground whose gradient is
    non-zero only on the batch's frames. Hand-written because torch's Adam needs a dense gradient (a second
    clip-sized tensor) and keeps its moments in the parameter's float32; here the gradient is the batch's only and
    the moments may be bfloat16 (the full-size stage: a third of the memory), while every frame still moves by its
    momentum as with dense Adam (the tuned defaults rely on that: with per-frame moments only, held-out alpha IoU
    fell 0.876 -> 0.809)."""

    def __init__(
        self,
        param: torch.Tensor,
        lr: float,
        moments: torch.dtype = torch.bfloat16,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.param, self.lr, self.betas, self.eps, self.steps = param, lr, betas, eps, 0
        self.m = torch.zeros_like(param, dtype=moments)
        self.v = torch.zeros_like(param, dtype=moments)
        self.leaf: torch.Tensor | None = None

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        """The batch's frames as a leaf whose gradient `step` applies."""
        self.leaf = self.param[idx].clone().requires_grad_(True)
        return self.leaf

    def step(self, idx: torch.Tensor) -> None:
        b1, b2 = self.betas
        self.steps += 1
        grad = torch.zeros((), dtype=self.param.dtype) if self.leaf.grad is None else self.leaf.grad
        with torch.no_grad():
            for k in range(0, self.param.shape[0], 8):  # the moments decay everywhere, eight frames at a time
                m, v = self.m[k : k + 8].float().mul_(b1), self.v[k : k + 8].float().mul_(b2)
                hit = ((idx >= k) & (idx < k + 8)).nonzero()[:, 0]
                if len(hit):
                    rows = idx[hit] - k
                    g = grad[hit]
                    m[rows] += (1 - b1) * g
                    v[rows] += (1 - b2) * g * g
                denom = (v / (1 - b2**self.steps)).sqrt_().add_(self.eps)
                self.param[k : k + 8].addcdiv_(m, denom, value=-self.lr / (1 - b1**self.steps))
                self.m[k : k + 8], self.v[k : k + 8] = m, v
        self.leaf = None


def _stage(
    net: torch.nn.Module,
    net_opt: torch.optim.Optimizer,
    solo: torch.Tensor,
    bg: torch.Tensor,
    mask: torch.Tensor,
    need: torch.Tensor,
    fg_logit: torch.Tensor,
    iters: int,
    start: int,
    cfg: OmnimatteConfig,
    gen: torch.Generator,
    on_iter: Callable[[int], None] | None,
    one_frame_at_a_time: bool = False,
) -> tuple[torch.Tensor, list[float], float | None]:
    """Optimize net and a foreground (its logits, `fg_logit`, updated in place) at one resolution; returns them, the
    losses and the seconds
    until a batch's reconstruction first reached TARGET_PSNR dB (None if it never did). The network's optimizer
    (and its moment estimates) carries over between stages; the per-pixel foreground is new at each resolution,
    so it gets its own. Frames may be stored compactly (uint8 solo and background, float16 need: `_f32`); with
    `one_frame_at_a_time` each batch's gradient is accumulated frame by frame (the same gradient, a quarter of
    the network's activations at the default four frames: what bounds a full-size stage's memory)."""
    fg_opt = _BatchAdam(fg_logit, cfg.fg_lr, torch.bfloat16 if one_frame_at_a_time else torch.float32)
    losses = []
    t = solo.shape[0]
    reached, t0 = None, time.perf_counter()
    for it in range(iters):
        idx = torch.randperm(t, generator=gen)[: cfg.frames_per_iter]
        parts = [slice(k, k + 1) for k in range(len(idx))] if one_frame_at_a_time else [slice(None)]
        net_opt.zero_grad()
        batch = fg_opt.batch(idx)
        loss_sum, sq_sum = 0.0, 0.0
        for part in parts:
            group = idx[part]
            share = len(group) / len(idx)  # each group's part of the batch mean
            s, b, m = _f32(solo[group]), _f32(bg[group]), _f32(mask[group])
            a = torch.maximum(_alpha(net, s, _f32(need[group])), m)  # the object is opaque on its mask
            fg = torch.sigmoid(batch[part])
            residual = s - (a * fg + (1 - a) * b)
            sparse = (2 * torch.sigmoid(cfg.l0_k * a) - 1).mean() + a.mean()
            loss = (residual.abs().mean() + cfg.sparsity * sparse) * share
            loss.backward()
            loss_sum += float(loss.detach())
            sq_sum += float((residual.detach() ** 2).mean()) * share
        if reached is None and sq_sum <= 10 ** (-TARGET_PSNR / 10):
            reached = time.perf_counter() - t0
        net_opt.step()
        fg_opt.step(idx)
        losses.append(loss_sum)
        if on_iter is not None:
            on_iter(start + it + 1)
    return fg_logit, losses, reached


def _logit(x: torch.Tensor) -> torch.Tensor:
    return torch.logit(x.clamp(1e-3, 1 - 1e-3))


def _frames_u8(x: np.ndarray) -> torch.Tensor:
    """(T,H,W,3) uint8 -> (T,3,H,W) uint8 tensor: a full-size clip kept at one byte per value."""
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)


def _need_chunked(
    solo: np.ndarray,
    bg: np.ndarray,
    mask: np.ndarray,
    elsewhere: np.ndarray,
    chunk: int = 8,
    on_frames: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """(T,1,H,W) float16 `_need` of uint8 clips and bool masks, computed a few frames at a time; `on_frames` hears
    how many frames are done after each chunk."""
    parts = []
    for i in range(0, len(solo), chunk):
        parts.append(
            _need(
                _to_tensor(solo[i : i + chunk]),
                _to_tensor(bg[i : i + chunk]),
                _to_tensor(mask[i : i + chunk]),
                _to_tensor(elsewhere[i : i + chunk]),
            ).half()
        )
        if on_frames is not None:
            on_frames(min(i + chunk, len(solo)))
    return torch.cat(parts)


def _assemble(
    solo: torch.Tensor,
    bg: torch.Tensor,
    mask: torch.Tensor,
    need: torch.Tensor,
    net: torch.nn.Module | None,
    fg_logit: torch.Tensor | None,
    on: float,
) -> tuple[np.ndarray, np.ndarray, float, float | None]:
    """The layer from stored full-size frames, eight at a time: alpha 1 on the object and, where the network's alpha
    exceeds `on` (everywhere without a network), the least alpha (`least_opaque`); the colour that reconstructs the
    solo exactly wherever alpha > 0 (detail transfer). Returns alpha (T,H,W), rgb (T,H,W,3), the summed squared
    error of the layer over the background against the solo, and that of the optimization's own alpha and
    foreground (None without a network)."""
    t, _, h, w = solo.shape
    alpha_out = np.empty((t, h, w), np.float32)
    rgb_out = np.empty((t, h, w, 3), np.float32)
    sq_recon, sq_raw = 0.0, None if net is None else 0.0
    with torch.no_grad():
        for i in range(0, t, 8):
            s, b, m, nd = _f32(solo[i : i + 8]), _f32(bg[i : i + 8]), _f32(mask[i : i + 8]), _f32(need[i : i + 8])
            if net is None:
                alpha, fg = torch.ones_like(m), s
            else:  # the network one frame at a time: its skip connections hold several full-size feature maps per frame
                alpha = torch.maximum(torch.cat([_alpha(net, s[k : k + 1], nd[k : k + 1]) for k in range(len(s))]), m)
                fg = torch.sigmoid(fg_logit[i : i + 8])
                raw = alpha * fg + (1 - alpha) * b  # what the optimization itself reached
                sq_raw += float(((raw.double() - s.double()) ** 2).sum())
            alpha = least_opaque(alpha, nd, m, on)
            exact = ((s - (1 - alpha) * b) / alpha.clamp_min(1e-3)).clamp(0, 1)
            fg = torch.where(alpha > 1e-3, exact, fg)
            recon = alpha * fg + (1 - alpha) * b
            sq_recon += float(((recon.double() - s.double()) ** 2).sum())
            alpha_out[i : i + 8] = alpha[:, 0].numpy()
            rgb_out[i : i + 8] = fg.permute(0, 2, 3, 1).numpy()
    return alpha_out, rgb_out, sq_recon, sq_raw


def optimize_layer(
    solo: np.ndarray,
    background: np.ndarray,
    mask: np.ndarray,
    cfg: OmnimatteConfig | None = None,
    on_iter: Callable[[int], None] | None = None,
    others: np.ndarray | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> Layer:
    """One RGBA layer from solo (T,H,W,3) uint8, background (same) and the object's mask (T,H,W) bool;
    `others` (T,H,W) bool, the other objects' masks where the video has several (see `_elsewhere`). `on_iter` hears
    each optimization iteration, `on_frames` the frames of the rule's least alpha done so far.

    With no iterations (the default) the layer is its rule alone: the object, and the least alpha inside its
    coherent effect (`_need`), no network. With iterations, the alpha network and foreground are optimized first
    and the network's alpha also says where the layer is (`least_opaque`). Memory is bounded by a few frames, not
    the clip, wherever it can be: full-size frames are kept as uint8 (the least alpha as float16), the full-size
    stage accumulates each batch's gradient frame by frame, and the layer is assembled eight frames at a time; what
    stays clip-sized is the per-pixel foreground (with its Adam moments) and the result."""
    cfg = cfg or OmnimatteConfig()
    if solo.shape != background.shape or solo.shape[:3] != mask.shape or (others is not None and others.shape != mask.shape):
        raise GenomniError(
            f"solo {solo.shape}, background {background.shape}, mask {mask.shape} and other objects "
            f"{None if others is None else others.shape} do not match"
        )
    t, h, w = mask.shape
    started = time.perf_counter()
    elsewhere = _elsewhere(mask, others)
    s_full, b_full, m_full = _frames_u8(solo), _frames_u8(background), torch.from_numpy(np.ascontiguousarray(mask))[:, None]
    net, fg_f, losses, small, coarse_35, full_35 = None, None, [], None, None, None
    if cfg.optimizes:  # the rule alone touches no global state: decompose runs it in threads
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        scale = min(1.0, cfg.coarse_side / max(h, w))
        small = (max(8, round(h * scale)), max(8, round(w * scale)))
        net = alpha_net(cfg.channels)
        net_opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        s_small = torch.cat([_resize(_to_tensor(solo[i : i + 8]), small) for i in range(0, t, 8)])
        b_small = torch.cat([_resize(_to_tensor(background[i : i + 8]), small) for i in range(0, t, 8)])
        m_small = torch.cat([(_resize(_to_tensor(mask[i : i + 8]), small) > 0.5).float() for i in range(0, t, 8)])
        e_small = torch.cat([(_resize(_to_tensor(elsewhere[i : i + 8]), small) > 0.5).float() for i in range(0, t, 8)])
        need_small = _need(s_small, b_small, m_small, e_small) if cfg.coarse_iters else None
        fg_c, loss_c, coarse_35 = _stage(
            net, net_opt, s_small, b_small, m_small, need_small, _logit(s_small), cfg.coarse_iters, 0, cfg, gen, on_iter
        )
        fine_start = time.perf_counter() - started
    need = _need_chunked(solo, background, mask, elsewhere, on_frames=on_frames)
    if net is not None:
        fg_init = torch.empty((t, 3, h, w))  # the coarse foreground upsampled (or the solo), as logits, 8 frames at a time
        for i in range(0, t, 8):
            init = _resize(torch.sigmoid(fg_c[i : i + 8]), (h, w), "bilinear") if cfg.coarse_iters else _f32(s_full[i : i + 8])
            fg_init[i : i + 8] = _logit(init)
        net.enable_gradient_checkpointing()  # full size: recompute the U-Net's activations in the backward pass
        fg_f, loss_f, fine_35 = _stage(
            net,
            net_opt,
            s_full,
            b_full,
            m_full,
            need,
            fg_init,
            cfg.fine_iters,
            cfg.coarse_iters,
            cfg,
            gen,
            on_iter,
            one_frame_at_a_time=True,
        )
        net.disable_gradient_checkpointing()
        losses = loss_c + loss_f
        full_35 = None if fine_35 is None else fine_start + fine_35
    optimize_s = time.perf_counter() - started
    alpha_out, rgb_out, sq_recon, sq_raw = _assemble(s_full, b_full, m_full, need, net, fg_f, cfg.layer_on)
    n = t * h * w * 3
    recon = psnr_of_mse(sq_recon / n)
    stats = {
        "recon_psnr": recon,
        # the optimization's own fit, before detail transfer; the rule's colour is the exact one from the start
        "recon_psnr_before_transfer": recon if sq_raw is None else psnr_of_mse(sq_raw / n),
        "alpha_mean": float(alpha_out.mean()),
        "alpha_outside_mask": float(alpha_out[~mask].mean()) if (~mask).any() else 0.0,
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "coarse_size": None if small is None else list(small),
        "optimize_s": round(optimize_s, 3),
        # seconds until a batch of frames reconstructed the solo at TARGET_PSNR dB before transfer: at the coarse
        # size, and at full size (counted from the start of the layer); None without the optimization
        "coarse_s_to_35db": None if coarse_35 is None else round(coarse_35, 3),
        "full_size_s_to_35db": None if full_35 is None else round(full_35, 3),
        "config": asdict(cfg),
    }
    return Layer(alpha_out, rgb_out, stats)


OPAQUE = 0.98  # alpha above which a layer pixel is the object itself (the public code's transmission threshold)


def transfer_from_input(layer: Layer, video: np.ndarray, mask: np.ndarray, others: np.ndarray) -> Layer:
    """The layer's colour taken from the input video's own pixels where the layer is the object (its mask, or alpha >
    OPAQUE) and no other object is in front of it (`others`: the other objects' masks), as the public
    reimplementation transfers detail: there the input shows exactly this object, without the artefacts of the
    removal model's decoded solo video. Elsewhere (shadows, reflections) the colour stays the one that reconstructs
    the solo video. Alpha is unchanged."""
    rgb, owned = layer.rgb.astype(np.float32), 0
    for i in range(0, len(video), 8):  # eight frames at a time: a float copy of the whole clip takes gigabytes
        own = (mask[i : i + 8] | (layer.alpha[i : i + 8] > OPAQUE)) & ~others[i : i + 8]
        rgb[i : i + 8][own] = video[i : i + 8][own].astype(np.float32) / 255.0
        owned += int(own.sum())
    return Layer(layer.alpha, rgb, {**layer.stats, "input_transfer_frac": owned / mask.size})
