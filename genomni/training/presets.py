"""Tiny random Casper models, built from the same diffusers/transformers classes as the real base,
for tests and the CPU demo. They go through the same widening and `save_pretrained` path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import GenomniError
from .model import CasperConfig, CasperModel, vae_scales, widen_input

# name -> transformer size (layers, heads, head dim, ffn dim); all share the small Wan VAE and UMT5.
PRESETS = {"tiny": (2, 2, 12, 96), "small": (4, 4, 16, 256)}


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
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=max_length)


def preset(name: str = "tiny", seed: int = 0) -> CasperModel:
    """A random Casper for CPU work: Wan transformer (tiny: 2 layers of width 24, 31k parameters; small: 4 of
    width 64, 0.3M), Wan VAE (4x space, 2x time, 8 latent channels, 0.16M), UMT5 encoder (1 layer)."""
    if name not in PRESETS:
        raise GenomniError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    layers, heads, head_dim, ffn = PRESETS[name]
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    z = 8
    vae = AutoencoderKLWan(base_dim=8, z_dim=z, dim_mult=[1, 2, 2], num_res_blocks=1, temperal_downsample=[False, True],
                           latents_mean=[0.0] * z, latents_std=[1.0] * z)
    tokenizer = byte_tokenizer(32)
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=1,
                                               num_heads=4, relative_attention_num_buckets=8, pad_token_id=0,
                                               eos_token_id=1, decoder_start_token_id=0))
    base = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=heads, attention_head_dim=head_dim, in_channels=z,
                                 out_channels=z, text_dim=32, freq_dim=32, ffn_dim=ffn, num_layers=layers, rope_max_seq_len=64)
    spatial, temporal = vae_scales(vae)
    config = CasperConfig(latent_channels=z, mask_channels=temporal * spatial * spatial, spatial_scale=spatial,
                          temporal_scale=temporal, max_text_tokens=32, base=f"preset:{name}")
    transformer = widen_input(base, z + config.mask_channels)
    torch.nn.init.normal_(transformer.patch_embedding.weight, std=0.02)  # a random toy: no base to preserve
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0)
    return CasperModel(transformer, vae, text_encoder, tokenizer, scheduler, config)


def build_preset(name: str, out: str | os.PathLike, seed: int = 0) -> Path:
    """Write preset `name` as a Casper model dir at `out` (refusing to overwrite)."""
    out = Path(out)
    if out.exists():
        raise GenomniError(f"{out} already exists; choose a new --out (nothing was changed)")
    return preset(name, seed).save_pretrained(out)
