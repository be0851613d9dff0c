"""Options defined once: a config field with help is a CLI option, a config-file key and a --help line."""

import dataclasses
import json

import pytest
import typer
from conftest import run_cli
from typer.testing import CliRunner

from genomni.cli import app
from genomni.cli.options import config_options
from genomni.errors import GenomniError
from genomni.eval.config import EvalConfig
from genomni.generators.kubric.config import KubricConfig
from genomni.generators.run import RunOptions
from genomni.inference.config import OmnimatteConfig, RemoveConfig
from genomni.options import option, require
from genomni.training.config import TrainConfig


@dataclasses.dataclass
class Knobs:
    out: str = option(help="Where.")
    new_knob: int = option(3, "A knob added in one place.")
    names: tuple[str, ...] = option(("a", "b"), "Comma-separated names, e.g. [a,b].", flag="name_list")
    hidden: float = 0.5  # no help: config files only

    def __post_init__(self) -> None:
        require([(self.new_knob >= 0, "--new-knob must be >= 0")])


def _knob_app(seen: list) -> typer.Typer:
    demo = typer.Typer()

    @demo.command()
    @config_options(Knobs)
    def run(cfg: Knobs, loud: bool = typer.Option(False, help="Own option.")) -> None:
        seen.append((cfg, loud))

    @demo.command()
    def other() -> None:  # two commands, so `run` is a sub-command as in genomni
        pass

    return demo


def test_a_field_is_an_option_a_config_key_and_a_help_line(tmp_path):
    seen, runner = [], CliRunner()
    demo = _knob_app(seen)
    help_text = runner.invoke(demo, ["run", "--help"], terminal_width=200).output
    assert "--new-knob" in help_text and "A knob added in one place. (default: 3)" in help_text
    # [..] in help is text, not rich markup
    assert "--name-list" in help_text and "e.g. [a,b]." in help_text and "(default: a,b)" in help_text and "--hidden" not in help_text
    assert runner.invoke(demo, ["run", "--out", "o"]).exit_code == 0
    assert seen[-1] == (Knobs("o", 3, ("a", "b"), 0.5), False)
    cfg_file = tmp_path / "k.yaml"
    cfg_file.write_text("new_knob: 7\nname_list: x,y\nhidden: 0.25\nout: from-file\n")
    assert runner.invoke(demo, ["run", "--config", str(cfg_file), "--loud"]).exit_code == 0
    assert seen[-1] == (Knobs("from-file", 7, ("x", "y"), 0.25), True)
    assert runner.invoke(demo, ["run", "--config", str(cfg_file), "--new-knob", "9", "--name-list", "z"]).exit_code == 0
    assert seen[-1][0] == Knobs("from-file", 9, ("z",), 0.25)  # options override the file


@pytest.mark.parametrize(
    "args, message",
    [
        (["run"], "--out is required"),
        (["run", "--out", "o", "--new-knob", "-1"], "--new-knob must be >= 0"),
    ],
)
def test_missing_and_invalid_values_are_one_line_errors(args, message):
    result = CliRunner().invoke(_knob_app([]), args)
    assert isinstance(result.exception, GenomniError) and str(result.exception) == message


def test_config_file_values_of_the_wrong_type_or_name_are_refused(tmp_path):
    demo = _knob_app([])
    bad_type, unknown = tmp_path / "t.json", tmp_path / "u.json"
    bad_type.write_text(json.dumps({"out": "o", "new_knob": "many"}))
    unknown.write_text(json.dumps({"out": "o", "new_knbo": 1}))
    r = CliRunner().invoke(demo, ["run", "--config", str(bad_type)])
    assert str(r.exception) == "option new-knob: expected int, got 'many'"
    r = CliRunner().invoke(demo, ["run", "--config", str(unknown)])
    assert str(r.exception) == f"config file {unknown}: unknown option(s) new_knbo"


def _options(*path: str) -> set[str]:
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return {o for p in cmd.params for o in p.opts}


@pytest.mark.parametrize(
    "path, classes",
    [
        (("generate", "kubric"), (KubricConfig, RunOptions)),
        (("train", "run"), (TrainConfig,)),
        (("remove",), (RemoveConfig,)),
        (("decompose",), (RemoveConfig, OmnimatteConfig)),
        (("eval",), (EvalConfig,)),
    ],
)
def test_every_documented_field_of_the_real_configs_is_on_its_command(path, classes):
    opts = _options(*path)
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.metadata.get("help") and not (path == ("decompose",) and f.name == "format"):
                assert "--" + (f.metadata.get("flag") or f.name).replace("_", "-") in opts, (path, f.name)
    assert "--config" in opts


