"""Options of `genomni remove` and `decompose`: sampling (`RemoveConfig`) and the layer optimization
(`OmnimatteConfig`), one field per option; torch-free so the command line starts fast."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from ..constants import DEFAULT_STEPS
from ..footage import MaskOptions
from ..options import SEED_BOUNDS, check_device, option, require

VideoFormat = Literal["mp4", "mkv", "png"]
FORMATS: tuple[str, ...] = get_args(VideoFormat)


@dataclass(kw_only=True)
class RemoveConfig(MaskOptions):
    """Sampling and bookkeeping options of a removal run (and the mask rule, `MaskOptions`)."""

    steps: int | None = option(None, "Denoising steps.", show_default=f"the model's recorded inference steps ({DEFAULT_STEPS} if none)")
    guidance: float = option(1.0, "Classifier-free guidance scale (1 = off).")
    seed: int = option(0, "Noise seed.", bounds=SEED_BOUNDS)
    prompt: str | None = option(
        None, "Caption of the result (what the clean video shows).", show_default="the folder's prompt.json or caption.txt, else empty"
    )
    max_side: int | None = option(None, "Working size: long side in pixels.", show_default="the model's training size")
    size: str | None = option(
        None,
        "Exact working size WIDTHxHEIGHT, the aspect not kept (the public gen-omnimatte "
        "inference's sample_size: 672x384 for CogVideoX, 832x480 for Wan); overrides --max-side.",
        show_default="the input's aspect at --max-side",
    )
    window: int | None = option(None, "Frames per temporal window.", show_default="the model's training clip length")
    stride: int | None = option(None, "Frames between window starts.", show_default="3/4 of the window")
    dilate: int = option(
        0,
        "Grow object masks by this many pixels at the input's size (the public gen-omnimatte code "
        "grows them by 5, an 11x11 square, at its working size).",
    )
    names: str | None = option(
        None,
        "Object names, comma-separated, in the masks' order: they name the solo videos and layers.",
        show_default="the mask files' names",
    )
    quadmask: str | None = option(
        None,
        "A quadmask video (Netflix VOID's 0/63/127/255: 127 where removing the objects changes the scene, e.g. what "
        "they held up) for a model trained with --mask quadmask; it applies to the background (every object removed).",
        show_default="the footage folder's quadmask.mkv if any, else none (nothing beyond the objects marked)",
    )
    affected: str | None = option(
        None,
        "Instead of --quadmask: names of mask tracks (comma-separated) that are not removed but mark where the "
        "removal changes the scene (127 in the quadmask): e.g. what a removed hand holds, with its path as it falls.",
    )
    device: str = option("auto", "auto, cpu or cuda[:N].")
    dtype: Literal["float32", "bf16", "fp16"] = option("float32", "The transformer's dtype.")
    offload: bool = option(False, "Diffusers model CPU offload: each part on the GPU only while it runs (large models, small GPUs).")
    format: VideoFormat = option("mp4", "Output videos: mp4 (H.264), mkv (lossless FFV1) or png (frame folders).")

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            [
                (self.steps is None or self.steps >= 1, "--steps must be >= 1"),
                (self.window is None or self.window >= 1, "--window must be >= 1"),
                (self.stride is None or self.stride >= 1, "--stride must be >= 1"),
                (self.max_side is None or self.max_side >= 8, "--max-side must be >= 8"),
                (self.dilate >= 0, "--dilate must be >= 0"),
                (not (self.quadmask and self.affected), "give --quadmask or --affected, not both"),
                (
                    self.size is None or re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", self.size) is not None,
                    f"--size must be WIDTHxHEIGHT in pixels, e.g. 672x384, got {self.size!r}",
                ),
            ]
        )
        check_device("--device", self.device)


@dataclass
class OmnimatteConfig:
    """Iterations, loss weights and sizes of one layer's optimization."""

    coarse_side: int = option(128, "Long side of the coarse omnimatte stage.")
    # By default a layer is its rule alone: against kubric truth layers the optimized network added next to nothing
    # over the rule at a large multiple of the time (benchmarks/omnimatte.py, "The layer by its rule alone" in
    # benchmarks/README.md); iterations, when asked for, optimize the network first
    coarse_iters: int = option(
        0, "Omnimatte iterations at the coarse size (0 with --fine-iters 0: the layer by its rule alone, no network)."
    )
    fine_iters: int = option(0, "Omnimatte iterations at full size.")
    frames_per_iter: int = 4
    # tuned against ground-truth layers and checked on held-out scenes and a constructed disk with a soft shadow
    # (benchmarks/omnimatte.py)
    lr: float = 5e-3
    fg_lr: float = 0.2
    sparsity: float = 0.03
    l0_k: float = 5.0
    layer_on: float = 0.02  # the net's alpha above which a pixel is in the layer (there: the least opaque alpha)
    channels: tuple[int, ...] = (8, 16, 32)
    seed: int = 0

    @property
    def optimizes(self) -> bool:
        """Whether the alpha network is optimized first (any iterations); otherwise a layer is its rule alone."""
        return self.coarse_iters + self.fine_iters > 0

    def __post_init__(self) -> None:
        require(
            [
                (self.coarse_iters >= 0 and self.fine_iters >= 0, "--coarse-iters and --fine-iters must be >= 0"),
                (self.frames_per_iter >= 1 and self.coarse_side >= 16, "frames_per_iter must be >= 1 and coarse_side >= 16"),
            ]
        )


@dataclass(kw_only=True)
class LayerOrderConfig:
    """How `decompose` stacks the layers."""

    layer_order: str = option(
        "auto",
        "Layers bottom to top: auto (from where the masks meet: an object the other "
        "cuts or shrinks is behind it; else the masks' order), given (the masks' order), "
        "or every object's name, comma-separated.",
    )

    def __post_init__(self) -> None:
        require([(bool(self.layer_order.strip()), "--layer-order must be auto, given or the objects' names")])
