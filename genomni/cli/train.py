"""`genomni train init|vae|run`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import GenomniError
from ..training.config import TrainConfig, recipe_for
from .app import PROGRESS, console, quiet_hf, train_app
from .options import config_options


@train_app.command(
    "init",
    epilog=(
        "Examples:\n\n"
        "  genomni train init --preset pixel --out models/casper-pixel\n\n"
        "  genomni train init --base models/Wan2.1-T2V-1.3B-Diffusers --out models/casper-1.3b\n\n"
        "  genomni train init --base models/Wan2.1-Fun-1.3B-InP --out models/casper-fun-1.3b\n\n"
        "  genomni train init --base models/Wan2.1-VACE-1.3B-diffusers --out models/casper-vace-1.3b"
    ),
)
def train_init(
    out: Path = typer.Option(..., help="New Casper model dir (must not exist)."),
    base: Optional[Path] = typer.Option(
        None,
        help="A base: a diffusers Wan2.1 dir (T2V: input widened; I2V, Fun-InP or "
        "VACE: used as is), CogVideoX-Fun-V1.5-InP, or a VideoX-Fun Wan2.1-Fun-InP folder "
        "as downloaded (converted).",
    ),
    preset: Optional[str] = typer.Option(
        None,
        help="Build a random model instead: pixel (pixel-space, CPU-sized, 64 px), "
        "pixel-base (pixel-space, 128 px, for GPUs), tiny or small (Wan toys for tests).",
    ),
    seed: int = typer.Option(0, help="Seed of the preset's random weights."),
) -> None:
    """Build a Casper model dir from a base (Wan2.1 text-to-video, Wan/CogVideoX inpainting, Wan-VACE) or a random preset."""
    from ..models.bases import init_from_base
    from ..models.presets import build_preset

    if (base is None) == (preset is None):
        raise GenomniError("give exactly one of --base DIR or --preset NAME")
    quiet_hf()
    path = init_from_base(base, out) if base is not None else build_preset(preset, out, seed)
    console.print(f"Casper model dir written: {path}")


@train_app.command(
    "import",
    epilog=(
        "Examples:\n\n"
        "  genomni train import --from gen-omnimatte --base models/CogVideoX-Fun-V1.5-5b-InP "
        "--transformer casper_cogvideox.safetensors --out models/casper-released-cog\n\n"
        "  genomni train import --from gen-omnimatte --base models/Wan2.1-Fun-1.3B-InP "
        "--transformer casper_wan1.3b.safetensors --out models/casper-released-1.3b\n\n"
        "  genomni train import --from gen-omnimatte --base models/Wan2.1-Fun-14B-InP --lora casper_wan14b_lora.safetensors "
        "--out models/casper-released-14b\n\n"
        "  genomni train import --from void --base models/CogVideoX-Fun-V1.5-5b-InP --transformer void_pass1.safetensors "
        "--out models/void-pass1"
    ),
)
def train_import(
    out: Path = typer.Option(..., help="New Casper model dir (must not exist)."),
    base: Path = typer.Option(
        ...,
        help="The base the checkpoint was trained from, as downloaded: CogVideoX-Fun-V1.5-5b-InP, "
        "Wan2.1-Fun-1.3B-InP or Wan2.1-Fun-14B-InP.",
    ),
    source: str = typer.Option(
        "gen-omnimatte",
        "--from",
        help="Whose checkpoint: gen-omnimatte (the public reimplementation's released Casper models) or void "
        "(Netflix VOID's pass 1, conditioned on quadmasks).",
    ),
    transformer: Optional[Path] = typer.Option(None, help="The released full fine-tune of the DiT (.safetensors or .pth)."),
    lora: Optional[Path] = typer.Option(None, help="The released LoRA (VideoX-Fun format), merged into the base's DiT."),
    lora_weight: float = typer.Option(1.0, help="Multiplier of the LoRA (the public inference uses 1.0)."),
) -> None:
    """Turn a released Casper (or VOID) checkpoint into a genomni model dir that remove, decompose and eval run, with the
    released models' inference settings (85/81-frame windows, stride 16, 384x672/480x832, 50 steps) recorded in it."""
    from ..models.bases import import_gen_omnimatte, import_void

    if source not in ("gen-omnimatte", "void"):
        raise GenomniError(f"--from {source}: give gen-omnimatte or void")
    if source == "void" and lora is not None:
        raise GenomniError("--from void: VOID's pass 1 is a full fine-tune; give --transformer void_pass1.safetensors, not --lora")
    quiet_hf()
    path = import_void(base, out, transformer) if source == "void" else import_gen_omnimatte(base, out, transformer, lora, lora_weight)
    console.print(f"Casper model dir written: {path}")


@train_app.command(
    "vae", epilog=("Examples:\n\n  genomni train vae --model models/casper-tiny --data data/k64 --val data/k64-val --steps 400")
)
def train_vae(
    model: Path = typer.Option(..., help="Casper model dir whose VAE is fitted (rewritten in place, atomically)."),
    data: list[str] = typer.Option(..., help="Shard directory or URL; repeatable."),
    val: Optional[list[str]] = typer.Option(None, help="Held-out shard directory or URL for the reconstruction PSNR."),
    steps: int = typer.Option(500, help="Optimizer steps."),
    batch_size: int = typer.Option(4, help="Clips per step (each gives its input and target)."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    frames: int = typer.Option(9, help="Frames per clip."),
    resolution: str = typer.Option("64", help="Clip size N or WIDTHxHEIGHT."),
    max_minutes: Optional[float] = typer.Option(None, help="Stop early after this many minutes."),
    seed: int = typer.Option(0, help="Seed of the clip draws."),
    progress: bool = PROGRESS,
) -> None:
    """Fit the VAE of a model dir as a video autoencoder (for tiny presets; Wan's VAE comes pretrained)."""
    from ..datasets.clips import ClipConfig
    from ..media import parse_resolution
    from ..training.vae_fit import fit_vae

    h, w = parse_resolution(resolution)
    quiet_hf()
    r = fit_vae(
        model,
        [str(d) for d in data],
        steps,
        batch_size,
        lr,
        ClipConfig(frames, h, w),
        [str(v) for v in val or []],
        seed,
        max_minutes,
        progress=progress,
    )
    console.print(f"VAE fitted for {r.steps} steps in {r.seconds:.0f} s: reconstruction PSNR {r.psnr_before:.2f} -> {r.psnr_after:.2f} dB")


@train_app.command(
    "run",
    epilog=(
        "Examples:\n\n"
        "  genomni train run --model models/casper-pixel --data data/k64 --val data/k64-val --out runs/pixel\n\n"
        "  genomni train run --config configs/wan1.3b_full.yaml --data data/kubric --data data/tripod --mix kubric=0.6,tripod=0.4\n\n"
        "  genomni train run --config run.yaml --resume latest\n\n"
        "  accelerate launch --config_file configs/accelerate/fsdp_8gpu.yaml -m genomni.cli train run --config configs/wan14b_lora.yaml"
    ),
)
@config_options(TrainConfig, base=recipe_for)
def train_run(cfg: TrainConfig, progress: bool = PROGRESS) -> None:
    """Train a Casper model on shards (flow matching, accelerate: one CPU to multi-node). Defaults under a model's
    recorded recipe (casper.json extra.train_defaults), then --config, then these options."""
    from ..training.trainer import train

    quiet_hf()
    summary = train(cfg, progress)
    if summary.main_process:
        console.print(
            f"trained to step {summary.step} in {summary.seconds:.0f} s on {summary.processes} process(es); model: {summary.model}"
        )
