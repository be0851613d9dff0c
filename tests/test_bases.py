"""Real backbones without the real weights: tiny checkpoints in the original Wan2.1-Fun-InP (VideoX-Fun) layout and a
tiny diffusers Wan-VACE dir go through `train init --base`, `train import --from gen-omnimatte`, `remove` and a
training step; conversions are checked key by key; the trimask's three states reach each layout's mask exactly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from genomni.errors import GenomniError
from genomni.inference.config import RemoveConfig
from genomni.inference.remove import Remover
from genomni.inference.windows import window_starts
from genomni.models.bases import import_gen_omnimatte
from genomni.models.casper import CasperModel
from genomni.models.masks import PUBLIC_BACKGROUND, encode_cog_mask, encode_known_mask, encode_vace_mask
from genomni.models.wan_original import dit_key
from genomni.models.wan_original_vae import vae_config, vae_state
from genomni.pipelines.casper import CasperPipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import run_cli  # noqa: E402
from original_layouts import open_clip_vit, wan_vae, write_cogvideox_fun_dir, write_fun_inp_folder  # noqa: E402


@pytest.fixture(scope="module")
def fun_dir(tmp_path_factory) -> Path:
    return write_fun_inp_folder(tmp_path_factory.mktemp("bases") / "Wan2.1-Fun-tiny-InP")


@pytest.fixture(scope="module")
def fun_model(fun_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("casper") / "fun"
    assert run_cli(["train", "init", "--base", str(fun_dir), "--out", str(out)]) == 0
    return out


def test_fun_inp_folder_converts_key_by_key(fun_dir, fun_model):
    m = CasperModel.from_pretrained(fun_model)
    c = m.config
    assert (c.layout, c.latent_channels, c.mask_channels, c.image_encoder, c.max_text_tokens) == ("fun-inp", 16, 4, True, 512)
    assert m.transformer.config.in_channels == 36 and m.transformer.config.image_dim == 32
    orig = load_file(fun_dir / "diffusion_pytorch_model.safetensors")
    conv = m.transformer.state_dict()
    assert len(orig) == len(conv)
    for k, v in orig.items():
        assert torch.equal(conv[dit_key(k)], v), k
    # the renames that carry meaning: cross-attention norm, image keys, head modulation
    assert torch.equal(conv["blocks.1.norm2.weight"], orig["blocks.1.norm3.weight"])
    assert torch.equal(conv["blocks.0.attn2.add_k_proj.weight"], orig["blocks.0.cross_attn.k_img.weight"])
    assert torch.equal(conv["scale_shift_table"], orig["head.modulation"])
    assert torch.equal(conv["condition_embedder.image_embedder.ff.net.2.weight"], orig["img_emb.proj.3.weight"])
    assert m.scheduler.config.shift == 5.0


def test_vae_conversion_infers_the_architecture_and_uses_every_tensor():
    state = wan_vae(dim=4, dim_mult=(1, 2, 4, 4), res=2, temporal=(False, True, True))
    cfg = vae_config(state)
    got = (cfg["base_dim"], cfg["dim_mult"], cfg["num_res_blocks"], cfg["temperal_downsample"])
    assert got == (4, [1, 2, 4, 4], 2, [False, True, True])
    from diffusers import AutoencoderKLWan

    own = AutoencoderKLWan.from_config(cfg).state_dict()
    conv = vae_state(state, cfg)
    assert set(conv) == set(own)
    assert all(conv[k].shape == own[k].shape for k in own)
    assert torch.equal(conv["decoder.up_blocks.1.upsamplers.0.time_conv.weight"], state["decoder.upsamples.7.time_conv.weight"])
    assert torch.equal(conv["decoder.up_blocks.3.resnets.2.conv2.bias"], state["decoder.upsamples.14.residual.6.bias"])


def test_clip_tokens_equal_an_independent_vit_forward(fun_dir, fun_model):
    """The converted encoder's hidden_states[-2] equals the original ViT run through all but its last block."""
    m = CasperModel.from_pretrained(fun_model)
    s = open_clip_vit()
    x = torch.rand(1, 3, 28, 28)
    h = F.conv2d(x, s["visual.patch_embedding.weight"], stride=14).flatten(2).transpose(1, 2)
    h = torch.cat([s["visual.cls_embedding"], h], 1) + s["visual.pos_embedding"]
    ln = lambda t, n: F.layer_norm(t, (32,), s[f"{n}.weight"], s[f"{n}.bias"], 1e-5)  # noqa: E731
    h = ln(h, "visual.pre_norm")
    p = "visual.transformer.0"
    q, k, v = F.linear(ln(h, f"{p}.norm1"), s[f"{p}.attn.to_qkv.weight"], s[f"{p}.attn.to_qkv.bias"]).view(1, 5, 3, 16, 2).unbind(2)
    a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2).reshape(1, 5, 32)
    h = h + F.linear(a, s[f"{p}.attn.proj.weight"], s[f"{p}.attn.proj.bias"])
    hidden = F.gelu(F.linear(ln(h, f"{p}.norm2"), s[f"{p}.mlp.0.weight"], s[f"{p}.mlp.0.bias"]))
    h = h + F.linear(hidden, s[f"{p}.mlp.2.weight"], s[f"{p}.mlp.2.bias"])
    got = m.image_encoder(pixel_values=x, output_hidden_states=True).hidden_states[-2]
    assert torch.allclose(got, h, atol=1e-5)