def test_the_real_cli_reads_a_kubric_config_file_with_flag_spellings(tmp_path, capsys):
    cfg_file = tmp_path / "k.yaml"
    cfg_file.write_text("resolution: 32x48\nobjects: [primitives]\nnum_scenes: 0\n")
    assert run_cli(["generate", "kubric", "--out", str(tmp_path / "o"), "--config", str(cfg_file)]) == 1
    assert capsys.readouterr().err.strip() == "error: --num-scenes must be >= 1, got 0"


def test_the_command_line_starts_without_torch_or_webdataset():
    """`genomni --help` must answer at once: importing the CLI loads no torch (seconds to import)."""
    import subprocess
    import sys

    code = "import sys, genomni.cli; print(sorted(m for m in ('torch', 'webdataset', 'diffusers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize(
    "args, message",
    [
        (["remove", "clip.mp4", "--model", "m", "--out", "o", "--guidance", "nan"], "--guidance: nan is not a finite number"),
        (["remove", "clip.mp4", "--model", "m", "--out", "o", "--guidance", "inf"], "--guidance: inf is not a finite number"),
        (["train", "run", "--model", "m", "--data", "d", "--out", "o", "--lr", "inf"], "--lr: inf is not a finite number"),
        (["train", "run", "--model", "m", "--data", "d", "--out", "o", "--seed", "-1"], "--seed must be in 0..9223372036854775807"),
        (["generate", "kubric", "--out", "o", "--seed", str(2**70)], "--seed must be in 0..9223372036854775807"),
        (["decompose", "clip.mp4", "--model", "m", "--out", "o", "--seed", "-3"], "--seed must be in 0..9223372036854775807"),
    ],
)
def test_numbers_that_cannot_mean_anything_are_refused_by_every_verb_before_any_work(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--move", "a:inf", "the numbers must be finite"),
        ("--retime", "a:nan", "the numbers must be finite"),
        ("--move", "a:0:0:0", "the scale must be > 0"),
        ("--move", "a:1:1:-2", "the scale must be > 0"),
    ],
)
def test_edit_refuses_numbers_that_cannot_mean_anything(option, value, message, tmp_path, capsys):
    assert run_cli(["edit", str(tmp_path), option, value, "--out", str(tmp_path / "e.mp4")]) == 1
    assert message in capsys.readouterr().err and not (tmp_path / "e.mp4").exists()


def test_lr_schedules_are_diffusers_own_names():
    """The list --lr-schedule checks (kept torch-free for --help) is exactly diffusers' SchedulerType."""
    from diffusers.optimization import SchedulerType

    from genomni.training.config import LR_SCHEDULES

    assert set(LR_SCHEDULES) == {s.value for s in SchedulerType}


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "run", "--model", "m", "--data", "d", "--out", "o", "--lr-schedule", "bogus"], "--lr-schedule: unknown value(s) bogus"),
        (["data", "inspect", ".", "--preview", "prev"], "--preview prev: the file name must end in .png or .jpg or .jpeg"),
        (["data", "inspect", ".", "--gif", "anim.png"], "--gif anim.png: the file name must end in .gif"),
    ],
)
def test_values_that_used_to_end_in_a_traceback_are_one_line(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_mix_weights_must_be_finite():
    from genomni.datasets.loader import parse_mix

    with pytest.raises(GenomniError, match="--mix weights must be finite, >= 0 and not all zero"):
        parse_mix("kubric=nan", {"kubric": [0, 1]})
    with pytest.raises(GenomniError, match="--mix weights must be finite"):
        parse_mix("kubric=inf,tripod=1", {"kubric": [0], "tripod": [1]})


def test_a_gpu_the_machine_lacks_is_one_line(monkeypatch):
    import torch

    from genomni.tensors import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(GenomniError, match="--device cuda:99: no CUDA GPU is available"):
        pick_device("cuda:99")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(GenomniError, match="--device cuda:2: this machine has 2 CUDA GPU"):
        pick_device("cuda:2")
    assert pick_device("cuda:1") == torch.device("cuda:1") and pick_device("cpu") == torch.device("cpu")
