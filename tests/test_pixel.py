"""The pixel-space Casper backbone: model dir round trip, copy-the-input start, training, resume, removal."""

import json

import numpy as np
import pytest
import torch
from conftest import run_cli, square_clip
from safetensors.torch import load_file

from genomni.errors import GenomniError
from genomni.footage import dilate
from genomni.models.casper import CasperModel
from genomni.models.presets import PIXEL_PRESETS, build_preset
from genomni.pipelines.casper import CasperPipeline
from genomni.training.config import TrainConfig, load_config
from genomni.training.trainer import train

WEIGHTS = "transformer/diffusion_pytorch_model.safetensors"


@pytest.fixture(scope="module")
def pixel_dir(tmp_path_factory):
    return build_preset("pixel", tmp_path_factory.mktemp("models") / "pixel")


def _cfg(model, data, out, **kw):
    base = dict(
        model=str(model),
        data=[str(data)],
        val=[str(data)],
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
        timestep_sampling="uniform",
    )
    base.update(kw)
    return TrainConfig(**base)


def test_pixel_model_dir_round_trip_and_copy_start(pixel_dir, tmp_path):
    m = CasperModel.from_pretrained(pixel_dir)
    record = json.loads((pixel_dir / "casper.json").read_text())
    assert record["backbone"] == "pixel" and record["extra"]["train_defaults"] == PIXEL_PRESETS["pixel"].train
    assert m.vae is None and not (pixel_dir / "vae").exists() and m.config.frame_multiple == 1
    assert m.size_multiple == 8 and m.transformer.config.in_channels == 10 and m.config.prefill == "telea"
    x = torch.randint(0, 256, (1, 3, 5, 32, 32)).float() / 127.5 - 1.0
    trimask = torch.full((1, 1, 5, 32, 32), 0.5)
    trimask[..., 10:16, 12:20] = 0.0  # an object to remove
    cond = m.condition({"input": x, "trimask": trimask})
    noisy, sigma, text = torch.randn(1, 3, 5, 32, 32), torch.tensor([0.4]), m.encode_text(["a red cube"])
    # Untrained: the clean-video prediction is the cv2-inpaint baseline (Telea on the removed pixels grown by
    # 2 px), the input everywhere else; the velocity follows from it.
    from genomni.baselines import inpaint_telea

    frames = ((x[0] + 1) * 127.5).round().byte().permute(1, 2, 3, 0).numpy()
    holes = dilate((trimask[0, 0] == 0).numpy(), 2)
    expected = torch.from_numpy(inpaint_telea(frames, holes)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0
    pred = m.predict(noisy, cond, sigma, text)
    assert torch.allclose(pred, expected, atol=1e-6)
    outside = torch.from_numpy(~holes)[None, None].expand_as(x)
    assert torch.allclose(pred[outside], x[outside], atol=1e-6)
    assert (pred - x).abs()[~outside].mean() > 0.05  # the hole really was filled
    assert torch.allclose(m.denoise(noisy, cond, sigma, text), (noisy - pred) / 0.4, atol=1e-5)
    torch.nn.init.normal_(m.transformer.proj_out.weight, std=0.1)
    again = CasperModel.from_pretrained(m.save_pretrained(tmp_path / "copy"))
    assert torch.equal(m.predict(noisy, cond, sigma, text), again.predict(noisy, cond, sigma, text))
    assert not torch.allclose(again.predict(noisy, cond, sigma, text), pred)


def test_pixel_training_changes_weights_and_resumes_bit_exactly(pixel_dir, kubric_dir, tmp_path):
    train(_cfg(pixel_dir, kubric_dir, tmp_path / "a"), progress=False)
    train(_cfg(pixel_dir, kubric_dir, tmp_path / "b", steps=2), progress=False)
    summary = train(_cfg(pixel_dir, kubric_dir, tmp_path / "b", resume="latest"), progress=False)
    assert summary.start_step == 2 and summary.step == 4
    a, b, start = (load_file(p / WEIGHTS) for p in (tmp_path / "a/model", tmp_path / "b/model", pixel_dir))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["proj_out.weight"], start["proj_out.weight"])
    log = [json.loads(line) for line in (tmp_path / "a/train_log.jsonl").read_text().splitlines()]
    base = next(r for r in log if r.get("event") == "baselines")
    assert "vae-ceiling/psnr" not in base and "copy-input/psnr_region" in base
    val = [r for r in log if r.get("event") == "validation"][-1]
    assert "val/psnr" in val and "val/psnr_vs_vae_target" not in val


