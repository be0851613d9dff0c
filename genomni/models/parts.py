"""The parts of a model dir in diffusers/transformers `save_pretrained` layout: loading each by the class its
config names, a scheduler's flow shift, a VAE's compression, widening a Wan transformer's input layer, and
CogVideoX's rotary embedding for a latent grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..errors import GenomniError


def vae_scales(vae: Any) -> tuple[int, int]:
    """(spatial, temporal) compression of an AutoencoderKLWan or AutoencoderKLCogVideoX, from its architecture."""
    c = vae.config
    if "temporal_compression_ratio" in c:
        return 2 ** (len(c.block_out_channels) - 1), int(c.temporal_compression_ratio)
    return 2 ** (len(c.dim_mult) - 1), 2 ** sum(bool(x) for x in c.temperal_downsample)


def cogvideox_rope(transformer: Any, frames: int, height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """CogVideoX's 3D rotary embedding for a latent grid (frames, height, width), as its pipelines build it
    (1.5 with 2-frame patches: the "slice" grid over the model's sample size)."""
    from diffusers.models.embeddings import get_3d_rotary_pos_embed
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid

    c = transformer.config
    p, pt = c.patch_size, c.patch_size_t
    gh, gw = height // p, width // p
    bh, bw = c.sample_height // p, c.sample_width // p
    if pt is None:
        crops = get_resize_crop_region_for_grid((gh, gw), bw, bh)
        cos, sin = get_3d_rotary_pos_embed(c.attention_head_dim, crops, (gh, gw), temporal_size=frames)
    else:
        cos, sin = get_3d_rotary_pos_embed(
            c.attention_head_dim, None, (gh, gw), temporal_size=(frames + pt - 1) // pt, grid_type="slice", max_size=(bh, bw)
        )
    return cos.to(device), sin.to(device)


def widen_input(transformer: Any, extra: int) -> Any:
    """A copy of a Wan transformer with `extra` zero-initialised input channels appended."""
    from diffusers import WanTransformer3DModel

    cfg = dict(transformer.config)
    old = cfg["in_channels"]
    cfg["in_channels"] = old + extra
    wide = WanTransformer3DModel.from_config(cfg)
    if transformer.dtype != torch.float32:
        wide = wide.to(transformer.dtype)
    state = transformer.state_dict()
    w = state["patch_embedding.weight"]
    pad = torch.zeros(w.shape[0], extra, *w.shape[2:], dtype=w.dtype)
    state["patch_embedding.weight"] = torch.cat([w, pad], dim=1)
    wide.load_state_dict(state)
    return wide


def check_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise GenomniError(f"{what} {path} does not exist; supply a directory in diffusers save_pretrained layout")


def class_name(folder: Path) -> str | None:
    for name in ("config.json", "scheduler_config.json"):
        f = folder / name
        if f.is_file():
            return json.loads(f.read_text()).get("_class_name")
    return None


def load_text_encoder(path: Path, dtype: torch.dtype = torch.float32) -> Any:
    """The encoder class named in config.json `architectures` (AutoModel would pick UMT5's encoder-decoder)."""
    import transformers

    arch = (json.loads((path / "config.json").read_text()).get("architectures") or ["AutoModel"])[0]
    cls = getattr(transformers, arch, None)
    if cls is None:
        raise GenomniError(f"{path}: unknown text encoder architecture {arch!r}")
    return cls.from_pretrained(path, torch_dtype=dtype)


def load_image_encoder(path: Path, dtype: torch.dtype = torch.float32) -> Any:
    """The CLIP vision tower of an image-conditioned base (transformers CLIPVisionModel, or the vision part of a
    CLIPVisionModelWithProjection as diffusers' Wan I2V dirs hold it)."""
    from transformers import CLIPVisionModel

    return CLIPVisionModel.from_pretrained(path, torch_dtype=dtype)


def load_scheduler(path: Path) -> Any:
    """The flow-matching scheduler named in scheduler_config.json (Wan ships UniPC with flow sigmas)."""
    import diffusers

    name = class_name(path)
    cls = getattr(diffusers, name or "", None)
    if cls is None:
        raise GenomniError(f"{path}: unknown scheduler class {name!r}")
    return cls.from_pretrained(path)


def flow_shift(scheduler: Any) -> float:
    """The timestep shift of a flow-matching scheduler config (Wan: 3.0 at 480p)."""
    cfg = scheduler.config
    return float(cfg.get("flow_shift") or cfg.get("shift") or 1.0)


def load_diffusers_model(path: Path, dtype: torch.dtype = torch.float32) -> Any:
    """The diffusers model class named in the folder's config.json (WanTransformer3DModel, AutoencoderKLWan, ...)."""
    import diffusers

    name = class_name(path)
    cls = getattr(diffusers, name or "", None)
    if cls is None:
        raise GenomniError(f"{path}: unknown denoiser class {name!r}")
    return cls.from_pretrained(path, torch_dtype=dtype)
