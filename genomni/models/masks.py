"""How a trimask reaches each denoiser layout's input grid ("Mask conventions" in docs/train.md):

- genomni: pixel-unshuffled onto the latent grid (temporal*spatial^2 channels, every pixel's raw value kept);
- fun-inp: VideoX-Fun InP / Wan I2V's 4-channel "known" mask (1 - the public mask), resized trilinearly;
- cog-inp: CogVideoX-Fun InP's 1-channel "known" mask, its first frame resized on its own;
- vace: Wan-VACE's mask context, 8x8-unshuffled and resampled nearest-exact in time;
- void: Netflix VOID's quadmask condition (`void_condition`) as a 3-channel video through the VAE (`CasperModel`).

Each is checked against the released code's behaviour in tests/test_bases.py and tests/test_released_conventions.py."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GenomniError

PUBLIC_BACKGROUND = 127.0 / 255.0  # gen-omnimatte's trimask value for "may change" (remove 1, keep 0)


def _check_grid(t: int, h: int, w: int, spatial: int, temporal: int) -> None:
    if (t - 1) % temporal or h % spatial or w % spatial:
        raise GenomniError(
            f"trimask of {t} frames at {h}x{w} does not fit the VAE grid (frames must be {temporal}n+1, sides multiples of {spatial})"
        )


def _known(mask: torch.Tensor) -> torch.Tensor:
    """A trimask as the public Casper's InP models read it, 1 - m: remove 0, may-change 128/255, keep 1."""
    return torch.where((mask > 0.25) & (mask < 0.75), torch.full_like(mask, 1.0 - PUBLIC_BACKGROUND), mask)


def encode_trimask(mask: torch.Tensor, spatial: int, temporal: int) -> torch.Tensor:
    """(B,1,T,H,W) trimask in {0,0.5,1} -> (B, temporal*spatial^2, 1+(T-1)/temporal, H/s, W/s).

    The first frame has a latent frame of its own (causal VAE), so it is repeated `temporal` times.
    """
    b, _, t, h, w = mask.shape
    _check_grid(t, h, w, spatial, temporal)
    m = torch.cat([mask[:, :, :1].expand(-1, -1, temporal - 1, -1, -1), mask], dim=2)  # (B,1,T+temporal-1,H,W)
    tl = m.shape[2] // temporal
    m = m.reshape(b, tl, temporal, h, w).reshape(b * tl, temporal, h, w)
    m = F.pixel_unshuffle(m, spatial)  # (B*tl, temporal*s*s, H/s, W/s)
    return m.reshape(b, tl, temporal * spatial * spatial, h // spatial, w // spatial).permute(0, 2, 1, 3, 4)


def encode_known_mask(mask: torch.Tensor, spatial: int, temporal: int) -> torch.Tensor:
    """(B,1,T,H,W) trimask in {0,0.5,1} -> the VideoX-Fun InP mask latent (B, temporal, 1+(T-1)/temporal, H/s, W/s).

    The public Casper feeds its mask m (remove 1, may-change 127/255, keep 0) as 1 - m, so a genomni trimask maps
    value for value (0.5 -> 128/255); each latent frame stacks its `temporal` frames as channels (the first frame
    repeated) and space is resized trilinearly to the latent grid, as VideoX-Fun's `resize_mask` does.
    """
    b, _, t, h, w = mask.shape
    _check_grid(t, h, w, spatial, temporal)
    m = _known(mask)
    m = torch.cat([m[:, :, :1].expand(-1, -1, temporal - 1, -1, -1), m], dim=2)
    tl = m.shape[2] // temporal
    m = m.reshape(b, tl, temporal, h, w).transpose(1, 2)  # (B, temporal, tl, H, W)
    return F.interpolate(m, size=(tl, h // spatial, w // spatial), mode="trilinear", align_corners=False)


def encode_cog_mask(mask: torch.Tensor, spatial: int, temporal: int) -> torch.Tensor:
    """(B,1,T,H,W) trimask -> CogVideoX-Fun's 1-channel mask latent (B, 1, 1+(T-1)/temporal, H/s, W/s) (unscaled).

    As VideoX-Fun's `resize_mask`: 1 - the public mask (remove 0, may-change 128/255, keep 1), the first frame
    resized on its own and the other frames resized trilinearly onto the remaining latent frames.
    """
    return _resize_mask(_known(mask), spatial, temporal)


def void_condition(quadmask: torch.Tensor) -> torch.Tensor:
    """A quadmask as value/255 -> the condition VOID's released inference hands its model: 0 removed, 128/255 changed,
    1 keep. VOID snaps the mask to its four levels at 31/95/191, flips it (255 - q) and its pipeline snaps that to three
    at 0.25/0.75, so 63 ("removed, something moved under it") joins 0: 255 - 63 = 192 is above 0.75 * 255. Its
    trainer flips before snapping, which gives the same for the four values (the released models never see 63 apart)."""
    return torch.where(
        quadmask < 95.5 / 255,
        torch.zeros_like(quadmask),
        torch.where(quadmask < 191.5 / 255, torch.full_like(quadmask, 128 / 255), torch.ones_like(quadmask)),
    )


def encode_void_mask(mask: torch.Tensor, spatial: int, temporal: int) -> torch.Tensor:
    """(B,1,T,H,W) quadmask as value/255 -> the 1-channel mask latent VOID's trainer feeds CogVideoX-Fun without
    its VAE-encoded mask (`train_mode void` with `binarize_mask`): `void_condition`, resized as VideoX-Fun's
    `resize_mask`, then below 0.25 -> 0 (removed), up to 0.75 -> 0.5 (changed), above -> 1 (keep)."""
    m = _resize_mask(void_condition(mask), spatial, temporal)
    return torch.where(m < 0.25, torch.zeros_like(m), torch.where(m <= 0.75, torch.full_like(m, 0.5), torch.ones_like(m)))


def _resize_mask(m: torch.Tensor, spatial: int, temporal: int) -> torch.Tensor:
    """VideoX-Fun's `resize_mask` onto the latent grid: the first frame on its own, the rest trilinearly."""
    b, _, t, h, w = m.shape
    _check_grid(t, h, w, spatial, temporal)
    size = (h // spatial, w // spatial)
    first = F.interpolate(m[:, :, :1], size=(1, *size), mode="trilinear", align_corners=False)
    if t == 1:
        return first
    rest = F.interpolate(m[:, :, 1:], size=((t - 1) // temporal, *size), mode="trilinear", align_corners=False)
    return torch.cat([first, rest], dim=2)


def encode_vace_mask(mask: torch.Tensor, spatial: int, temporal: int) -> torch.Tensor:
    """(B,1,T,H,W) trimask -> Wan-VACE's mask context (B, spatial^2, (T+temporal-1)//temporal, H/s, W/s).

    VACE's mask is 1 where it generates and 0 where it keeps: remove -> 1, keep -> 0, and may-change -> 0.5, a value
    the base never saw that fine-tuning gives its meaning. Each latent cell carries its s x s pixels as channels
    and time is resampled nearest-exact to the latent frames, as diffusers' WanVACEPipeline prepares masks.
    """
    b, _, t, h, w = mask.shape
    m = (1.0 - mask)[:, 0].reshape(b * t, 1, h, w)
    m = F.pixel_unshuffle(m, spatial).reshape(b, t, spatial * spatial, h // spatial, w // spatial).transpose(1, 2)
    tl = (t + temporal - 1) // temporal
    return F.interpolate(m, size=(tl, h // spatial, w // spatial), mode="nearest-exact")
