"""`genomni generate kubric|objectpaste|layers|tripod`."""

from __future__ import annotations

import dataclasses

import typer

from ..errors import GenomniError
from ..generators.kubric.config import KubricConfig, preset_values
from ..generators.layers import LayersConfig
from ..generators.objectpaste import PasteConfig
from ..generators.run import RunOptions, RunSummary, command_line
from ..generators.tripod import TripodConfig
from .app import console, generate_app, invocation
from .options import config_options

SKIP_BAD = typer.Option(False, help="Drop a folder with bad input (listed in dataset.json) instead of stopping.")


def _opts(opts: RunOptions) -> RunOptions:
    return dataclasses.replace(opts, command=command_line(invocation))


def _check_written(summary: RunSummary) -> None:
    """A finished run that wrote no sample is a failure (exit 1), with the first reason; dataset.json lists all."""
    if summary.complete and summary.samples == 0:
        first = f"; first: {summary.dropped[0].get('reason')}" if summary.dropped else ""
        raise GenomniError(
            f"{summary.out_dir}: no samples were written ({len(summary.dropped)} dropped{first}); dataset.json lists every reason"
        )


def _dropped(summary: RunSummary, what: str) -> str:
    return f"{summary.out_dir}: {summary.samples} samples from {summary.scenes_done} {what}, {len(summary.dropped)} dropped"


@generate_app.command(
    "kubric",
    epilog=(
        "Examples:\n\n"
        "  genomni generate kubric --out data/kubric --num-scenes 100 --workers 2\n\n"
        "  genomni generate kubric --out data/paper --preset gen-omnimatte --num-scenes 569 --render-device gpu\n\n"
        "  genomni generate kubric --out data/k64 --resolution 64 --frames 9 --samples 8 --num-scenes 400\n\n"
        "  genomni generate kubric --out /shared/k --num-scenes 10000 --num-shards 8 --shard-index 3\n\n"
        "  genomni generate kubric --out data/mine --assets-dir meshes/ --hdri-dir hdris/ --config kubric.yaml"
    ),
)
@config_options(KubricConfig, RunOptions, base=preset_values)
def generate_kubric(cfg: KubricConfig, opts: RunOptions) -> None:
    """Render Kubric-style scenes (pybullet physics, Blender Cycles) into Casper training shards."""
    from ..generators.kubric.generate import run_kubric

    summary = run_kubric(cfg, _opts(opts))
    state = "complete" if summary.complete else "partial (other jobs or scenes still to run)"
    console.print(
        f"{summary.out_dir}: {summary.samples} samples from {summary.scenes_done} scenes, "
        f"{len(summary.dropped)} dropped by QC; dataset {state}"
    )
    _check_written(summary)


@generate_app.command(
    "objectpaste",
    epilog=(
        "Examples:\n\n"
        "  genomni generate objectpaste --objects footage/dog --objects data/kubric --backgrounds clips/ --out data/paste --num-samples 500\n\n"
        "  genomni generate objectpaste --objects data/kubric --backgrounds beach.mp4 --shadow-prob 0.5 --caption 'A beach.' --out data/p"
    ),
)
@config_options(PasteConfig, RunOptions, exclude=("num_shards", "shard_index", "scenes_per_shard"))
def generate_objectpaste(cfg: PasteConfig, opts: RunOptions) -> None:
    """Paste object tracks onto other background clips: teaches background fidelity (and, with shadows, effects)."""
    from ..generators.objectpaste import run_objectpaste

    summary = run_objectpaste(cfg, _opts(opts))
    console.print(f"{summary.out_dir}: {summary.samples} samples, {len(summary.dropped)} draws dropped by the filters")
    _check_written(summary)


@generate_app.command(
    "layers",
    epilog=(
        "Examples:\n\n"
        "  genomni generate layers out/clip1 out/clip2 --out data/layers\n\n"
        "  genomni generate layers omnimatte_runs/* --out data/layers --caption 'A street.' --no-drop-all"
    ),
)
@config_options(LayersConfig, RunOptions, exclude=("num_shards", "shard_index", "scenes_per_shard"))
def generate_layers(cfg: LayersConfig, opts: RunOptions, skip_bad: bool = SKIP_BAD) -> None:
    """RGBA layer decompositions -> samples: all layers composited as input, one (or all) dropped for the target."""
    from ..generators.layers import run_layers

    summary = run_layers(cfg, _opts(opts), skip_bad)
    console.print(f"{summary.out_dir}: {summary.samples} samples from {summary.scenes_done} decompositions")
    _check_written(summary)


@generate_app.command(
    "tripod",
    epilog=(
        "Examples:\n\n"
        "  genomni generate tripod footage/cafe footage/pond --out data/tripod --frames 25 --stride 12\n\n"
        "  genomni generate tripod footage/pond --clean pond_empty.mp4 --out data/tripod-pond"
    ),
)
@config_options(TripodConfig, RunOptions, exclude=("num_shards", "shard_index", "scenes_per_shard"))
def generate_tripod(cfg: TripodConfig, opts: RunOptions, skip_bad: bool = SKIP_BAD) -> None:
    """Static-camera footage with moving objects -> samples whose target is the clean plate (real shadows/reflections)."""
    from ..generators.tripod import run_tripod

    summary = run_tripod(cfg, _opts(opts), skip_bad)
    console.print(_dropped(summary, "clips"))
    for d in summary.dropped:
        console.print(f"dropped {cfg.inputs[d['index']]}: {d['reason']}")
    _check_written(summary)
