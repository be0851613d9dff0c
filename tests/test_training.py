import json

import pytest
import torch
from conftest import run_cli
from safetensors.torch import load_file

from genomni.errors import GenomniError
from genomni.models.bases import init_from_base
from genomni.models.casper import CasperModel
from genomni.models.masks import encode_trimask
from genomni.models.parts import widen_input
from genomni.models.presets import build_preset
from genomni.training.trainer import TrainConfig, Trainer, flow_matching_loss, train


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_preset("tiny", tmp_path_factory.mktemp("models") / "tiny")


def _cfg(tiny_dir, kubric_dir, out, **kw):
    base = dict(
        model=str(tiny_dir),
        data=[str(kubric_dir)],
        val=[str(kubric_dir)],
        out=str(out),
        frames=5,
        height=32,
        width=32,
        batch_size=1,
        steps=4,
        lr=1e-3,
        warmup_steps=0,
        checkpoint_every=2,
        validate_every=100,
        val_samples=1,
        val_steps=2,
        log_every=1,
        workers=0,
        seed=3,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_trimask_encoding_keeps_every_pixel_and_state():
    m = torch.tensor([0.0, 0.5, 1.0])[torch.randint(0, 3, (2, 1, 9, 16, 24))]
    enc = encode_trimask(m, spatial=8, temporal=4)
    assert enc.shape == (2, 4 * 64, 3, 2, 3)
    # Undo: latent frame 0 holds frame 0 four times, latent frame k holds frames 4k-3..4k.
    back = torch.pixel_shuffle(enc.permute(0, 2, 1, 3, 4).reshape(6, 256, 2, 3), 8).reshape(2, 3, 4, 16, 24)
    frames = back.reshape(2, 12, 16, 24)[:, 3:]
    assert torch.equal(frames, m[:, 0])
    assert torch.equal(back[:, 0], m[:, 0, :1].expand(-1, 4, -1, -1))
    with pytest.raises(GenomniError, match="frames must be 4n\\+1"):
        encode_trimask(m[:, :, :8], 8, 4)


def test_widened_transformer_reproduces_its_base():
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    base = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=4,
        out_channels=4,
        text_dim=16,
        freq_dim=32,
        ffn_dim=32,
        num_layers=1,
        rope_max_seq_len=32,
    )
    wide = widen_input(base, 12)
    assert wide.config.in_channels == 16 and (wide.patch_embedding.weight[:, 4:] == 0).all()
    x, text, t = torch.randn(2, 4, 3, 8, 8), torch.randn(2, 5, 16), torch.tensor([900.0, 100.0])
    ref = base(x, t, text).sample
    assert torch.equal(wide(torch.cat([x, torch.zeros(2, 12, 3, 8, 8)], 1), t, text).sample, ref)
    assert torch.allclose(wide(torch.cat([x, torch.randn(2, 12, 3, 8, 8)], 1), t, text).sample, ref, atol=1e-6)


def test_save_load_gives_identical_outputs(tiny_dir, tmp_path):
    m = CasperModel.from_pretrained(tiny_dir)
    x = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    batch = {"input": x, "trimask": torch.full((1, 1, 5, 32, 32), 0.5)}
    noisy = torch.randn(1, 8, 3, 8, 8)

    def run(model):
        return model.denoise(noisy, model.condition(batch), torch.tensor([0.3]), model.encode_text(["a red cube"]))

    again = CasperModel.from_pretrained(m.save_pretrained(tmp_path / "copy"))
    assert torch.equal(run(m), run(again))
    assert torch.equal(again.encode_video(x), m.encode_video(x))


def test_a_tiny_model_lowers_its_loss_on_a_fixed_batch(tiny_dir, kubric_dir):
    from genomni.datasets.clips import ClipConfig
    from genomni.datasets.index import ShardIndex
    from genomni.datasets.loader import ClipDataset, collate

    m = CasperModel.from_pretrained(tiny_dir)
    ds = ClipDataset(ShardIndex([kubric_dir]), ClipConfig(frames=5, height=32, width=32), seed=0)
    batch = collate([ds[(0, 0)], ds[(0, 1)]])
    text = m.encode_text(batch["caption"])
    opt = torch.optim.AdamW(m.transformer.parameters(), lr=3e-3)

    def loss():
        return flow_matching_loss(m, m.transformer, batch, text, torch.Generator().manual_seed(0))

    with torch.no_grad():
        first = loss().item()
    for _ in range(30):
        opt.zero_grad()
        loss().backward()
        opt.step()
    with torch.no_grad():
        assert loss().item() < 0.7 * first


