"""`genomni masks`: object masks for a user's clip, from clicks and boxes (SAM 2) or from what moves in a
static-camera clip (the motion method, no weights), as a footage folder."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

from ..errors import GenomniError
from ..mask_cleanup import CleanupOptions
from ..motion_masks import MotionOptions
from ..options import check_device, check_output_dir
from .app import PROGRESS, app, console, quiet_hf
from .options import config_options


@app.command(
    "masks",
    epilog=(
        "Examples:\n\n"
        "  genomni masks clip.mp4 --model models/sam2.1-hiera-tiny --point dog:0:320,200 --out footage/clip\n\n"
        "  genomni masks clip.mp4 --model models/sam2.1-hiera-large --box dog:0:250,120,400,330 "
        "--point dog:40:300,210 --point ball:10:80,300 --point ball:10:60,280:neg --out footage/clip\n\n"
        "  genomni masks tripod.mp4 --method motion --fill-holes --min-area 50 --out footage/tripod\n\n"
        "  genomni masks camels.mp4 --model models/sam3 --text 'the camel' --out footage/camels\n\n"
        "  genomni masks --edit footage/clip --model models/sam2.1-hiera-tiny --point ball:12:90,310"
    ),
)
@config_options(CleanupOptions, MotionOptions, config_file=False)
def masks_cmd(
    cleanup: CleanupOptions,
    motion: MotionOptions,
    video: Optional[Path] = typer.Argument(None, help="Input video (mp4/mkv/... or a folder of frames); not with --edit."),
    method: Literal["sam2", "motion"] = typer.Option(
        "sam2", help="sam2: track what --point/--box show (--model); motion: what moves in a static-camera clip, no weights."
    ),
    model: Optional[Path] = typer.Option(None, "--model", help="--method sam2: a SAM 2 video model folder (transformers layout)."),
    point: Optional[list[str]] = typer.Option(
        None,
        help="NAME:FRAME:X,Y (pixels) a click on object NAME in that frame; add :neg for a click off it; repeatable. "
        "With --method motion a click picks and names the moving object under it.",
    ),
    box: Optional[list[str]] = typer.Option(None, help="NAME:FRAME:X0,Y0,X1,Y1 (pixels) object NAME's box in that frame; repeatable."),
    text: Optional[list[str]] = typer.Option(
        None, help="A phrase (SAM 3, --model a SAM 3 video folder): one track per instance found, named from it; repeatable."
    ),
    out: Optional[Path] = typer.Option(None, help="New footage folder: input.mkv, masks/<name>/, masks_preview.png and .mp4."),
    edit: Optional[Path] = typer.Option(
        None, help="An existing footage folder (input.* + masks/) whose objects named by the prompts are added or replaced."
    ),
    caption: Optional[str] = typer.Option(None, help="Caption of the clip without the objects (caption.txt)."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
    dtype: Literal["float32", "bfloat16", "float16"] = typer.Option("float32", help="Model weights' dtype."),
    window: int = typer.Option(
        0,
        min=0,
        help="SAM 2/SAM 3 clicks: track at most this many frames per tracker session (windows overlap by one frame and "
        "carry the masks on), so a long clip's memory stays bounded; 0 = the whole clip at once.",
    ),
    progress: bool = PROGRESS,
) -> None:
    """Object masks for remove/decompose/generate: SAM 2 from clicks and boxes on any frames, or what moves."""
    from ..mask_cleanup import clean_masks
    from ..masks import MaskTracks, check_prompts, edit_footage, editable_frames, name_tracks, parse_box, parse_point, write_footage
    from ..media import read_video

    if (out is None) == (edit is None):
        raise GenomniError("give --out (a new footage folder) or --edit (an existing one), one of them")
    if edit is not None and (video is not None or caption is not None):
        raise GenomniError("--edit takes its frames and caption from the footage folder: leave out VIDEO and --caption")
    if edit is None and video is None:
        raise GenomniError("give the VIDEO to make masks for")
    if out is not None:
        check_output_dir("--out", out)
    check_device("--device", device)
    if window == 1:
        raise GenomniError("--window must be 0 (the whole clip) or at least 2 frames (windows overlap by one)")
    prompts = [parse_point(p) for p in point or []] + [parse_box(b) for b in box or []]
    if text and (prompts or method == "motion"):
        raise GenomniError("--text goes alone with a SAM 3 --model: leave out --point, --box and --method motion")
    if method == "sam2" and model is None:
        raise GenomniError("--method sam2 needs --model (a SAM 2 video model folder); --method motion needs none")
    if method == "motion" and model is not None:
        raise GenomniError("--method motion uses no model: leave out --model")
    if edit is not None and not (prompts or text):
        raise GenomniError("--edit needs --point/--box/--text prompts naming the objects to add or replace")
    frames, fps = editable_frames(edit) if edit is not None else read_video(video)  # type: ignore[arg-type]
    if (method == "sam2" and not text) or prompts:
        prompts = check_prompts(prompts, *frames.shape[:3])
    if text:
        from ..progress import progress_bar
        from ..text_masks import load_text_tracker, text_tracks

        quiet_hf()
        sam3, tokenizer, prep = load_text_tracker(model, device, dtype)  # type: ignore[arg-type]
        with progress_bar(progress, unit="frames", console=console) as bar:
            task = bar.add_task("masks", total=len(frames))
            tracks = text_tracks(frames, list(text), sam3, tokenizer, prep, on_frame=lambda: bar.advance(task))
    elif method == "sam2":
        from ..progress import progress_bar
        from ..sam_tracking import load_tracker, track, track_steps

        quiet_hf()
        tracker = load_tracker(model, device, dtype)  # type: ignore[arg-type]
        first = min(p.frame for p in prompts)
        with progress_bar(progress, unit="frames", console=console) as bar:
            task = bar.add_task("masks", total=track_steps(len(frames), first, window))
            tracks = track(frames, prompts, tracker, on_frame=lambda: bar.advance(task), window=window)
    else:
        from ..motion_masks import motion_masks, motion_steps
        from ..progress import progress_bar

        with progress_bar(progress, unit="steps", console=console) as bar:
            task = bar.add_task("masks", total=motion_steps(len(frames)))
            tracks = name_tracks(motion_masks(frames, motion, on_step=lambda: bar.advance(task)), prompts)
        if not tracks.names:
            raise GenomniError("--method motion found nothing that moves (lower --min-object, or use SAM 2 prompts)")
    tracks = MaskTracks(tracks.names, clean_masks(tracks.masks, cleanup))
    shares = ", ".join(f"{n} {m.mean():.1%}" for n, m in zip(tracks.names, tracks.masks))
    if edit is not None:
        names = edit_footage(edit, tracks, frames, fps)
        console.print(f"{edit}: wrote {', '.join(tracks.names)} ({shares} of the frame); objects now {', '.join(names)}")
        return
    assert out is not None
    write_footage(out, frames, fps, tracks, caption)
    console.print(
        f"{out}: {len(tracks.names)} mask track(s) over {len(frames)} frames ({shares} of the frame); look at {out / 'masks_preview.png'}"
    )