def test_mask_conventions_map_the_three_states_exactly():
    """remove / may-change / keep reach each layout as the layout's own code would encode them."""
    tri = torch.full((1, 1, 5, 16, 16), 0.5)
    tri[..., :8, :8] = 0.0  # remove
    tri[..., 8:, 8:] = 1.0  # keep
    tri[:, :, 1:, 0, 0] = 1.0  # one kept pixel in later frames only
    known = encode_known_mask(tri, 8, 4)
    public = torch.where(tri == 0, 1.0, torch.where(tri == 1, 0.0, PUBLIC_BACKGROUND))  # gen-omnimatte: 255 / 127 / 0
    assert known.shape == (1, 4, 2, 2, 2)
    assert torch.allclose(known[0, :, 0, 1, 1], 1 - public[0, 0, 0, 12, 12].expand(4))  # first latent frame: frame 0 x4
    assert torch.allclose(known[0, 0, 1, 1, 0], torch.tensor(128 / 255))
    assert torch.allclose(known[0, :, 1, 0, 0], torch.zeros(4))  # a latent cell of removed pixels
    assert torch.allclose(known[0, :, 1, 1, 1], torch.ones(4))  # of kept pixels
    cog = encode_cog_mask(tri, 8, 4)  # CogVideoX-Fun: one channel, frame 0 alone, frames 1-4 onto latent frame 1
    assert cog.shape == (1, 1, 2, 2, 2)
    assert torch.allclose(cog[0, 0, :, 0, 1], torch.tensor([128 / 255] * 2)) and cog[0, 0, 0, 0, 0] == 0.0
    assert cog[0, 0, 0, 1, 1] == 1.0 and cog[0, 0, 1, 1, 1] == 1.0
    vace = encode_vace_mask(tri, 8, 4)
    assert vace.shape == (1, 64, 2, 2, 2)
    assert set(vace.unique().tolist()) == {0.0, 0.5, 1.0}
    assert vace[0, 1:, 0, 0, 0].eq(1).all() and vace[0, :, 0, 1, 1].eq(0).all() and vace[0, :, 0, 1, 0].eq(0.5).all()
    # channel dy*8+dx is pixel (dy, dx) of the cell; time is sampled nearest-exact as VACE does (5 frames -> 2: frames 1, 3)
    assert vace[0, 0, 0, 0, 0] == 0.0 and vace[0, 0, 1, 0, 0] == 0.0 and vace[0, 1, 1, 0, 0] == 1.0


