"""The Wan2.1 VAE in its original layout (`Wan2.1_VAE.pth`) read into diffusers' AutoencoderKLWan: the architecture
inferred from the tensor shapes, the original block names mapped onto diffusers', and the per-channel latent
statistics the original code defines (they are properties of the trained weights, not stored in the file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from accelerate import init_empty_weights

from ..errors import GenomniError
from .wan_original import fill_weights, read_weights

# The Wan2.1 VAE's per-channel latent statistics (z_dim 16), as the original VAE code defines them: they are
# properties of the trained weights, not stored in Wan2.1_VAE.pth.
WAN_LATENTS_MEAN = [
    -0.7571,
    -0.7089,
    -0.9113,
    0.1075,
    -0.1745,
    0.9653,
    -0.1517,
    1.5508,
    0.4134,
    -0.0715,
    0.5517,
    -0.3632,
    -0.1922,
    -0.9497,
    0.2503,
    -0.2921,
]


WAN_LATENTS_STD = [
    2.8184,
    1.4541,
    2.3275,
    2.6558,
    1.2196,
    1.7708,
    2.6052,
    2.0743,
    3.2687,
    2.1526,
    2.8652,
    1.5579,
    1.6382,
    1.1253,
    2.8251,
    1.9160,
]


# --- the VAE ----------------------------------------------------------------------------------------------------
_RESIDUAL = {
    "residual.0.gamma": "norm1.gamma",
    "residual.2.weight": "conv1.weight",
    "residual.2.bias": "conv1.bias",
    "residual.3.gamma": "norm2.gamma",
    "residual.6.weight": "conv2.weight",
    "residual.6.bias": "conv2.bias",
    "shortcut.weight": "conv_shortcut.weight",
    "shortcut.bias": "conv_shortcut.bias",
}


def _vae_part(rest: str) -> str:
    """residual/attention/resample sub-names -> diffusers names (attention and resample keep theirs)."""
    return _RESIDUAL.get(rest, rest)


def _blocks(state: dict[str, torch.Tensor], prefix: str) -> dict[int, dict[str, torch.Tensor]]:
    out: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in state.items():
        if m := re.match(re.escape(prefix) + r"(\d+)\.(.+)$", k):
            out.setdefault(int(m.group(1)), {})[m.group(2)] = v
    return dict(sorted(out.items()))


def _kind(parts: dict[str, torch.Tensor]) -> str:
    if "residual.0.gamma" in parts:
        return "res"
    return "resample" if "resample.1.weight" in parts else "attn" if "to_qkv.weight" in parts else "?"


def vae_config(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The diffusers AutoencoderKLWan config of an original Wan2.1_VAE.pth, from its shapes."""
    try:
        base = state["encoder.conv1.weight"].shape[0]
        z = state["conv2.weight"].shape[0]
    except KeyError as exc:
        raise GenomniError(f"not a Wan2.1 VAE checkpoint (no {exc}); supply Wan2.1_VAE.pth") from exc
    down = _blocks(state, "encoder.downsamples.")
    kinds = [_kind(p) for p in down.values()]
    if "attn" in kinds or "?" in kinds:
        raise GenomniError("Wan VAE with attention or unknown blocks in its encoder levels is not supported")
    levels: list[list[dict[str, torch.Tensor]]] = [[]]
    temporal: list[bool] = []
    for parts, kind in zip(down.values(), kinds):
        if kind == "resample":
            temporal.append("time_conv.weight" in parts)
            levels.append([])
        else:
            levels[-1].append(parts)
    mult = [lvl[-1]["residual.6.weight"].shape[0] // base for lvl in levels]
    if z != len(WAN_LATENTS_MEAN):
        raise GenomniError(f"Wan VAE with {z} latent channels: only the Wan2.1 VAE (16) has known latent statistics")
    return {
        "base_dim": base,
        "z_dim": z,
        "dim_mult": mult,
        "num_res_blocks": len(levels[0]),
        "attn_scales": [],
        "temperal_downsample": temporal,
        "latents_mean": WAN_LATENTS_MEAN,
        "latents_std": WAN_LATENTS_STD,
    }


def vae_state(state: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Rename an original Wan VAE state dict to diffusers AutoencoderKLWan names."""
    out: dict[str, torch.Tensor] = {}
    n_levels, per_level = len(config["dim_mult"]), config["num_res_blocks"] + 1
    for k, v in state.items():
        if k.startswith("conv1."):
            out["quant_conv." + k[6:]] = v
        elif k.startswith("conv2."):
            out["post_quant_conv." + k[6:]] = v
        elif m := re.match(r"(encoder|decoder)\.conv1\.(.+)$", k):
            out[f"{m.group(1)}.conv_in.{m.group(2)}"] = v
        elif m := re.match(r"(encoder|decoder)\.head\.(\d)\.(.+)$", k):
            out[f"{m.group(1)}.{'norm_out' if m.group(2) == '0' else 'conv_out'}.{m.group(3)}"] = v
        elif m := re.match(r"(encoder|decoder)\.middle\.(\d)\.(.+)$", k):
            i = int(m.group(2))
            sub = f"attentions.0.{m.group(3)}" if i == 1 else f"resnets.{i // 2}.{_vae_part(m.group(3))}"
            out[f"{m.group(1)}.mid_block.{sub}"] = v
        elif m := re.match(r"encoder\.downsamples\.(\d+)\.(.+)$", k):
            out[f"encoder.down_blocks.{m.group(1)}.{_vae_part(m.group(2))}"] = v
        elif m := re.match(r"decoder\.upsamples\.(\d+)\.(.+)$", k):
            flat, level = int(m.group(1)), 0
            while level < n_levels and flat >= per_level + (level < n_levels - 1):
                flat -= per_level + (level < n_levels - 1)
                level += 1
            sub = f"resnets.{flat}.{_vae_part(m.group(2))}" if flat < per_level else f"upsamplers.0.{m.group(2)}"
            out[f"decoder.up_blocks.{level}.{sub}"] = v
        else:
            out[k] = v  # left as is: fill_weights names it as unused
    return out


def load_vae(path: Path) -> Any:
    """A diffusers AutoencoderKLWan from an original Wan2.1_VAE.pth."""
    from diffusers import AutoencoderKLWan

    state = read_weights(path)
    config = vae_config(state)
    with init_empty_weights():
        model = AutoencoderKLWan.from_config(config)
    return fill_weights(model, vae_state(state, config), f"{path} (Wan VAE)").float()
