"""Files that are not what they claim (issue 31, classes 5-7): each is one line and a non-zero exit before any work,
never a traceback, a silent guess or a hang."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from conftest import run_cli


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("dup.yaml", "seed: 1\nseed: 2\n", "is not valid YAML: key 'seed' is given twice"),
        ("dup.json", '{"seed": 1, "seed": 2}', "is not valid JSON: key 'seed' is given twice"),
        ("nested.yaml", "objects:\n  - [primitives, pybullet]\n", "--objects: unknown value(s) ['primitives', 'pybullet']"),
        ("alias.yaml", "objects: &a [*a]\n", "--objects: unknown value(s) [[...]]"),
        ("latin1.yaml", "caption: caf\xe9\n", "is not UTF-8 text"),
    ],
)
def test_config_files_that_mean_two_things_or_nothing_are_one_line(tmp_path, capsys, name, text, message):
    """YAML and JSON parsers keep the last of two equal keys silently and take a nested list where a list of names
    belongs; a Latin-1 file is not UTF-8."""
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    out = tmp_path / "o"
    assert run_cli(["generate", "kubric", "--out", str(out), "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_shard_that_is_a_pipe_or_a_device_is_refused_not_read_forever(kubric_dir, tmp_path, capsys, kind):
    """A shard name that is a FIFO or a link to /dev/zero would be hashed forever by validate and read forever by
    every reader; the shard lister refuses it, naming it."""
    d = tmp_path / "ds"
    shutil.copytree(kubric_dir, d)
    shard = sorted(d.glob("*.tar"))[0]
    shard.unlink()
    if kind == "fifo":
        os.mkfifo(shard)
    else:
        shard.symlink_to("/dev/zero")
    for verb in (["data", "validate"], ["data", "inspect"], ["data", "export", "--out", str(tmp_path / "x")]):
        assert run_cli([*verb[:2], str(d), *verb[2:]]) == 1, verb
        err = capsys.readouterr().err
        assert f"{shard}: not a regular file" in err and err.count("\n") == 1, (verb, err)


def test_inspect_refuses_a_manifest_that_disagrees_with_its_shards(kubric_dir, tmp_path, capsys):
    """A duplicated manifest line counted a shard of 11 samples as 12; an emptied manifest as 0."""
    d = tmp_path / "ds"
    shutil.copytree(kubric_dir, d)
    manifest = d / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([*lines, lines[0]]) + "\n")
    assert run_cli(["data", "inspect", str(d)]) == 1
    key = json.loads(lines[0])["key"]
    assert f"line {len(lines) + 1} lists {key} again (first on line 1)" in capsys.readouterr().err
    manifest.write_text("")
    assert run_cli(["data", "inspect", str(d)]) == 1
    assert f"manifest.jsonl lists 0 samples, dataset.json says {len(lines)}" in capsys.readouterr().err


def test_a_list_option_given_a_nested_list_in_a_file_is_one_line(tmp_path, capsys):
    """eval's methods from YAML: a nested list or a recursive alias was an AttributeError traceback."""
    for text in ("method:\n  - [copy-input, cv2-inpaint]\n", "method: &m [*m]\n"):
        path = tmp_path / "eval.yaml"
        path.write_text(text + f"benchmark: [demo={tmp_path}]\n")
        assert run_cli(["eval", "--config", str(path), "--out", str(tmp_path / "ev")]) == 1
        err = capsys.readouterr().err
        assert "option methods: expected a list of str" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "kubric", "--num-scenes", str(10**9)], "--num-scenes must be at most 10,000,000 per run"),
        (["generate", "objectpaste", "--objects", "x", "--backgrounds", "y", "--num-samples", str(10**9)], "--num-samples must be at most"),
    ],
)
def test_a_run_too_big_to_plan_is_one_line_not_a_memory_error(tmp_path, capsys, args, message):
    """A billion scenes built gigabytes of bookkeeping before any work (MemoryError under a 6 GB cap)."""
    assert run_cli([*args, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "o").exists()


class _FillingFile:
    """A file on a disk that fills after `room` bytes: writes beyond it fail as a full disk does (ENOSPC)."""

    def __init__(self, path, mode, room: int = 4096):
        self._fh, self._room = open(path, mode), room  # noqa: SIM115

    def write(self, data):
        self._room -= len(data)
        if self._room < 0:
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def test_a_full_disk_while_writing_a_shard_is_one_line_and_leaves_nothing_half_written(tmp_path, capsys, monkeypatch):
    """The shard writer's tar stream, left open by the failed write, was flushed into the closed file when it was
    collected: a second traceback ("write to closed file") after the error. Now: one line with what to do, no
    partial shard, and the rerun on a disk with room completes."""
    import gc
    import sys

    import numpy as np

    from genomni import shards
    from genomni.media import write_video

    rng = np.random.default_rng(0)
    mask = np.zeros((6, 48, 64), np.uint8)
    mask[:, 10:30, 10:30] = 255
    write_video(tmp_path / "obj" / "input", rng.integers(0, 255, (6, 48, 64, 3), dtype=np.uint8))
    write_video(tmp_path / "obj" / "masks" / "thing", mask)
    write_video(tmp_path / "bg.mp4", rng.integers(0, 255, (6, 48, 64, 3), dtype=np.uint8))
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: unraisable.append(info))
    monkeypatch.setattr(shards, "open", lambda path, mode: _FillingFile(path, mode), raising=False)
    out = tmp_path / "ds"
    args = ["generate", "objectpaste", "--objects", str(tmp_path / "obj"), "--backgrounds", str(tmp_path / "bg.mp4"), "--out", str(out)]
    args += ["--num-samples", "2", "--frames", "4", "--caption", "Noise.", "--no-progress"]
    capsys.readouterr()
    assert run_cli(args) == 1
    gc.collect()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: No space left on device; free some space and run the same command again to resume"]
    assert not unraisable and not list(out.glob("*.tar")) and not list(out.rglob(".*.tar.tmp"))
    monkeypatch.undo()
    assert run_cli(args) == 0 and len(list(shards.iter_samples(out))) == 2