def _tree(root):
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_a_run_dir_is_never_overwritten_and_a_resumed_log_has_each_step_once(pixel_dir, kubric_dir, tmp_path, capsys):
    run = tmp_path / "run"
    train(_cfg(pixel_dir, kubric_dir, run, validate_every=2), progress=False)
    before = _tree(run)
    args = [
        "train",
        "run",
        "--model",
        str(pixel_dir),
        "--data",
        str(kubric_dir),
        "--out",
        str(run),
        "--steps",
        "4",
        "--frames",
        "5",
        "--resolution",
        "32",
        "--no-progress",
    ]
    assert run_cli(args) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: {run} already holds a training run (train_config.json, train_log.jsonl, checkpoints, model); "
        f"pass --resume latest to continue it or choose a new --out (nothing was changed)"
    )
    assert _tree(run) == before
    # a kill after step 4's validation and log lines, before its checkpoint: resume from step 2 writes 3 and 4 again
    import shutil

    shutil.rmtree(run / "checkpoints" / "step-00000004")
    (run / "checkpoints" / ".step-00000004.tmp").mkdir()  # the half-written checkpoint a kill leaves
    with open(run / "train_log.jsonl", "a") as fh:
        fh.write('{"step": 4, "loss": 0.')  # and a line cut short
    train(_cfg(pixel_dir, kubric_dir, run, validate_every=2, resume="latest"), progress=False)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    keys = [(r["step"], r.get("event", "loss")) for r in log]
    assert len(keys) == len(set(keys)) and ("validation" in {e for s, e in keys if s == 4})
    assert [s for s, e in keys if e == "loss"] == [1, 2, 3, 4]
    assert not (run / "checkpoints" / ".step-00000004.tmp").exists()


def test_train_run_takes_the_models_recorded_recipe(pixel_dir, tmp_path):
    cfg = load_config(None, {"model": str(pixel_dir), "data": ["d"], "out": str(tmp_path / "o")})
    recipe = PIXEL_PRESETS["pixel"].train
    assert (cfg.frames, cfg.height, cfg.width, cfg.batch_size, cfg.lr) == (
        recipe["frames"],
        recipe["height"],
        recipe["width"],
        recipe["batch_size"],
        recipe["lr"],
    )
    assert cfg.timestep_sampling == "uniform" and cfg.steps == recipe["steps"]
    cfg = load_config(None, {"model": str(pixel_dir), "data": ["d"], "out": "o", "lr": 0.5, "frames": 7})
    assert (cfg.lr, cfg.frames, cfg.height) == (0.5, 7, recipe["height"])  # the CLI still wins


def test_untrained_pixel_removal_is_the_inpainting_baseline_at_the_input_size(pixel_dir, tmp_path):
    from genomni.footage import Footage
    from genomni.inference.remove import RemoveConfig, Remover

    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (6, 40, 72, 3), dtype=np.uint8)
    masks = np.zeros((1, 6, 40, 72), bool)
    masks[0, :, 10:20, 20:30] = True
    footage = Footage(video=video, masks=masks, names=["ball"], fps=24.0)
    remover = Remover(CasperPipeline.from_pretrained(pixel_dir), RemoveConfig())
    plan = remover.plan(footage.shape)
    assert plan.size == (32, 64) and plan.steps == 1 and plan.latent_window == 6  # 64 px long side, 8 | side
    out = remover.run(footage, ["background"])["background"]
    assert out.shape == video.shape
    far = ~dilate(masks[0], 8)  # away from the object and its enlarged fill: the input's own pixels
    assert np.abs(out.astype(int) - video)[far].max() <= 1  # the zero correction adds nothing; rounding only
    assert np.abs(out.astype(int) - video)[masks[0]].mean() > 20  # the object was filled