def remove_cli(model: Path, tmp_path: Path) -> Path:
    """`genomni remove` on a 9-frame 48x64 clip with one object, 2 sampling steps, PNG output."""
    from genomni.media import write_video

    video = np.random.default_rng(0).integers(0, 255, (9, 48, 64, 3), np.uint8)
    mask = np.zeros((9, 48, 64), np.uint8)
    mask[:, 10:30, 20:40] = 255
    write_video(tmp_path / "in.mkv", video, 8)
    write_video(tmp_path / "m", mask, 8)
    out = tmp_path / "out"
    args = [
        "remove",
        str(tmp_path / "in.mkv"),
        "--mask",
        str(tmp_path / "m"),
        "--model",
        str(model),
        "--out",
        str(out),
        "--steps",
        "2",
        "--format",
        "png",
        "--no-progress",
    ]
    assert run_cli(args) == 0
    return out


def test_removal_through_a_converted_fun_inp_model(fun_model, tmp_path):
    out = remove_cli(fun_model, tmp_path)
    frames = sorted((out / "background").glob("*.png"))
    assert len(frames) == 9
    report = json.loads((out / "remove.json").read_text())
    assert report["plan"]["size"] == [48, 64]


def test_import_released_full_finetune_and_lora(fun_dir, tmp_path, capsys):
    orig = load_file(fun_dir / "diffusion_pytorch_model.safetensors")
    tuned = {k: v + 0.5 for k, v in orig.items()}
    save_file(tuned, tmp_path / "casper.safetensors")
    out = tmp_path / "released"
    assert (
        run_cli(
            [
                "train",
                "import",
                "--from",
                "gen-omnimatte",
                "--base",
                str(fun_dir),
                "--transformer",
                str(tmp_path / "casper.safetensors"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    m = CasperModel.from_pretrained(out)
    conv = m.transformer.state_dict()
    assert all(torch.equal(conv[dit_key(k)], v) for k, v in tuned.items())
    assert m.config.extra["inference_steps"] == 50 and m.config.extra["train_clip"] == [81, 480, 832]
    remover = Remover(CasperPipeline.from_model(m), RemoveConfig())
    plan = remover.plan((200, 1080, 1920))
    assert (remover.window, remover.steps, plan.size, plan.latent_window, plan.latent_stride) == (81, 50, (464, 832), 21, 17)
    report = json.loads((remove_cli(out, tmp_path) / "remove.json").read_text())
    assert report["written"] == ["background", "solo_0"] and report["plan"]["size"] == [48, 64]

    g = torch.Generator().manual_seed(0)
    up, down = torch.randn(32, 4, generator=g), torch.randn(4, 32, generator=g)
    key = "lora_unet__blocks_1_cross_attn_k_img"  # VideoX-Fun's root-module LoRANetwork naming (what train_lora.py saves)
    lora = {f"{key}.lora_up.weight": up, f"{key}.lora_down.weight": down, f"{key}.alpha": torch.tensor(2.0)}
    save_file(lora, tmp_path / "lora.safetensors")
    out2 = tmp_path / "released-lora"
    assert (
        run_cli(
            [
                "train",
                "import",
                "--base",
                str(fun_dir),
                "--lora",
                str(tmp_path / "lora.safetensors"),
                "--lora-weight",
                "0.5",
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    w = CasperModel.from_pretrained(out2).transformer.state_dict()["blocks.1.attn2.add_k_proj.weight"]
    assert torch.allclose(w, orig["blocks.1.cross_attn.k_img.weight"] + 0.5 * (2.0 / 4) * up @ down, atol=1e-6)

    save_file({"blocks.0.nonexistent.weight": torch.zeros(2)}, tmp_path / "wrong.safetensors")
    capsys.readouterr()
    assert (
        run_cli(
            ["train", "import", "--base", str(fun_dir), "--transformer", str(tmp_path / "wrong.safetensors"), "--out", str(tmp_path / "x")]
        )
        == 1
    )
    assert "1 tensor(s) the base does not have (e.g. blocks.0.nonexistent.weight)" in capsys.readouterr().err
    save_file({"lora_unet_blocks_9_self_attn_q.lora_up.weight": up}, tmp_path / "wrong-lora.safetensors")
    assert (
        run_cli(
            ["train", "import", "--base", str(fun_dir), "--lora", str(tmp_path / "wrong-lora.safetensors"), "--out", str(tmp_path / "x")]
        )
        == 1
    )
    assert "matches no DiT module" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_missing_base_file_is_named(fun_dir, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(fun_dir, broken)
    (broken / "Wan2.1_VAE.pth").unlink()
    assert run_cli(["train", "init", "--base", str(broken), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {broken} has no *VAE*.pth (the Wan VAE); supply the Wan2.1-Fun folder as downloaded"
    (broken / "Wan2.1_VAE.pth").write_bytes(b"not a checkpoint")
    assert run_cli(["train", "init", "--base", str(broken), "--out", str(tmp_path / "x")]) == 1
    assert "Wan2.1_VAE.pth is not a readable weights file" in capsys.readouterr().err


def test_vace_base_trains_and_removes(tmp_path):
    """A diffusers Wan-VACE dir becomes a `vace` Casper whose control path carries the trimask; a training step
    reaches the VACE blocks and a removal runs."""
    import shutil

    from diffusers import AutoencoderKLWan, WanVACETransformer3DModel

    from genomni.models.presets import build_preset
    from genomni.training.trainer import flow_matching_loss

    base = build_preset("tiny", tmp_path / "vace")
    for part in ("transformer", "vae"):
        shutil.rmtree(base / part)
    torch.manual_seed(0)
    AutoencoderKLWan(
        base_dim=4, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1, temperal_downsample=[False, True, True]
    ).save_pretrained(base / "vae")
    WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=16,
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=64,
        vace_layers=[0],
        vace_in_channels=96,
    ).save_pretrained(base / "transformer")
    assert run_cli(["train", "init", "--base", str(base), "--out", str(tmp_path / "m")]) == 0
    m = CasperModel.from_pretrained(tmp_path / "m")
    assert (m.config.layout, m.config.mask_channels, m.config.in_channels) == ("vace", 64, 96)
    video = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    tri = torch.full((1, 1, 5, 32, 32), 0.5)
    tri[..., 8:24, 8:24] = 0
    cond = m.condition({"input": video, "trimask": tri})
    assert cond.shape == (1, 96, 2, 4, 4)
    assert torch.allclose(cond[:, :16], m.encode_video(video * (tri >= 0.25)))  # inactive: the removed pixels zeroed
    loss = flow_matching_loss(
        m,
        m.transformer,
        {"input": video, "target": video, "trimask": tri},
        m.encode_text(["x"]),
        torch.Generator().manual_seed(0),
        "uniform",
    )
    loss.backward()
    assert m.transformer.vace_blocks[0].proj_out.weight.grad.abs().sum() > 0
    m.transformer.zero_grad()
    frames = CasperPipeline.from_model(m)(video, tri, "a room", num_inference_steps=2, output_type="np").frames
    assert frames.shape == (1, 5, 32, 32, 3) and frames.dtype == np.uint8
    with pytest.raises(GenomniError, match="already exists"):
        from genomni.models.bases import init_from_base

        init_from_base(base, tmp_path / "m")
    with pytest.raises(GenomniError, match="apply to the base they were trained from"):
        import_gen_omnimatte(base, tmp_path / "y", transformer=tmp_path / "none.safetensors")


def test_cogvideox_fun_base_trains_removes_and_imports(tmp_path, capsys):
    """A CogVideoX-Fun-V1.5-InP dir: v-prediction backbone, 1-channel mask (scaled like a latent), odd latent frame counts
    padded for its 2-frame patches; the released CogVideoX Casper imports with its 85-frame, 384x672 settings."""
    from genomni.training.trainer import flow_matching_loss

    base = write_cogvideox_fun_dir(tmp_path / "CogVideoX-Fun-tiny-InP")
    assert run_cli(["train", "init", "--base", str(base), "--out", str(tmp_path / "m")]) == 0
    m = CasperModel.from_pretrained(tmp_path / "m")
    assert (m.config.backbone, m.config.layout, m.config.in_channels, m.config.frame_multiple) == ("cogvideox", "cog-inp", 33, 4)
    video = torch.rand(1, 3, 9, 64, 64) * 2 - 1
    tri = torch.full((1, 1, 9, 64, 64), 0.5)
    tri[..., 16:48, 16:48] = 0
    cond = m.condition({"input": video, "trimask": tri})
    assert cond.shape == (1, 17, 3, 8, 8)
    assert torch.allclose(cond[:, :1], 0.7 * encode_cog_mask(tri, 8, 4))  # the mask channel, scaled by the VAE's factor
    frames = CasperPipeline.from_model(m)(video, tri, "a room", num_inference_steps=2, output_type="np").frames
    assert frames.shape == (1, 9, 64, 64, 3)
    loss = flow_matching_loss(
        m,
        m.transformer,
        {"input": video, "target": video, "trimask": tri},
        m.encode_text(["x"]),
        torch.Generator().manual_seed(0),
        "uniform",
    )
    loss.backward()
    assert m.transformer.patch_embed.proj.weight.grad.abs().sum() > 0

    tuned = {k: v + 0.25 for k, v in load_file(base / "transformer/diffusion_pytorch_model.safetensors").items()}
    save_file(tuned, tmp_path / "casper-cog.safetensors")
    out = tmp_path / "released"
    assert (
        run_cli(["train", "import", "--base", str(base), "--transformer", str(tmp_path / "casper-cog.safetensors"), "--out", str(out)]) == 0
    )
    r = CasperModel.from_pretrained(out)
    assert all(torch.equal(r.transformer.state_dict()[k], v) for k, v in tuned.items())
    assert (r.config.extra["train_clip"], r.config.extra["inference_stride"]) == ([85, 384, 672], 72)
    # the public inference on a 197-frame clip: its sample_size exactly (stretched; this tiny model's grid is
    # 128 px), windows of 22 latents overlapping by 4 (temporal_multidiffusion_stride 16 frames): 3 over 50 latents
    plan = Remover(CasperPipeline.from_model(r), RemoveConfig(size="128x64")).plan((197, 384, 640))
    assert (plan.size, plan.latent_frames, plan.latent_window, plan.latent_stride) == ((64, 128), 50, 22, 18)
    assert len(window_starts(plan.latent_frames, plan.latent_window, plan.latent_stride)) == 3
    assert type(r.scheduler).__name__ == "DDIMScheduler" and r.scheduler.config.prediction_type == "v_prediction"
    report = json.loads((remove_cli(out, tmp_path) / "remove.json").read_text())
    assert report["written"] == ["background", "solo_0"] and len(list((tmp_path / "out/background").glob("*.png"))) == 9
    capsys.readouterr()
    assert (
        run_cli(["train", "import", "--base", str(base), "--lora", str(tmp_path / "casper-cog.safetensors"), "--out", str(tmp_path / "x")])
        == 1
    )
    assert "full fine-tune: give --transformer" in capsys.readouterr().err


def test_every_gpu_config_loads_as_a_train_config():
    """The configs in configs/ are valid TrainConfig files (a typo'd key or a wrong type fails here, not on a GPU)."""
    from genomni.configfile import build
    from genomni.training.config import TrainConfig

    root = Path(__file__).parent.parent / "configs"
    loaded = {f.name: build(TrainConfig, f, {}) for f in sorted(root.glob("*.yaml"))}
    assert {"wan1.3b_fun_inp_full.yaml", "cogvideox5b_fun_inp_full.yaml"} <= set(loaded)
    cog = loaded["cogvideox5b_fun_inp_full.yaml"]
    assert (cog.frames, cog.height, cog.width) == (85, 384, 672) and (1 + (cog.frames - 1) // 4) % 2 == 0
    assert all((c.frames - 1) % 4 == 0 and c.height % 16 == 0 and c.width % 16 == 0 for c in loaded.values())
