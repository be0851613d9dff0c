"""Quadmask conditioning (`train run --mask quadmask`): the model sees VOID's value/255 in its mask channel, the
choice is recorded in the exported model, remove feeds it the footage's quadmask, and a quadmask given to a
trimask model is one line."""

import json

import numpy as np
import pytest
import torch
from conftest import run_cli

from genomni import quadmask as qm
from genomni.errors import GenomniError
from genomni.media import write_video
from genomni.models.casper import CasperModel
from genomni.models.presets import build_preset
from genomni.pipelines.casper import CasperPipeline


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_preset("tiny", tmp_path_factory.mktemp("models") / "tiny")


def test_a_quadmask_pixel_model_sees_voids_values_in_its_mask_channel(tmp_path):
    model = CasperModel.from_pretrained(build_preset("pixel", tmp_path / "pixel"))
    model.config.extra["mask"] = "quadmask"
    removed = torch.zeros(1, 1, 3, 16, 16, dtype=torch.bool)
    removed[..., 4:8, 4:8] = True
    changed = torch.zeros_like(removed)
    changed[..., 6:12, 6:12] = True
    quad = torch.from_numpy(qm.compose(removed[0, 0].numpy(), changed[0, 0].numpy()))[None, None]
    video = torch.zeros(1, 3, 3, 16, 16)
    batch = {"input": video, "trimask": torch.where(removed, 0.0, 0.5), "quadmask": quad.float() / 255.0}
    cond = model.condition(batch)
    # VOID feeds its mask as value/255 (remove 0, overlap 63/255, changed 127/255, keep 1); the pixel backbone's
    # one mask channel holds it rescaled to [-1, 1], as it holds a trimask
    assert torch.equal(cond[:, 3:4], quad.float() / 255.0 * 2 - 1)
    assert sorted(torch.unique(cond[:, 3:4]).tolist()) == pytest.approx([-1.0, 63 / 255 * 2 - 1, 127 / 255 * 2 - 1, 1.0])
    with pytest.raises(GenomniError, match="trained with quadmasks"):
        model.condition({"input": video, "trimask": batch["trimask"]})


def test_a_quadmask_pixel_models_start_is_filled_where_objects_are_removed_only(tmp_path):
    """The pixel preset corrects a classical fill of the removed pixels. Told by a quadmask that a region changes (a
    held box that falls), its start there stays the input: a fill of the changed pixels measured worse than the
    input itself in that region on held-out interaction scenes (benchmarks/README.md). Constructed: gray floor, a
    white box marked 127, a removed square marked 0."""
    model = CasperModel.from_pretrained(build_preset("pixel", tmp_path / "pixel"))
    model.config.extra["mask"] = "quadmask"
    video = torch.full((1, 3, 3, 32, 32), -0.2)
    video[..., 12:20, 12:20] = 1.0
    video[..., 2:6, 24:28] = -1.0
    quad = torch.ones(1, 1, 3, 32, 32)
    quad[..., 10:22, 10:22] = 127 / 255
    quad[..., 2:6, 24:28] = 0.0
    start = model.condition({"input": video, "trimask": torch.full_like(quad, 0.5), "quadmask": quad})[:, 4:7]
    assert torch.allclose(start[..., 12:20, 12:20], video[..., 12:20, 12:20], atol=1 / 127.5)  # the box stays
    assert (start[..., 2:6, 24:28] - -0.2).abs().max() < 0.05  # the removed square is filled with floor