def test_a_full_disk_while_saving_weights_is_one_line(tmp_path, capsys, monkeypatch):
    """safetensors reports a full disk in its own error type (a traceback before): one line, with what to do."""
    from safetensors import SafetensorError

    from genomni.models.casper import CasperModel

    def full(self, *args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(CasperModel, "save_pretrained", full)
    capsys.readouterr()
    assert run_cli(["train", "init", "--preset", "pixel", "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: a weights file could not be written: ")
    assert err[0].endswith("; free some space and run the same command again to resume")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("ema_decay", 2.0, "--ema-decay must be in [0, 1) (0 = off), got 2.0"),
        ("max_minutes", -1.0, "--max-minutes must be > 0, got -1.0"),
    ],
)
def test_training_numbers_that_cannot_mean_anything_are_refused(tmp_path, field, value, message):
    """--ema-decay 2 trained with an exploding average; --max-minutes -1 trained one step and exited 0."""
    from genomni.errors import GenomniError
    from genomni.training.config import TrainConfig

    with pytest.raises(GenomniError, match=re.escape(message)):
        TrainConfig(model=str(tmp_path / "m"), data=[str(tmp_path / "d")], out=str(tmp_path / "o"), **{field: value})


@pytest.mark.parametrize("size", ["0x0", "-5x10", "64x0"])
def test_an_eval_size_without_pixels_is_one_line(tmp_path, capsys, size):
    """`eval --resize 0x0` was an OpenCV traceback after the first scene was read."""
    assert run_cli(["eval", "--benchmark", f"x={tmp_path}", "--method", "copy-input", "--out", str(tmp_path / "o"), "--resize", size]) == 1
    assert f"--resize must be WIDTHxHEIGHT, movie or kubric, got '{size}'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--lora-rank", "-4", "--lora-rank must be in 0..4096, got -4"),  # trained in full, exit 0
        ("--keep-checkpoints", "0", "--keep-checkpoints must be in 1..1000000, got 0"),  # kept every checkpoint
        ("--caption-dropout", "2", "--caption-dropout must be in 0..1, got 2.0"),
        ("--crop-min", "0", "--crop-min must be in 0.05..1, got 0.0"),
    ],
)
def test_training_options_outside_their_range_are_one_line_before_any_work(tmp_path, capsys, flag, value, message):
    args = ["train", "run", "--model", str(tmp_path / "m"), "--data", str(tmp_path), "--out", str(tmp_path / "o"), flag, value]
    assert run_cli(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_an_import_source_that_cannot_name_a_shard_is_one_line(tmp_path, capsys):
    """`--source ''` wrote a shard named -000000.tar that no reader could find."""
    (tmp_path / "in").mkdir()
    assert run_cli(["data", "import", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--source", ""]) == 1
    err = capsys.readouterr().err
    assert "--source '': a name of letters, digits" in err and err.count("\n") == 1 and not (tmp_path / "o").exists()
