"""`genomni remove|decompose|edit`: inference on a user's video."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..inference.config import LayerOrderConfig, OmnimatteConfig, RemoveConfig
from ..options import check_output_dir
from .app import PROGRESS, app, console, quiet_hf
from .options import config_options

VIDEO_ARG = typer.Argument(
    ...,
    help="Input video (mp4/mkv/... or a folder of frames), or a footage folder with its own masks "
    "and prompt: input_video.mp4 + mask_NN.mp4 + prompt.json (gen-omnimatte), input.* + masks/ "
    "+ caption.txt (genomni), or rgba_*.png + segmentation_*.png (Kubric).",
)
MASK_OPT = typer.Option(None, "--mask", help="One object's mask video or folder (see --mask-threshold); repeat per object.")
MASKS_DIR_OPT = typer.Option(
    None, help="A folder whose mask videos and mask subfolders are one object each (colour videos and other files are skipped and named)."
)
INSTANCES_OPT = typer.Option(None, help="Instead of --mask: a folder of instance-id PNGs (DAVIS style), one object per id.")
MODEL_OPT = typer.Option(..., "--model", help="Casper model dir (genomni train init / train run).")
RESUME_OPT = typer.Option(False, help="Keep finished outputs in --out and do only what is missing.")


def _footage(
    video: Path, mask: Optional[list[Path]], masks_dir: Optional[Path], instances: Optional[Path], cfg: RemoveConfig, progress: bool
):
    from contextlib import nullcontext

    from ..footage import rename
    from ..footage_folders import open_footage, with_quadmask

    with console.status(f"reading {video} and its masks") if progress else nullcontext():
        footage = open_footage(video, [str(m) for m in mask] if mask else None, masks_dir, instances, cfg.mask_threshold)
        footage = rename(footage, cfg.names)
        return with_quadmask(footage, video, cfg.quadmask, cfg.affected)


@app.command(
    "remove",
    epilog=(
        "Examples:\n\n"
        "  genomni remove clip.mp4 --mask dog_mask.mp4 --mask ball_masks/ --model runs/casper/model --out out/clip\n\n"
        "  genomni remove examples/boys-beach --model runs/casper/model --out out/boys-beach\n\n"
        "  genomni remove frames/ --instances Annotations/seq/ --model models/casper --out out/seq --window 81 --steps 50"
    ),
)
@config_options(RemoveConfig)
def remove_cmd(
    cfg: RemoveConfig,
    video: Path = VIDEO_ARG,
    mask: Optional[list[Path]] = MASK_OPT,
    masks_dir: Optional[Path] = MASKS_DIR_OPT,
    instances: Optional[Path] = INSTANCES_OPT,
    model: Path = MODEL_OPT,
    out: Path = typer.Option(..., help="Output folder."),
    resume: bool = RESUME_OPT,
    progress: bool = PROGRESS,
) -> None:
    """Remove objects and their effects: writes background.* and one solo_<object>.* per object."""
    from ..inference.remove import remove

    check_output_dir("--out", out)
    footage = _footage(video, mask, masks_dir, instances, cfg, progress)
    quiet_hf()
    report = remove(footage, str(model), out, cfg, resume=resume, show_progress=progress)
    console.print(
        f"{out}: wrote {', '.join(report.written) or 'nothing new'}" + (f"; kept {', '.join(report.skipped)}" if report.skipped else "")
    )


@app.command(
    "decompose",
    epilog=(
        "Examples:\n\n"
        "  genomni decompose clip.mp4 --mask dog.mp4 --mask ball.mp4 --model runs/casper/model --out out/clip\n\n"
        "  genomni decompose examples/davis_camel --model runs/casper/model --out out/camel --prompt 'a camel enclosure'\n\n"
        "  genomni decompose examples/davis_kite-walk --model runs/casper/model --out out/kite --names pole,kiter\n\n"
        "  genomni decompose clip.mp4 --instances masks/ --model models/casper --out out/clip --coarse-iters 400 --fine-iters 25 --resume"
    ),
)
@config_options(RemoveConfig, OmnimatteConfig, LayerOrderConfig, fixed={"format": "png"})
def decompose_cmd(
    rcfg: RemoveConfig,
    ocfg: OmnimatteConfig,
    lcfg: LayerOrderConfig,
    video: Path = VIDEO_ARG,
    mask: Optional[list[Path]] = MASK_OPT,
    masks_dir: Optional[Path] = MASKS_DIR_OPT,
    instances: Optional[Path] = INSTANCES_OPT,
    model: Path = MODEL_OPT,
    out: Path = typer.Option(..., help="Output folder (its layout: docs/decompose.md)."),
    resume: bool = RESUME_OPT,
    progress: bool = PROGRESS,
) -> None:
    """Decompose a video into a clean background and one RGBA layer per object (object + its effects)."""
    from ..inference.decompose import decompose

    check_output_dir("--out", out)
    footage = _footage(video, mask, masks_dir, instances, rcfg, progress)
    quiet_hf()
    report = decompose(footage, str(model), out, rcfg, ocfg, resume=resume, show_progress=progress, layer_order=lcfg.layer_order)
    fit = "layer fit before detail transfer" if ocfg.optimizes else "layer fit (by the rule)"
    console.print(
        f"{out}: background + {len(report.objects)} layers; {fit} (worst layer) "
        f"{report.layer_fit_psnr:.2f} dB; recomposition check {report.recomposition_psnr:.2f} dB"
    )


@app.command(
    "edit",
    epilog=(
        "Examples:\n\n"
        "  genomni edit out/clip --drop ball --out edited.mp4\n\n"
        "  genomni edit out/clip --background beach.jpg --retime dog:6 --move ball:20:-5:1.2 --out edited.mp4"
    ),
)
def edit_cmd(
    folder: Path = typer.Argument(..., help="A `genomni decompose` output folder."),
    out: Path = typer.Option(..., help="Output video (.mp4, .mkv, or a folder path for PNG frames)."),
    drop: Optional[list[str]] = typer.Option(None, help="Layer to remove (with its effects); repeatable."),
    background: Optional[str] = typer.Option(None, help="New background: an image or a video (looped)."),
    retime_: Optional[list[str]] = typer.Option(None, "--retime", help="NAME:OFFSET[:SPEED]: frame t shows source frame OFFSET + t*SPEED."),
    move_: Optional[list[str]] = typer.Option(
        None, "--move", help="NAME:DX[:DY[:SCALE]]: shift in pixels, scale about the layer's centre."
    ),
    overwrite: bool = typer.Option(
        False,
        help="Replace an existing --out that an earlier edit wrote (a video it tagged, or its PNG frame folder); "
        "other files and folders are never replaced.",
    ),
) -> None:
    """Edit a decomposed video: drop layers, replace the background, retime or move layers."""
    from ..inference.edit import Edits, edit, layer_numbers

    edits = Edits(
        drop=list(drop or []), background=background, retime=layer_numbers(retime_, "--retime"), move=layer_numbers(move_, "--move")
    )
    path = edit(folder, out, edits, overwrite=overwrite)
    console.print(f"edited video: {path}")
