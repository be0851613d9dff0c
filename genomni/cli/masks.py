"""`genomni masks`: object masks for a user's clip from clicks and boxes (SAM 2), as a footage folder."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

from ..options import check_device, check_output_dir
from .app import PROGRESS, app, console, quiet_hf


@app.command(
    "masks",
    epilog=(
        "Examples:\n\n"
        "  genomni masks clip.mp4 --model models/sam2.1-hiera-tiny --point dog:0:320,200 --out footage/clip\n\n"
        "  genomni masks clip.mp4 --model models/sam2.1-hiera-large --box dog:0:250,120,400,330 "
        "--point dog:40:300,210 --point ball:10:80,300 --point ball:10:60,280:neg --out footage/clip"
    ),
)
def masks_cmd(
    video: Path = typer.Argument(..., help="Input video (mp4/mkv/... or a folder of frames)."),
    model: Path = typer.Option(..., "--model", help="A SAM 2 video model folder (transformers save_pretrained layout)."),
    point: Optional[list[str]] = typer.Option(
        None, help="NAME:FRAME:X,Y (pixels) a click on object NAME in that frame; add :neg for a click off it; repeatable."
    ),
    box: Optional[list[str]] = typer.Option(None, help="NAME:FRAME:X0,Y0,X1,Y1 (pixels) object NAME's box in that frame; repeatable."),
    out: Path = typer.Option(..., help="New footage folder: input.mkv, masks/<name>/, masks_preview.png and .mp4."),
    caption: Optional[str] = typer.Option(None, help="Caption of the clip without the objects (caption.txt)."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
    dtype: Literal["float32", "bfloat16", "float16"] = typer.Option("float32", help="Model weights' dtype."),
    progress: bool = PROGRESS,
) -> None:
    """Track objects through a clip from clicks and boxes on any frames (SAM 2), for remove/decompose/generate."""
    from ..masks import check_prompts, load_tracker, parse_box, parse_point, track, write_footage
    from ..media import read_video
    from ..progress import progress_bar

    check_output_dir("--out", out)
    check_device("--device", device)
    prompts = [parse_point(p) for p in point or []] + [parse_box(b) for b in box or []]
    frames, fps = read_video(video)
    check_prompts(prompts, *frames.shape[:3])
    quiet_hf()
    tracker = load_tracker(model, device, dtype)
    first = min(p.frame for p in prompts)
    with progress_bar(progress, unit="frames", console=console) as bar:
        task = bar.add_task("masks", total=len(frames) + (1 if first > 0 else 0))  # frame `first` is tracked both ways
        tracks = track(frames, prompts, tracker, on_frame=lambda: bar.advance(task))
    write_footage(out, frames, fps, tracks, caption)
    shares = ", ".join(f"{n} {m.mean():.1%}" for n, m in zip(tracks.names, tracks.masks))
    console.print(
        f"{out}: {len(tracks.names)} mask track(s) over {len(frames)} frames ({shares} of the frame); look at {out / 'masks_preview.png'}"
    )