def test_pixel_preset_errors_are_one_line(pixel_dir, kubric_dir, tmp_path, capsys):
    assert run_cli(["train", "init", "--preset", "pixels", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: unknown preset 'pixels'; choose one of tiny, small, pixel, pixel-base"
    assert run_cli(["--debug", "train", "init", "--preset", "pixels", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.rstrip().endswith("choose one of tiny, small, pixel, pixel-base")
    args = [
        "train",
        "run",
        "--model",
        str(pixel_dir),
        "--data",
        str(kubric_dir),
        "--out",
        str(tmp_path / "r"),
        "--resolution",
        "30",
        "--frames",
        "5",
        "--workers",
        "0",
        "--no-progress",
    ]
    assert run_cli(args) == 1
    assert "sides multiples of 8" in capsys.readouterr().err
    args = [*args[:8], "--resolution", "32", "--frames", "9", "--workers", "0", "--no-progress"]
    assert run_cli(args) == 1  # the tiny dataset has 5-frame clips
    assert "fewer than the 9 frames a clip needs" in capsys.readouterr().err
    assert run_cli(["train", "vae", "--model", str(pixel_dir), "--data", str(kubric_dir), "--no-progress"]) == 1
    assert "pixel model: it has no VAE to fit" in capsys.readouterr().err
    with pytest.raises(GenomniError, match="unknown preset"):
        build_preset("huge", tmp_path / "h")


def test_a_model_with_nan_weights_stops_removal_and_training_in_one_line(pixel_dir, kubric_dir, tmp_path, capsys):
    """Non-finite weights give black frames or NaN weights downstream with exit 0 unless caught: removal refuses the
    non-finite output and training the non-finite loss, each in one line, writing no output."""

    m = CasperModel.from_pretrained(pixel_dir)
    with torch.no_grad():
        for p in m.transformer.parameters():
            p.fill_(float("nan"))
    bad = m.save_pretrained(tmp_path / "nan-model")
    video, mask = square_clip(tmp_path, 5, 32, 32)
    capsys.readouterr()
    assert run_cli(["remove", str(video), "--mask", str(mask), "--model", str(bad), "--out", str(tmp_path / "r"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "background: the model produced values that are not finite" in err and err.count("\n") == 1
    assert not (tmp_path / "r" / "background.mp4").exists()
    assert (
        run_cli(
            [
                "train",
                "run",
                "--model",
                str(bad),
                "--data",
                str(kubric_dir),
                "--out",
                str(tmp_path / "t"),
                "--resolution",
                "32",
                "--frames",
                "5",
                "--steps",
                "3",
                "--workers",
                "0",
                "--no-progress",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "step 1: the loss is nan" in err and err.count("\n") == 1
    assert not (tmp_path / "t" / "model").exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("spatial_scale", 0, "spatial_scale must be an integer >= 1, got 0"),
        ("extra", {"inference_steps": 0}, "extra.inference_steps must be an integer >= 1, got 0"),
        ("extra", {"train_clip": "nine"}, "extra.train_clip must be [frames, height, width]"),
        ("backbone", "lumiere", "backbone must be one of wan, pixel, cogvideox"),
    ],
)
def test_a_damaged_casper_json_is_one_line_before_any_work(field, value, message, pixel_dir, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(pixel_dir, bad)
    record = json.loads((bad / "casper.json").read_text())
    record[field] = value
    (bad / "casper.json").write_text(json.dumps(record))
    video, mask = square_clip(tmp_path, 5, 16, 16)
    assert run_cli(["remove", str(video), "--mask", str(mask), "--model", str(bad), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "casper.json: " + message in err and err.count("\n") == 1 and not (tmp_path / "r").exists()
