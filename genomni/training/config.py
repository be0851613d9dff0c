"""`TrainConfig`: everything that defines a training run, one field per option (CLI, config file, --help)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from ..configfile import build, load_mapping
from ..constants import CASPER_FILE
from ..datasets.clips import ClipConfig
from ..errors import GenomniError
from ..options import SEED_BOUNDS, check_output_dir, option, require, resolution_fields

log = logging.getLogger(__name__)


def _absolute(path: str) -> str:
    return str(Path(path).absolute()) if path else path


def _paths(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """A list of directories (a config file may give one as a plain string)."""
    return [value] if isinstance(value, str) else [str(v) for v in value]


# Fields that may change between a checkpoint and its resumption (how long and how often, not what).
RESUMABLE_CHANGES = {
    "steps",
    "max_minutes",
    "checkpoint_every",
    "keep_checkpoints",
    "validate_every",
    "log_every",
    "workers",
    "resume",
    "log_with",
    "val_samples",
    "val_steps",
}


# diffusers.optimization.SchedulerType's names (listed here so --help needs no torch; a test compares the two)
LrSchedule = Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "piecewise_constant"]
LR_SCHEDULES: tuple[str, ...] = get_args(LrSchedule)


@dataclass
class TrainConfig:
    """Everything that defines a training run; YAML/JSON files map onto it, CLI options override it."""

    model: str = option("", "Casper model dir to start from (genomni train init).")
    data: list[str] = option([], "Shard directory or URL (s3://, gs://, ...); repeat for several.")
    out: str = option("", "Run dir: checkpoints/, validation/, train_log.jsonl, model/.")
    val: list[str] = option([], "Held-out shard directory for validation; repeatable.")
    mix: str | None = option(None, "Per-source weights, e.g. kubric=0.48,tripod=0.25,omnimatte=0.25,objectpaste=0.02.")
    hf_data: bool = option(False, "Read --data with Hugging Face datasets (shard dirs or save_to_disk dirs).")
    frames: int = option(9, "Frames per clip (4n+1 for Wan).", bounds=(1, 100000))
    height: int = option(64, "Clip size N or WIDTHxHEIGHT.", flag="resolution", parse=resolution_fields)
    width: int = 64
    stride: int = option(1, "Frame stride within a clip.", bounds=(1, 1000))
    hflip: float = option(0.5, "Probability of a horizontal flip of a training clip.", bounds=(0, 1))
    reverse: float = option(0.0, "Probability of playing a training clip backwards.", bounds=(0, 1))
    crop_min: float = option(1.0, "Smallest random crop side, as a fraction of the clip (1 = no crop).", bounds=(0.05, 1))
    batch_size: int = option(2, "Clips per device per micro-step.")
    grad_accum: int = option(1, "Micro-steps per optimizer step.")
    steps: int = option(1000, "Optimizer steps.")
    lr: float = option(1e-4, "Peak learning rate.")
    weight_decay: float = option(0.0, "AdamW weight decay.", bounds=(0, 10))
    warmup_steps: int = option(50, "Linear warmup steps.")
    lr_schedule: LrSchedule = option("constant_with_warmup", "Learning-rate schedule (diffusers get_scheduler name), e.g. cosine.")
    mixed_precision: Literal["no", "fp16", "bf16"] = option("no", "Mixed precision (accelerate).")
    gradient_checkpointing: bool = option(False, "Recompute activations in the backward pass (less memory, slower).")
    lora_rank: int = option(0, "Train LoRA adapters of this rank (0 = full fine-tuning).", bounds=(0, 4096))
    lora_alpha: float | None = option(None, "LoRA alpha (default: the rank).")
    ema_decay: float = option(0.0, "EMA of the weights (0 = off), e.g. 0.999.")
    caption_dropout: float = option(0.1, "Probability of training on an empty caption (for guidance).", bounds=(0, 1))
    binary_mask: bool = option(False, "Ablation: train with kept objects marked as background (a binary mask).")
    mask: Literal["trimask", "quadmask"] = option(
        "trimask",
        "Conditioning mask: trimask (0 remove, 128 may change, 255 keep), or quadmask (Netflix VOID's 0/63/127/255: "
        "also where the removal changes the scene, e.g. what a removed box held up; samples without one use their "
        "trimask's information). genomni-layout and pixel models (value/255 in the mask channel), CogVideoX-Fun models "
        "(VOID's binarized mask latent).",
    )
    timestep_sampling: Literal["logit_normal", "uniform"] = option("logit_normal", "Noise-level distribution.")
    checkpoint_every: int = option(250, "Checkpoint every N steps.")
    keep_checkpoints: int = option(3, "Checkpoints kept (older ones are deleted).", bounds=(1, 10**6))
    validate_every: int = option(250, "Validate every N steps.")
    val_samples: int = option(4, "Held-out clips per validation.", bounds=(1, 10**6))
    val_steps: int = option(20, "Denoising steps of each validation sample.")
    log_every: int = option(10, "Log the loss every N steps.")
    log_with: Literal["jsonl", "tensorboard"] = option("jsonl", "jsonl (always written) or tensorboard (also).")
    cache_text: bool = option(True, "Encode each distinct caption once.")
    workers: int = option(2, "Data loader processes.", bounds=(0, 1024))
    seed: int = option(0, "Seed of every random draw (data, noise).", bounds=SEED_BOUNDS)
    max_minutes: float | None = option(None, "Stop (with a checkpoint and model) after this many minutes.")
    resume: str | None = option(None, "'latest' or a checkpoint dir: continue that run exactly.")

    def __post_init__(self) -> None:
        self.data, self.val = _paths(self.data), _paths(self.val)
        require(
            [
                (bool(self.model), "--model is required (a Casper model dir from `genomni train init`)"),
                (bool(self.data), "--data is required (one or more shard directories)"),
                (bool(self.out), "--out is required"),
            ]
        )
        for name in ("batch_size", "grad_accum", "steps", "checkpoint_every", "validate_every", "log_every", "val_steps"):
            require([(getattr(self, name) >= 1, f"--{name.replace('_', '-')} must be >= 1")])
        require(
            [
                (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
                (self.warmup_steps >= 0, "--warmup-steps must be >= 0"),
                (0 <= self.ema_decay < 1, f"--ema-decay must be in [0, 1) (0 = off), got {self.ema_decay}"),
                (self.max_minutes is None or self.max_minutes > 0, f"--max-minutes must be > 0, got {self.max_minutes}"),
            ]
        )
        check_output_dir("--out", self.out)
        require(
            [
                (
                    self.resume in (None, "latest") or Path(str(self.resume)).is_dir(),
                    f"--resume must be 'latest' or a checkpoint dir; {self.resume} does not exist",
                )
            ]
        )

    def clip(self) -> ClipConfig:
        return ClipConfig(
            self.frames, self.height, self.width, self.stride, self.hflip, self.reverse, self.crop_min, self.mask == "quadmask"
        )

    def identity(self) -> dict[str, Any]:
        """What a checkpoint must share with the run resuming it; paths as absolute paths, so the same data
        named from another folder is the same run."""
        ident = {k: v for k, v in asdict(self).items() if k not in RESUMABLE_CHANGES}
        ident.update(
            model=_absolute(self.model),
            out=_absolute(self.out),
            data=[_absolute(d) for d in self.data],
            val=[_absolute(v) for v in self.val],
        )
        return ident


def model_train_defaults(model: str | None) -> dict[str, Any]:
    """The training recipe a model dir records (casper.json extra.train_defaults; pixel presets have one)."""
    path = Path(model or "") / CASPER_FILE
    if not model or not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()).get("extra", {}).get("train_defaults", {}))
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise GenomniError(f"{path} is not a valid casper.json ({exc})") from exc


def recipe_for(values: dict[str, Any]) -> dict[str, Any]:
    """The recipe of the model that `values` (file + options) name: the layer under the file and the options."""
    recipe = model_train_defaults(values.get("model"))
    if recipe:
        log.info("training recipe recorded in %s: %s", values.get("model"), recipe)
    return recipe


def load_config(file: str | os.PathLike | None, overrides: dict[str, Any]) -> TrainConfig:
    """TrainConfig from defaults <- the model dir's recorded recipe <- YAML/JSON file <- overrides, checked."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return build(TrainConfig, file, overrides, recipe_for({**(load_mapping(file) if file else {}), **given}))
