"""`train import --from void`: Netflix VOID's pass-1 checkpoint (a full fine-tune of CogVideoX-Fun-V1.5-5b-InP whose
patch embedding takes 48 channels: noisy latent, the VAE latent of its quadmask condition, the input latent) on a tiny
CogVideoX-Fun dir. The mask path is checked against VOID's own code as read in Netflix/void-model:
`videox_fun/utils/utils.py` `get_video_mask_input` (use_quadmask), `videox_fun/pipeline/pipeline_cogvideox_fun_inpaint.py`
(use_trimask=True, use_vae_mask: `prepare_mask_latents` on 1 - mask) and, for training, `videox_fun/data/
dataset_image_video.py` ('video_mask_tuple': 255 - mask, then snapped) with `scripts/cogvideox_fun/train.py`
(requantized, 1 - mask, VAE-encoded). The steps below are written from that reading, not from genomni's code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from genomni.models.casper import CasperModel
from genomni.models.masks import encode_void_mask, void_condition

sys.path.insert(0, str(Path(__file__).parent))
from conftest import run_cli  # noqa: E402
from original_layouts import write_cogvideox_fun_dir  # noqa: E402


def void_inference_condition(q: np.ndarray) -> np.ndarray:
    """uint8 quadmask -> what VOID's pipeline passes to its VAE as the mask video (one channel of three)."""
    m = q.astype(np.float64)
    m = np.where(m <= 31, 0, m)
    m = np.where((m > 31) & (m <= 95), 63, m)
    m = np.where((m > 95) & (m <= 191), 127, m)
    m = np.where(m > 191, 255, m)
    m = (255 - m) / 255.0  # get_video_mask_input: input_mask = 255 - input_mask, then / 255
    m = np.where(m > 0.75, 1.0, m)  # the pipeline's use_trimask snapping
    m = np.where((m <= 0.75) & (m >= 0.25), 127.0 / 255.0, m)
    m = np.where(m < 0.25, 0.0, m)
    return 1.0 - m  # prepare_mask_latents(1 - mask_condition_tile, ...)


def void_training_condition(q: np.ndarray) -> np.ndarray:
    """uint8 quadmask -> what VOID's trainer VAE-encodes (use_quadmask, use_vae_mask)."""
    m = 255 - q.astype(np.float64)  # the dataset flips first ("will be flipped again when feeding to model")
    m = np.where(m <= 31, 0, m)
    m = np.where((m > 31) & (m <= 95), 63, m)
    m = np.where((m > 95) & (m <= 191), 127, m)
    m = np.where(m > 191, 255, m) / 255.0
    return 1.0 - m  # train.py: mask = 1 - mask, then mask.repeat(1, 1, 3, 1, 1) into the VAE


def test_the_quadmask_condition_is_voids_for_every_mask_value():
    q = np.arange(256, dtype=np.uint8)
    got = void_condition(torch.from_numpy(q.astype(np.float32) / 255.0)).double().numpy()
    assert np.allclose(got, void_inference_condition(q), atol=1e-6)
    four = np.array([0, 63, 127, 255], np.uint8)
    assert np.allclose(void_training_condition(four), void_inference_condition(four))
    # 63 lands with the removed pixels in VOID's released code: the model cannot tell them apart
    assert np.allclose(void_inference_condition(four), [0.0, 0.0, 128 / 255, 1.0])


def write_void_checkpoint(base: Path, path: Path, channels: int, seed: int = 5, drop: str = "") -> dict[str, torch.Tensor]:
    """A tiny stand-in for void_pass1.safetensors: the base's transformer config with `channels` input channels
    (VOID's `use_vae_mask` widens it to 48 = 3 x 16), random weights, diffusers key names as VOID saves them."""
    from diffusers import CogVideoXTransformer3DModel

    cfg = json.loads((base / "transformer/config.json").read_text())
    cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}
    torch.manual_seed(seed)
    state = CogVideoXTransformer3DModel(**{**cfg, "in_channels": channels}).state_dict()
    state = {k: v.contiguous() for k, v in state.items() if k != drop}
    save_file(state, path)
    return state


@pytest.fixture(scope="module")
def cog_base(tmp_path_factory):
    return write_cogvideox_fun_dir(tmp_path_factory.mktemp("bases") / "CogVideoX-Fun-tiny-InP")


def test_voids_pass_one_imports_with_its_quadmask_through_the_vae(cog_base, tmp_path):
    state = write_void_checkpoint(cog_base, tmp_path / "void_pass1.safetensors", 48)
    out = tmp_path / "void"
    args = ["train", "import", "--from", "void", "--base", str(cog_base), "--transformer", str(tmp_path / "void_pass1.safetensors")]
    assert run_cli([*args, "--out", str(out)]) == 0
    m = CasperModel.from_pretrained(out)
    assert (m.config.layout, m.config.in_channels, m.config.mask_channels, m.wants_quadmask) == ("void", 48, 16, True)
    assert all(torch.equal(m.transformer.state_dict()[k], v) for k, v in state.items())
    assert (m.config.extra["train_clip"], m.config.extra["inference_stride"], m.config.extra["inference_steps"]) == ([85, 384, 672], 72, 50)
    assert type(m.scheduler).__name__ == "DDIMScheduler" and m.scheduler.config.prediction_type == "v_prediction"

    q = np.full((9, 64, 64), 255, np.uint8)
    q[:, 8:24, 8:24] = 0
    q[:, 8:24, 24:32] = 63
    q[:, 32:56, 8:40] = 127
    video = torch.rand(1, 3, 9, 64, 64) * 2 - 1
    quad = torch.from_numpy(q.astype(np.float32) / 255.0)[None, None]
    cond = m.conditioning(m.encode_input(video), quad, video)
    assert cond.shape == (1, 32, 3, 8, 8)
    vae = m.vae
    pixels = torch.from_numpy(void_inference_condition(q)).float()[None, None].expand(-1, 3, -1, -1, -1)
    with torch.no_grad():
        want = vae.encode(pixels).latent_dist.mode() * vae.config.scaling_factor  # prepare_mask_latents: mode() x scaling
    assert torch.allclose(cond[:, :16], want, atol=1e-5)
    noise = torch.randn(video.shape, generator=torch.Generator().manual_seed(0)) * 0.0563  # VideoX-Fun's noise_aug_strength
    assert torch.equal(cond[:, 16:], m.encode_video(video + noise))  # the input latent with its reference noise