def test_resume_matches_an_uninterrupted_run(tiny_dir, kubric_dir, tmp_path):
    train(_cfg(tiny_dir, kubric_dir, tmp_path / "a", ema_decay=0.9), progress=False)
    train(_cfg(tiny_dir, kubric_dir, tmp_path / "b", ema_decay=0.9, steps=2), progress=False)
    summary = train(_cfg(tiny_dir, kubric_dir, tmp_path / "b", ema_decay=0.9, resume="latest"), progress=False)
    assert summary.start_step == 2 and summary.step == 4
    a = load_file(tmp_path / "a/model/transformer/diffusion_pytorch_model.safetensors")
    b = load_file(tmp_path / "b/model/transformer/diffusion_pytorch_model.safetensors")
    start = load_file(tiny_dir / "transformer/diffusion_pytorch_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["patch_embedding.weight"], start["patch_embedding.weight"])
    log = [json.loads(line) for line in (tmp_path / "a/train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4]
    base = next(r for r in log if r.get("event") == "baselines")
    val = [r for r in log if r.get("event") == "validation"]
    assert val[-1]["step"] == 4 and "val/psnr" in val[-1] and "val/psnr_region" in val[-1]
    assert base["copy-input/psnr"] > 0 and (tmp_path / "a/validation/step-00000004").is_dir()


def test_resume_with_another_config_is_refused_and_keeps_checkpoints(tiny_dir, kubric_dir, tmp_path):
    train(_cfg(tiny_dir, kubric_dir, tmp_path / "r", steps=2, val=[]), progress=False)
    before = sorted(p.name for p in (tmp_path / "r/checkpoints").iterdir())
    with pytest.raises(GenomniError, match="different configuration \\(lr: 0.001 != 0.01\\)"):
        train(_cfg(tiny_dir, kubric_dir, tmp_path / "r", lr=1e-2, val=[], resume="latest"), progress=False)
    assert sorted(p.name for p in (tmp_path / "r/checkpoints").iterdir()) == before == ["step-00000002"]


def test_lora_training_exports_a_plain_casper_model(tiny_dir, kubric_dir, tmp_path):
    trainer = Trainer(_cfg(tiny_dir, kubric_dir, tmp_path / "l", steps=2, lora_rank=4, val=[]))
    full = sum(p.numel() for p in trainer.model.transformer.parameters())
    assert trainer.n_trainable < full
    trainer.run(progress=False)
    out = CasperModel.from_pretrained(tmp_path / "l/model")
    keys = set(load_file(tmp_path / "l/model/transformer/diffusion_pytorch_model.safetensors"))
    assert not any("lora" in k for k in keys) and out.transformer.config.in_channels == 8 + 8 + 32


def test_bad_model_dirs_fail_in_one_line(tmp_path, capsys):
    with pytest.raises(GenomniError, match="is not a Casper model dir \\(no casper.json\\)"):
        CasperModel.from_pretrained(tmp_path)
    base = tmp_path / "base"
    for part in ("transformer", "vae", "text_encoder", "tokenizer", "scheduler"):
        (base / part).mkdir(parents=True)
    (base / "transformer/config.json").write_text('{"_class_name": "UNet2DConditionModel"}')
    with pytest.raises(GenomniError, match="holds UNet2DConditionModel, not WanTransformer3DModel"):
        init_from_base(base, tmp_path / "out")
    (base / "transformer/config.json").write_text('{"_class_name": "CogVideoXTransformer3DModel"}')
    with pytest.raises(GenomniError, match="vae holds no diffusers config, not AutoencoderKLCogVideoX"):
        init_from_base(base, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert run_cli(["train", "init", "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.strip() == "error: give exactly one of --base DIR or --preset NAME"


def test_init_from_a_diffusers_base_dir(tiny_dir, tmp_path):
    """A Wan-layout base (here: the tiny model's parts with an unwidened transformer) becomes a Casper dir."""
    import shutil

    from diffusers import WanTransformer3DModel

    base = tmp_path / "wan"
    shutil.copytree(tiny_dir, base)
    shutil.rmtree(base / "transformer")
    torch.manual_seed(1)
    t = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=8,
        out_channels=8,
        text_dim=32,
        freq_dim=32,
        ffn_dim=32,
        num_layers=1,
        rope_max_seq_len=32,
    )
    t.save_pretrained(base / "transformer")
    assert run_cli(["train", "init", "--base", str(base), "--out", str(tmp_path / "casper")]) == 0
    m = CasperModel.from_pretrained(tmp_path / "casper")
    assert m.config.mask_channels == 2 * 4 * 4 and m.transformer.config.in_channels == 48
    w = m.transformer.patch_embedding.weight
    assert torch.equal(w[:, :8], t.patch_embedding.weight) and (w[:, 8:] == 0).all()


def test_train_cli_end_to_end(tiny_dir, kubric_dir, tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        "run",
        "--model",
        str(tiny_dir),
        "--data",
        str(kubric_dir),
        "--out",
        str(out),
        "--frames",
        "5",
        "--resolution",
        "32",
        "--steps",
        "2",
        "--batch-size",
        "1",
        "--workers",
        "0",
        "--no-progress",
    ]
    assert run_cli(args) == 0
    assert (out / "model/casper.json").is_file() and (out / "checkpoints/step-00000002").is_dir()
    assert run_cli([*args[:-1], "--frames", "7", "--no-progress"]) == 1  # Wan's VAE takes 4n+1 frames


def test_vae_fit_improves_reconstruction_and_sets_latent_statistics(kubric_dir, tmp_path, capsys):
    model = build_preset("tiny", tmp_path / "m")
    args = [
        "train",
        "vae",
        "--model",
        str(model),
        "--data",
        str(kubric_dir),
        "--steps",
        "25",
        "--batch-size",
        "2",
        "--frames",
        "5",
        "--resolution",
        "32",
        "--lr",
        "3e-3",
        "--no-progress",
    ]
    assert run_cli(args) == 0
    fitted = CasperModel.from_pretrained(model)
    record = fitted.config.extra["vae_fit"]
    assert record["steps"] == 25 and record["psnr_after"] > record["psnr_before"] + 1.0
    assert f"{record['psnr_before']:.2f} -> {record['psnr_after']:.2f} dB" in capsys.readouterr().out
    std = torch.tensor(fitted.vae.config.latents_std)
    assert not torch.equal(std, torch.ones(8))
    # The stored statistics normalise the data's latents: mean ~0, std ~1 per channel.
    from genomni.datasets.clips import ClipConfig
    from genomni.datasets.index import ShardIndex
    from genomni.datasets.loader import ClipDataset, collate

    ds = ClipDataset(ShardIndex([kubric_dir]), ClipConfig(5, 32, 32), seed=0)
    z = torch.cat([fitted.encode_video(collate([ds[(10**9 + k, j)] for j in range(4)])["target"]) for k in range(1, 5)])
    assert z.mean(dim=(0, 2, 3, 4)).abs().max() < 1e-3 and (z.std(dim=(0, 2, 3, 4)) - 1).abs().max() < 1e-3


def test_training_reads_a_hugging_face_copy_of_the_shards(tiny_dir, kubric_dir, tmp_path):
    from genomni.shards import load_hf

    load_hf(kubric_dir).save_to_disk(str(tmp_path / "hf"))
    summary = train(
        _cfg(tiny_dir, kubric_dir, tmp_path / "run", data=[str(tmp_path / "hf")], hf_data=True, val=[], steps=2), progress=False
    )
    assert summary.step == 2
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(r["loss"] > 0 for r in log)


def test_two_process_ddp_training_on_cpu_checkpoints_and_resumes(tiny_dir, kubric_dir, tmp_path):
    """torchrun with 2 CPU processes (gloo): one log, one RNG file per rank, resume continues the run."""
    import subprocess
    import sys
    from pathlib import Path

    torchrun = Path(sys.executable).with_name("torchrun")
    out = tmp_path / "ddp"
    cmd = [
        str(torchrun),
        "--nproc_per_node",
        "2",
        "-m",
        "genomni.cli",
        "train",
        "run",
        "--model",
        str(tiny_dir),
        "--data",
        str(kubric_dir),
        "--out",
        str(out),
        "--frames",
        "5",
        "--resolution",
        "32",
        "--batch-size",
        "1",
        "--checkpoint-every",
        "2",
        "--workers",
        "0",
        "--no-progress",
    ]
    first = subprocess.run([*cmd, "--steps", "2"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.count("trained to step 2") == 1 and "on 2 process(es)" in first.stdout
    ckpt = out / "checkpoints/step-00000002"
    assert (ckpt / "random_states_0.pkl").is_file() and (ckpt / "random_states_1.pkl").is_file()
    second = subprocess.run([*cmd, "--steps", "4", "--resume", "latest"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads((out / "checkpoints/step-00000004/trainer_state.json").read_text())["step"] == 4