def test_quadmask_training_is_recorded_and_remove_feeds_the_footage_quadmask(tiny_dir, kubric_dir, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "run", "--model", str(tiny_dir), "--data", str(kubric_dir), "--frames", "5", "--resolution", "32"]
    base += ["--steps", "2", "--batch-size", "1", "--workers", "0", "--no-progress"]
    assert run_cli([*base, "--out", str(out), "--mask", "quadmask"]) == 0
    assert json.loads((out / "model/casper.json").read_text())["extra"]["mask"] == "quadmask"
    footage = tmp_path / "footage"
    assert run_cli(["data", "export", str(kubric_dir), "--out", str(footage), "--benchmark", "--limit", "1"]) == 0
    folder = next(p for p in footage.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert (folder / "quadmask.mkv").is_file()
    args = ["remove", str(folder), "--steps", "1", "--format", "mkv", "--no-progress"]
    assert run_cli([*args, "--model", str(out / "model"), "--out", str(tmp_path / "q")]) == 0
    record = json.loads((tmp_path / "q/remove.json").read_text())
    assert "quadmask_sha256" in record["identity"] and (tmp_path / "q/background.mkv").is_file()
    capsys.readouterr()
    code = run_cli([*args, "--model", str(tiny_dir), "--out", str(tmp_path / "t"), "--quadmask", str(folder / "quadmask.mkv")])
    err = capsys.readouterr().err
    assert code == 1 and "was trained with trimasks; a quadmask needs a model trained with --mask quadmask" in err
    assert err.count("\n") == 1 and not (tmp_path / "t/background.mkv").exists()
    # --affected: a mask track that is not removed but marks what the removal changes (a held thing, its fall)
    clip = tmp_path / "clip"
    video = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    hand, cup = np.zeros((5, 32, 32), np.uint8), np.zeros((5, 32, 32), np.uint8)
    hand[:, 4:12, 4:12], cup[:, 12:20, 6:10] = 255, 255
    write_video(clip / "input.mkv", video)
    write_video(clip / "masks" / "hand", hand)
    write_video(clip / "masks" / "cup", cup)
    assert (
        run_cli(
            [
                "remove",
                str(clip),
                "--affected",
                "cup",
                "--steps",
                "1",
                "--format",
                "mkv",
                "--no-progress",
                "--model",
                str(out / "model"),
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    record = json.loads((tmp_path / "a/remove.json").read_text())
    assert record["objects"] == ["hand"] and "quadmask_sha256" in record["identity"]
    capsys.readouterr()
    assert run_cli(["remove", str(clip), "--affected", "mug", "--model", str(out / "model"), "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "--affected mug: give some of the tracks cup, hand" in err and "there is no mug" in err and err.count("\n") == 1


def test_a_trimask_model_refuses_a_quadmask_in_the_pipeline(tiny_dir):
    pipe = CasperPipeline.from_pretrained(tiny_dir)
    video, tri = torch.zeros(1, 3, 5, 32, 32), torch.full((1, 1, 5, 32, 32), 0.5)
    with pytest.raises(GenomniError, match="a quadmask was given to a model trained with trimasks"):
        pipe(video, tri, num_inference_steps=1, quadmask=torch.ones_like(tri))


def test_cogvideox_fun_gets_voids_binarized_mask_latent():
    """VOID's trainer (scripts/cogvideox_fun/train.py, train_mode void, binarize_mask, no VAE mask) feeds CogVideoX-Fun
    the quadmask value/255 resized onto the latent grid as VideoX-Fun's resize_mask does, then thresholded at 0.25
    and 0.75 into 0 / 0.5 / 1: 63 joins the removed pixels, 127 is 0.5, 255 is 1. Computed here cell by cell."""
    from genomni.models.masks import encode_void_mask

    quad = np.full((1, 1, 5, 16, 16), 255, np.uint8)
    quad[..., :8, :8] = 0
    quad[..., :8, 8:] = 63
    quad[..., 8:, :8] = 127
    got = encode_void_mask(torch.from_numpy(quad.astype(np.float32) / 255.0), 8, 4)
    assert got.shape == (1, 1, 2, 2, 2)
    assert got[0, 0, :, 0, 0].eq(0).all() and got[0, 0, :, 0, 1].eq(0).all()  # 0 and 63: removed
    assert got[0, 0, :, 1, 0].eq(0.5).all() and got[0, 0, :, 1, 1].eq(1).all()  # 127: changed; 255: keep
    # trilinear resizing samples a cell at its centre, between pixel rows 3 and 4: removed above, kept below gives
    # 0.5, "changed" in VOID's thresholds; removed only in rows 0-2 leaves the centre kept
    for rows, value in ((4, 0.5), (3, 1.0)):
        mixed = np.full((1, 1, 1, 8, 8), 255, np.uint8)
        mixed[..., :rows, :] = 0
        assert encode_void_mask(torch.from_numpy(mixed.astype(np.float32) / 255.0), 8, 4).item() == value