def test_void_imports_run_remove_on_a_void_folder_and_train_on_quadmasks(cog_base, kubric_dir, tmp_path, capsys):
    from genomni.media import encode_lossless_mp4, write_video

    write_void_checkpoint(cog_base, tmp_path / "void_pass1.safetensors", 48)
    out = tmp_path / "void"
    args = ["train", "import", "--from", "void", "--base", str(cog_base), "--transformer", str(tmp_path / "void_pass1.safetensors")]
    assert run_cli([*args, "--out", str(out)]) == 0
    folder = tmp_path / "clip"  # VOID's inference folder: input_video.mp4, quadmask_0.mp4, prompt.json
    folder.mkdir()
    q = np.full((9, 48, 64), 255, np.uint8)
    q[:, 10:30, 20:40] = 0
    q[:, 30:44, 20:40] = 127
    (folder / "quadmask_0.mp4").write_bytes(encode_lossless_mp4(q, 12.0))
    write_video(folder / "input_video.mp4", np.random.default_rng(0).integers(0, 255, (9, 48, 64, 3), np.uint8), 12.0)
    (folder / "prompt.json").write_text(json.dumps({"bg": "a table"}))
    rm = ["remove", str(folder), "--model", str(out), "--steps", "2", "--size", "64x48", "--format", "png", "--no-progress"]
    assert run_cli([*rm, "--out", str(tmp_path / "removed")]) == 0
    record = json.loads((tmp_path / "removed/remove.json").read_text())
    assert "quadmask_sha256" in record["identity"] and len(list((tmp_path / "removed/background").glob("*.png"))) == 9

    train = ["train", "run", "--model", str(out), "--data", str(kubric_dir), "--frames", "5", "--resolution", "32"]
    train += ["--steps", "1", "--batch-size", "1", "--workers", "0", "--no-progress", "--out", str(tmp_path / "t")]
    capsys.readouterr()
    assert run_cli(train) == 1
    assert "conditioned on quadmasks" in capsys.readouterr().err
    assert run_cli([*train, "--mask", "quadmask"]) == 0


def test_a_void_checkpoint_with_a_binarized_mask_imports_as_cogvideox_fun_on_quadmasks(cog_base, tmp_path):
    write_void_checkpoint(cog_base, tmp_path / "void_bin.safetensors", 33)
    out = tmp_path / "bin"
    assert (
        run_cli(
            [
                "train",
                "import",
                "--from",
                "void",
                "--base",
                str(cog_base),
                "--transformer",
                str(tmp_path / "void_bin.safetensors"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    m = CasperModel.from_pretrained(out)
    assert (m.config.layout, m.config.in_channels, m.wants_quadmask) == ("cog-inp", 33, True)
    q = torch.full((1, 1, 9, 64, 64), 1.0)
    q[..., 16:48, 16:48] = 127 / 255
    cond = m.conditioning(m.encode_input(torch.zeros(1, 3, 9, 64, 64)), q, torch.zeros(1, 3, 9, 64, 64))
    assert torch.allclose(cond[:, :1], m.vae.config.scaling_factor * encode_void_mask(q, 8, 4))


@pytest.mark.parametrize(
    "case, message",
    [
        ("lora", "VOID's pass 1 is a full fine-tune"),
        ("no-patch", "no patch_embed.proj.weight: it is not a VOID transformer checkpoint"),
        ("40-channels", "its patch embedding takes 40 channels; VOID's pass 1 takes 48"),
        ("no-transformer", "give --transformer void_pass1.safetensors"),
        ("wrong-from", "--from casper: give gen-omnimatte or void"),
    ],
)
def test_bad_void_imports_are_one_line_and_write_nothing(cog_base, tmp_path, capsys, case, message):
    ckpt = tmp_path / "void_pass1.safetensors"
    write_void_checkpoint(cog_base, ckpt, 40 if case == "40-channels" else 48, drop="patch_embed.proj.weight" if case == "no-patch" else "")
    args = [
        "train",
        "import",
        "--from",
        "casper" if case == "wrong-from" else "void",
        "--base",
        str(cog_base),
        "--out",
        str(tmp_path / "m"),
    ]
    if case == "lora":
        args += ["--lora", str(ckpt)]
    elif case != "no-transformer":
        args += ["--transformer", str(ckpt)]
    capsys.readouterr()
    assert run_cli(args) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and not (tmp_path / "m").exists()
