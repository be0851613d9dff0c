"""From a clip to layers in the studio: masks from clicks (SAM 2 with the studio's `--masks-model`, or the motion
method for a static camera), then a decomposition with the studio's Casper `--model`; each a background job
(`jobs`) through the library functions `genomni masks` and `genomni decompose` call, writing a new folder under the
studio's work folder (never over one: a new name each time). The request is checked before any work, so a bad
click or a missing model is one line on the page."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import GenomniError
from ..masks import Prompt

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Setup:
    """What the studio may run: where it writes, and the models it was given (None: that step is not offered)."""

    work: Path
    casper_model: str | None = None
    masks_model: str | None = None


_TAKEN: set[Path] = set()  # names given to jobs that have not written them yet
_NAMING = threading.Lock()


def fresh_folder(work: Path, stem: str, suffix: str = "") -> Path:
    """A name under `work` that neither exists nor was given to another job: `stem`, `stem-2`, `stem-3`, ..."""
    with _NAMING:
        n = 1
        while (path := work / f"{stem if n == 1 else f'{stem}-{n}'}{suffix}").exists() or path in _TAKEN:
            n += 1
        _TAKEN.add(path)
        return path


def parse_clicks(body: Any, frames: int, height: int, width: int) -> list[Prompt]:
    """[{name, frame, x, y, positive}] (a click) or [{name, frame, box: [x0, y0, x1, y1]}] (a box drawn) from the
    page -> prompts, checked against the clip."""
    from ..masks import check_prompts

    clicks = body.get("points") if isinstance(body, dict) else None
    if not isinstance(clicks, list) or not clicks:
        raise GenomniError("click on the object at least once (points: a list of {name, frame, x, y, positive})")
    prompts = []
    for c in clicks:
        if not isinstance(c, dict):
            raise GenomniError("each point is {name, frame, x, y, positive}")
        name, frame, x, y = c.get("name"), c.get("frame"), c.get("x"), c.get("y")
        if not (isinstance(name, str) and NAME.fullmatch(name)):
            raise GenomniError(f"object name {name!r}: letters, digits, _ . - (up to 64)")
        if not (isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0):
            raise GenomniError(f"frame {frame!r}: a whole number from 0")
        box = c.get("box")
        if box is not None:
            if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)):
                raise GenomniError(f"box {box!r}: four numbers x0, y0, x1, y1 in pixels")
            x0, y0, x1, y1 = (float(v) for v in box)
            if not (x1 > x0 and y1 > y0):
                raise GenomniError(f"box {box!r}: x1, y1 must lie right of and below x0, y0")
            prompts.append(Prompt(name, frame, box=(x0, y0, x1, y1)))
            continue
        if not (isinstance(x, (int, float)) and isinstance(y, (int, float))) or isinstance(x, bool) or isinstance(y, bool):
            raise GenomniError(f"point ({x!r}, {y!r}): numbers in pixels")
        prompts.append(Prompt(name, frame, points=((float(x), float(y), bool(c.get("positive", True))),)))
    return check_prompts(prompts, frames, height, width)


Report = Callable[[str, float, float | None], None]


def masks_job(setup: Setup, video_path: str, body: Any) -> Callable[[Report], Path]:
    """Check a masks request for the clip at `video_path` now; return the work that writes the footage folder."""
    from ..media import read_video

    method = body.get("method", "sam2") if isinstance(body, dict) else "sam2"
    if method not in ("sam2", "motion"):
        raise GenomniError(f"method {method!r}: sam2 or motion")
    if method == "sam2" and setup.masks_model is None:
        raise GenomniError("SAM 2 masks need a model: start the studio with --masks-model SAM2_DIR (or choose the motion method)")
    video, fps = read_video(video_path)
    prompts = parse_clicks(body, *video.shape[:3])
    out = fresh_folder(setup.work, Path(video_path).stem + "-masks")

    def work(report: Report) -> Path:
        from ..masks import MaskTracks, name_tracks, write_footage
        from ..sam_tracking import load_tracker, track

        tracks: MaskTracks
        if method == "sam2":
            from ..sam_tracking import track_steps

            done = [0]
            total = track_steps(len(video), min(p.frame for p in prompts))

            def frame_done() -> None:
                done[0] += 1
                report("masks", done[0], total)

            tracks = track(video, prompts, load_tracker(setup.masks_model or ""), on_frame=frame_done)
        else:
            from ..motion_masks import MotionOptions, motion_masks, motion_steps

            steps = [0]

            def step_done() -> None:
                steps[0] += 1
                report("masks (motion)", steps[0], motion_steps(len(video)))

            tracks = name_tracks(motion_masks(video, MotionOptions(), on_step=step_done), prompts)
        return write_footage(out, video, fps, tracks)

    return work


def edits_from(request: Any, background: str | None = None) -> Any:
    """{drop: [NAME], retime: ["NAME:OFFSET:SPEED"], move: ["NAME:DX:DY:SCALE"]} -> `Edits`, read as `genomni edit`
    reads its options; `background`: a clip to put behind the layers instead of their own (`edit --background`)."""
    from ..inference.edit import Edits, layer_numbers

    if not isinstance(request, dict) or not all(isinstance(request.get(k, []), list) for k in ("drop", "retime", "move")):
        raise GenomniError("edits: {drop: [names], retime: [NAME:OFFSET:SPEED], move: [NAME:DX:DY:SCALE]}")
    if not all(isinstance(v, str) for k in ("drop", "retime", "move") for v in request.get(k, [])):
        raise GenomniError("edits: every entry is text")
    return Edits(
        background=background,
        drop=list(request.get("drop", [])),
        retime=layer_numbers(request.get("retime", []), "--retime"),
        move=layer_numbers(request.get("move", []), "--move"),
    )


def export_job(setup: Setup, decomposition: str, request: Any, background: str | None = None) -> Callable[[Report], Path]:
    """Check an export of an edited decomposition now; return the work that writes it (`genomni edit`) as a
    new .mp4 under the work folder."""
    from ..inference.edit import edit, layer_order

    edits = edits_from(request, background)
    order, _ = layer_order(Path(decomposition))
    unknown = sorted((set(edits.drop) | set(edits.retime) | set(edits.move)) - set(order))
    if unknown:
        raise GenomniError(f"unknown layer(s) {', '.join(unknown)}; this decomposition has {', '.join(order)}")
    out = fresh_folder(setup.work, Path(decomposition).name + "-edit", ".mp4")

    def work(report: Report) -> Path:
        report("edit", 0, 1)
        edit(decomposition, out, edits)
        report("edit", 1, 1)
        return out

    return work


def decompose_job(setup: Setup, footage_path: str) -> Callable[[Report], Path]:
    """Check a decomposition request for the footage folder at `footage_path` now; return the work that writes
    the decomposition (every progress bar of `decompose` reports to the job)."""
    from ..footage_folders import open_footage

    if setup.casper_model is None:
        raise GenomniError("decomposing needs a Casper model: start the studio with --model MODEL_DIR")
    footage = open_footage(footage_path)
    out = fresh_folder(setup.work, Path(footage_path).name + "-layers")

    def work(report: Report) -> Path:  # decompose's own progress bars report to the job
        from ..inference.config import RemoveConfig
        from ..inference.decompose import decompose
        from ..inference.omnimatte import OmnimatteConfig

        decompose(footage, setup.casper_model or "", out, RemoveConfig(format="png"), OmnimatteConfig(), show_progress=False)
        return out

    return work
