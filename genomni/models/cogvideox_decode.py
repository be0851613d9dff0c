"""CogVideoX latents decoded as VideoX-Fun decodes them, the code the released CogVideoX Casper ran with.

VideoX-Fun's `AutoencoderKLCogVideoX._decode` (auto split off, its default) decodes latent 0 alone (spatial upsampling
only: one frame), then chunks of two latents with temporal upsampling (eight frames each), a trailing lone latent
upsampled in time as well (four frames), carrying the causal convolutions' caches from chunk to chunk. So latent j > 0
lands on frames 4j-3..4j and n latents give 4(n-1)+1 frames. diffusers' `AutoencoderKLCogVideoX` chunks from the
start (three latents first when n is odd, else pairs), which for an even n gives 4n frames with latent j on frames
4j..4j+3, and different per-chunk normalisation statistics for any n. The modules are diffusers'; only the chunking
and the lone latent's temporal upsampling are hand-written, because diffusers offers neither.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
import torch.nn.functional as F


def _upsample_in_time(module: Any, x: torch.Tensor) -> torch.Tensor:
    """A temporal `CogVideoXUpsample3D` on a lone latent frame, as VideoX-Fun does it past latent 0: nearest
    upsampling of time and space together (one frame becomes two), then the module's own 2D convolution."""
    x = F.interpolate(x, scale_factor=2.0)
    b, c, t, h, w = x.shape
    x = module.conv(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
    return x.reshape(b, t, *x.shape[1:]).permute(0, 2, 1, 3, 4)


@contextmanager
def _lone_latents_upsampled_in_time(decoder: Any) -> Iterator[None]:
    """While active, the decoder's temporal upsamplers turn one frame into two instead of upsampling it in space only."""
    from diffusers.models.upsampling import CogVideoXUpsample3D

    ups = [m for m in decoder.modules() if isinstance(m, CogVideoXUpsample3D) and m.compress_time]
    originals = [m.forward for m in ups]
    for m, forward in zip(ups, originals):
        m.forward = lambda x, m=m, forward=forward: _upsample_in_time(m, x) if x.shape[2] == 1 else forward(x)
    try:
        yield
    finally:
        for m in ups:
            del m.forward  # the instance attribute goes; the class's forward is back


def videox_chunks(latent_frames: int) -> list[tuple[int, int]]:
    """(start, end) latent ranges VideoX-Fun decodes one after another: [0,1), then pairs."""
    return [(0, 1)] + [(s, min(s + 2, latent_frames)) for s in range(1, latent_frames, 2)]


@torch.no_grad()
def decode_videox(vae: Any, z: torch.Tensor) -> torch.Tensor:
    """Unscaled latents (B,C,n,h,w) -> frames (B,3,4(n-1)+1,8h,8w) in [-1,1]-ish, decoded chunk by chunk as
    VideoX-Fun does (see the module docstring)."""
    hook = getattr(vae, "_hf_hook", None)  # model CPU offload: bring the VAE to the GPU, as diffusers' decode does
    if hook is not None and hasattr(hook, "pre_forward"):
        hook.pre_forward(vae)
    cache, frames = None, []
    for start, end in videox_chunks(z.shape[2]):
        chunk = z[:, :, start:end]
        if vae.post_quant_conv is not None:
            chunk = vae.post_quant_conv(chunk)
        if start > 0 and end - start == 1:
            with _lone_latents_upsampled_in_time(vae.decoder):
                out, cache = vae.decoder(chunk, conv_cache=cache)
        else:
            out, cache = vae.decoder(chunk, conv_cache=cache)
        frames.append(out)
    return torch.cat(frames, dim=2)
