"""Random Casper models built from the same diffusers/transformers classes as the real bases, for
tests, the CPU demo and the CPU proof; they go through the same `save_pretrained` path.

- `tiny`, `small`: Wan-backbone toys (a Wan transformer on the latents of a small Wan VAE that
  `genomni train vae` must fit first).
- `pixel`: the pixel-space backbone (a Wan transformer on 8x8-pixel patches) sized for a 2-core CPU
  at 64 px (see PIXEL_PRESETS).
- `pixel-base`: the same architecture at 128 px with more channels, a configuration for GPUs.

Each pixel preset records in casper.json the training recipe `genomni train run` uses by default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import GenomniError
from .casper import CasperModel
from .config import CasperConfig
from .parts import vae_scales, widen_input

# name -> transformer size (layers, heads, head dim, ffn dim); all share the small Wan VAE and UMT5.
WAN_PRESETS = {"tiny": (2, 2, 12, 96), "small": (4, 4, 16, 256)}


@dataclass(frozen=True)
class PixelPreset:
    """A pixel-space Casper: a diffusers WanTransformer3DModel on space-time patches of [noisy | input |
    trimask | pre-filled input] pixels (no VAE), and the training recipe recorded with it (TrainConfig fields)."""

    patch: int  # spatial patch side in pixels (one frame per patch)
    layers: int
    heads: int
    head_dim: int
    ffn: int
    train: dict[str, Any]
    inference_steps: int = 1  # the posterior mean: the best PSNR and LPIPS of the step counts benchmarks/casper_proof.py tries


# 8x8 patches: the fastest to train per step on a CPU of the architectures benchmarks/pixel_arch.py compares (4x4
# patches, a diffusers 2D U-Net of similar size run per frame, UNet3DConditionModel).
PIXEL_PRESETS = {
    "pixel": PixelPreset(
        8,
        4,
        4,
        32,
        256,
        {
            "frames": 9,
            "height": 64,
            "width": 64,
            "batch_size": 4,
            "lr": 1e-3,
            "warmup_steps": 100,
            "steps": 5600,
            "timestep_sampling": "uniform",
            "lr_schedule": "cosine",
            "validate_every": 1000,
            "checkpoint_every": 500,
            "val_steps": 4,
        },
    ),
    "pixel-base": PixelPreset(
        8,
        12,
        8,
        64,
        2048,
        {
            "frames": 17,
            "height": 128,
            "width": 128,
            "batch_size": 8,
            "lr": 3e-4,
            "warmup_steps": 1000,
            "steps": 50000,
            "timestep_sampling": "uniform",
            "lr_schedule": "cosine",
            "mixed_precision": "bf16",
            "validate_every": 2000,
            "checkpoint_every": 2000,
            "val_steps": 4,
        },
    ),
}
PRESETS = (*WAN_PRESETS, *PIXEL_PRESETS)


def byte_tokenizer(max_length: int) -> Any:
    """A byte-level tokenizer that covers any caption with no trained vocabulary (nothing to download)."""
    from tokenizers import Tokenizer, decoders, models
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials + sorted(ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=max_length
    )


def small_text_encoder(tokenizer: Any) -> Any:
    """A random 1-layer UMT5 encoder (width 32): frozen, it still gives every caption its own embedding."""
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )


def pixel_preset(name: str, seed: int = 0) -> CasperModel:
    """A random pixel-space Casper: a Wan transformer on 1 x P x P patches of [noisy 3 | input 3 | trimask 1 |
    pre-filled input 3] pixels, output projection zeroed so it starts as the cv2-inpaint baseline; the small
    UMT5 encoder and byte tokenizer of the Wan presets."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

    p = PIXEL_PRESETS[name]
    torch.manual_seed(seed)
    tokenizer = byte_tokenizer(32)
    text_encoder = small_text_encoder(tokenizer)
    net = WanTransformer3DModel(
        patch_size=(1, p.patch, p.patch),
        num_attention_heads=p.heads,
        attention_head_dim=p.head_dim,
        in_channels=10,
        out_channels=3,
        text_dim=text_encoder.config.d_model,
        freq_dim=64,
        ffn_dim=p.ffn,
        num_layers=p.layers,
        rope_max_seq_len=256,
    )
    torch.nn.init.zeros_(net.proj_out.weight)  # the correction starts at zero: an untrained model copies its input
    torch.nn.init.zeros_(net.proj_out.bias)
    config = CasperConfig(
        backbone="pixel",
        latent_channels=3,
        mask_channels=1,
        prefill="telea",
        spatial_scale=1,
        temporal_scale=1,
        max_text_tokens=32,
        base=f"preset:{name}",
        extra={"train_defaults": dict(p.train), "inference_steps": p.inference_steps},
    )
    return CasperModel(net, None, text_encoder, tokenizer, FlowMatchEulerDiscreteScheduler(shift=1.0), config)


def preset(name: str = "tiny", seed: int = 0) -> CasperModel:
    """A random Casper for CPU work. Wan presets: Wan transformer (tiny: 2 layers of width 24, 31k parameters;
    small: 4 of width 64, 0.3M), Wan VAE (4x space, 2x time, 8 latent channels, 0.16M), UMT5 encoder (1 layer).
    Pixel presets: see `pixel_preset`."""
    if name not in PRESETS:
        raise GenomniError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if name in PIXEL_PRESETS:
        return pixel_preset(name, seed)
    layers, heads, head_dim, ffn = WAN_PRESETS[name]
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

    torch.manual_seed(seed)
    z = 8
    vae = AutoencoderKLWan(
        base_dim=8,
        z_dim=z,
        dim_mult=[1, 2, 2],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * z,
        latents_std=[1.0] * z,
    )
    tokenizer = byte_tokenizer(32)
    text_encoder = small_text_encoder(tokenizer)
    base = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=heads,
        attention_head_dim=head_dim,
        in_channels=z,
        out_channels=z,
        text_dim=32,
        freq_dim=32,
        ffn_dim=ffn,
        num_layers=layers,
        rope_max_seq_len=64,
    )
    spatial, temporal = vae_scales(vae)
    config = CasperConfig(
        latent_channels=z,
        mask_channels=temporal * spatial * spatial,
        spatial_scale=spatial,
        temporal_scale=temporal,
        max_text_tokens=32,
        base=f"preset:{name}",
    )
    transformer = widen_input(base, z + config.mask_channels)
    torch.nn.init.normal_(transformer.patch_embedding.weight, std=0.02)  # a random toy: no base to preserve
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0)
    return CasperModel(transformer, vae, text_encoder, tokenizer, scheduler, config)


def build_preset(name: str, out: str | os.PathLike, seed: int = 0) -> Path:
    """Write a preset as a Casper model dir at `out`, its weights drawn at random from `seed` (what `genomni train
    init --preset` does), and return the dir; an existing `out` is refused, never overwritten.

    Args:
        name: pixel / pixel-base (the paper's pixel-space denoiser, with their training recipes), tiny / small
            (random Wan-architecture models for tests and CPU runs).
        out: the model dir to create.
        seed: the weights' seed.

    Example:
        >>> from genomni.pipelines.casper import CasperPipeline
        >>> pipe = CasperPipeline.from_pretrained(build_preset("tiny", "models/tiny"))  # doctest: +SKIP
    """
    out = Path(out)
    if out.exists():
        raise GenomniError(f"{out} already exists; choose a new --out (nothing was changed)")
    return preset(name, seed).save_pretrained(out)
