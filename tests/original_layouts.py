"""Tiny random checkpoints in the *original* Wan / VideoX-Fun layouts, written from the original module definitions
(Wan2.1's DiT, Wan2.1 VAE, umT5 encoder and open-clip ViT as VideoX-Fun vendors them): parameter names and shapes
follow those constructors, independently of genomni's converters, and files are saved as the original code saves
them (a root config.json + diffusion_pytorch_model.safetensors for the DiT; torch.save state dicts for the rest).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from genomni.models.presets import byte_tokenizer


class Rand:
    def __init__(self, seed: int) -> None:
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, *shape: int, scale: float = 0.05) -> torch.Tensor:
        return torch.randn(shape, generator=self.g) * scale

    def ones(self, *shape: int) -> torch.Tensor:
        return 1.0 + self(*shape, scale=0.02)


def wan_dit(dim=32, heads=2, in_dim=36, out_dim=16, ffn=64, layers=2, text_dim=16, freq_dim=16, img_dim=32, seed=0):
    """Wan2.1 DiT (WanModel): patch_embedding Conv3d, text/time embeddings, blocks of self_attn/norm3/cross_attn
    (k_img/v_img/norm_k_img for i2v)/ffn/modulation, head, img_emb MLPProj. Returns (config.json dict, state)."""
    r, s = Rand(seed), {}
    lin = lambda name, o, i: s.update({f"{name}.weight": r(o, i), f"{name}.bias": r(o)})  # noqa: E731
    s["patch_embedding.weight"], s["patch_embedding.bias"] = r(dim, in_dim, 1, 2, 2), r(dim)
    lin("text_embedding.0", dim, text_dim)
    lin("text_embedding.2", dim, dim)
    lin("time_embedding.0", dim, freq_dim)
    lin("time_embedding.2", dim, dim)
    lin("time_projection.1", 6 * dim, dim)
    for b in range(layers):
        p = f"blocks.{b}"
        for attn in ("self_attn", "cross_attn"):
            for x in "qkvo":
                lin(f"{p}.{attn}.{x}", dim, dim)
            s[f"{p}.{attn}.norm_q.weight"], s[f"{p}.{attn}.norm_k.weight"] = r.ones(dim), r.ones(dim)
        if img_dim:
            lin(f"{p}.cross_attn.k_img", dim, dim)
            lin(f"{p}.cross_attn.v_img", dim, dim)
            s[f"{p}.cross_attn.norm_k_img.weight"] = r.ones(dim)
        s[f"{p}.norm3.weight"], s[f"{p}.norm3.bias"] = r.ones(dim), r(dim)
        lin(f"{p}.ffn.0", ffn, dim)
        lin(f"{p}.ffn.2", dim, ffn)
        s[f"{p}.modulation"] = r(1, 6, dim)
    lin("head.head", out_dim * 4, dim)
    s["head.modulation"] = r(1, 2, dim)
    if img_dim:
        s["img_emb.proj.0.weight"], s["img_emb.proj.0.bias"] = r.ones(img_dim), r(img_dim)
        lin("img_emb.proj.1", img_dim, img_dim)
        lin("img_emb.proj.3", dim, img_dim)
        s["img_emb.proj.4.weight"], s["img_emb.proj.4.bias"] = r.ones(dim), r(dim)
    config = {
        "_class_name": "WanModel",
        "_diffusers_version": "0.30.0",
        "dim": dim,
        "eps": 1e-06,
        "ffn_dim": ffn,
        "freq_dim": freq_dim,
        "in_dim": in_dim,
        "model_type": "i2v" if img_dim else "t2v",
        "num_heads": heads,
        "num_layers": layers,
        "out_dim": out_dim,
        "text_len": 512,
    }
    return config, s


def wan_vae(dim=4, z=16, dim_mult=(1, 2, 2, 2), res=1, temporal=(False, True, True), seed=1):
    """Wan2.1 VAE (AutoencoderKLWan_): Encoder3d conv1/downsamples/middle/head, conv1, conv2, Decoder3d."""
    r, s = Rand(seed), {}

    def conv(name, o, i, *k):
        s[f"{name}.weight"], s[f"{name}.bias"] = r(o, i, *k), r(o)

    def resblock(name, i, o):
        s[f"{name}.residual.0.gamma"] = r.ones(i, 1, 1, 1)
        conv(f"{name}.residual.2", o, i, 3, 3, 3)
        s[f"{name}.residual.3.gamma"] = r.ones(o, 1, 1, 1)
        conv(f"{name}.residual.6", o, o, 3, 3, 3)
        if i != o:
            conv(f"{name}.shortcut", o, i, 1, 1, 1)

    def attn(name, d):
        s[f"{name}.norm.gamma"] = r.ones(d, 1, 1)
        conv(f"{name}.to_qkv", 3 * d, d, 1, 1)
        conv(f"{name}.proj", d, d, 1, 1)

    def middle(p, d):
        resblock(f"{p}.middle.0", d, d)
        attn(f"{p}.middle.1", d)
        resblock(f"{p}.middle.2", d, d)

    dims = [dim * u for u in (1, *dim_mult)]
    conv("encoder.conv1", dims[0], 3, 3, 3, 3)
    k = 0
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        for _ in range(res):
            resblock(f"encoder.downsamples.{k}", a, b)
            a, k = b, k + 1
        if i != len(dim_mult) - 1:
            conv(f"encoder.downsamples.{k}.resample.1", b, b, 3, 3)
            if temporal[i]:
                conv(f"encoder.downsamples.{k}.time_conv", b, b, 3, 1, 1)
            k += 1
    middle("encoder", dims[-1])
    s["encoder.head.0.gamma"] = r.ones(dims[-1], 1, 1, 1)
    conv("encoder.head.2", 2 * z, dims[-1], 3, 3, 3)
    conv("conv1", 2 * z, 2 * z, 1, 1, 1)
    conv("conv2", z, z, 1, 1, 1)
    up = [dim * u for u in (dim_mult[-1], *dim_mult[::-1])]
    conv("decoder.conv1", up[0], z, 3, 3, 3)
    middle("decoder", up[0])
    k, temporal_up = 0, temporal[::-1]
    for i, (a, b) in enumerate(zip(up[:-1], up[1:])):
        if i in (1, 2, 3):
            a = a // 2
        for _ in range(res + 1):
            resblock(f"decoder.upsamples.{k}", a, b)
            a, k = b, k + 1
        if i != len(dim_mult) - 1:
            conv(f"decoder.upsamples.{k}.resample.1", b // 2, b, 3, 3)
            if temporal_up[i]:
                conv(f"decoder.upsamples.{k}.time_conv", 2 * b, b, 3, 1, 1)
            k += 1
    s["decoder.head.0.gamma"] = r.ones(up[-1], 1, 1, 1)
    conv("decoder.head.2", 3, up[-1], 3, 3, 3)
    return s


def wan_t5(vocab: int, dim=16, dim_attn=16, ffn=32, heads=2, layers=1, buckets=32, seed=2):
    """Wan's umT5 encoder (T5Encoder): token_embedding, blocks of norm1/attn q,k,v,o/norm2/ffn gate,fc1,fc2 and a
    per-layer pos_embedding, final norm; no biases."""
    r = Rand(seed)
    s = {"token_embedding.weight": r(vocab, dim, scale=1.0)}
    for b in range(layers):
        p = f"blocks.{b}"
        s[f"{p}.norm1.weight"], s[f"{p}.norm2.weight"] = r.ones(dim), r.ones(dim)
        for x in "qkv":
            s[f"{p}.attn.{x}.weight"] = r(dim_attn, dim, scale=0.3)
        s[f"{p}.attn.o.weight"] = r(dim, dim_attn, scale=0.3)
        s[f"{p}.ffn.gate.0.weight"], s[f"{p}.ffn.fc1.weight"] = r(ffn, dim, scale=0.3), r(ffn, dim, scale=0.3)
        s[f"{p}.ffn.fc2.weight"] = r(dim, ffn, scale=0.3)
        s[f"{p}.pos_embedding.embedding.weight"] = r(buckets, heads, scale=0.3)
    s["norm.weight"] = r.ones(dim)
    return s


def open_clip_vit(dim=32, layers=2, patch=14, image=28, out_dim=8, seed=3):
    """Wan's XLMRobertaCLIP checkpoint: the visual tower (patch_embedding without bias, cls/pos embeddings, pre_norm,
    blocks of norm1/attn.to_qkv/attn.proj/norm2/mlp.0/mlp.2, post_norm, head) and a stub of the text tower."""
    r, s = Rand(seed), {}
    n = (image // patch) ** 2 + 1
    s["visual.patch_embedding.weight"] = r(dim, 3, patch, patch)
    s["visual.cls_embedding"], s["visual.pos_embedding"] = r(1, 1, dim), r(1, n, dim)
    s["visual.pre_norm.weight"], s["visual.pre_norm.bias"] = r.ones(dim), r(dim)
    for b in range(layers):
        p = f"visual.transformer.{b}"
        for ln in ("norm1", "norm2"):
            s[f"{p}.{ln}.weight"], s[f"{p}.{ln}.bias"] = r.ones(dim), r(dim)
        s[f"{p}.attn.to_qkv.weight"], s[f"{p}.attn.to_qkv.bias"] = r(3 * dim, dim), r(3 * dim)
        s[f"{p}.attn.proj.weight"], s[f"{p}.attn.proj.bias"] = r(dim, dim), r(dim)
        s[f"{p}.mlp.0.weight"], s[f"{p}.mlp.0.bias"] = r(4 * dim, dim), r(4 * dim)
        s[f"{p}.mlp.2.weight"], s[f"{p}.mlp.2.bias"] = r(dim, 4 * dim), r(dim)
    s["visual.post_norm.weight"], s["visual.post_norm.bias"] = r.ones(dim), r(dim)
    s["visual.head"] = r(dim, out_dim)
    s["textual.token_embedding.weight"], s["log_scale"] = r(10, 8), torch.tensor(4.6)
    return s


def write_fun_inp_folder(root: Path, seed: int = 0) -> Path:
    """A tiny Wan2.1-Fun-InP folder laid out as alibaba-pai publishes it (VideoX-Fun "civitai" format)."""
    root.mkdir(parents=True)
    tok = byte_tokenizer(32)
    tok.save_pretrained(root / "google" / "umt5-xxl")
    config, dit = wan_dit(seed=seed)
    (root / "config.json").write_text(json.dumps(config))
    save_file(dit, root / "diffusion_pytorch_model.safetensors")
    torch.save(wan_vae(), root / "Wan2.1_VAE.pth")
    torch.save(wan_t5(len(tok)), root / "models_t5_umt5-xxl-enc-bf16.pth")
    torch.save(open_clip_vit(), root / "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth")
    return root


def write_cogvideox_fun_dir(root: Path, seed: int = 0) -> Path:
    """A tiny CogVideoX-Fun-V1.5-InP dir as alibaba-pai publishes it (diffusers layout: the VideoX-Fun transformer
    keeps diffusers' CogVideoXTransformer3DModel names, with 16 + 1 + 16 input channels and 2-frame patches)."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    tok = byte_tokenizer(32)
    tok.save_pretrained(root / "tokenizer")
    T5EncoderModel(
        T5Config(
            vocab_size=len(tok),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    ).save_pretrained(root / "text_encoder")
    AutoencoderKLCogVideoX(
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        latent_channels=16,
        layers_per_block=1,
        norm_num_groups=4,
        temporal_compression_ratio=4,
        scaling_factor=0.7,
    ).save_pretrained(root / "vae")
    CogVideoXTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=33,
        out_channels=16,
        time_embed_dim=16,
        text_embed_dim=32,
        num_layers=1,
        patch_size=2,
        patch_size_t=2,
        sample_width=16,
        sample_height=16,
        sample_frames=9,
        use_rotary_positional_embeddings=True,
        max_text_seq_length=32,
    ).save_pretrained(root / "transformer")
    CogVideoXDDIMScheduler(
        prediction_type="v_prediction",
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        clip_sample=False,
        set_alpha_to_one=True,
        snr_shift_scale=1.0,
    ).save_pretrained(root / "scheduler")
    return root
