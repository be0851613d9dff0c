"""Object masks for a user's clip: the prompts a person types (clicks and boxes on any frames), the mask tracks
(`MaskTracks`), naming what the motion method found, and the genomni footage folder they are written to (input,
`masks/<name>/`, caption, previews) that `remove`, `decompose`, `generate tripod|objectpaste` and `eval` take, and
edits of one. The trackers that make the masks: `sam_tracking` (SAM 2/SAM 3 clicks and boxes), `text_masks`
(SAM 3 phrases), `motion_masks` (static cameras, no weights).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import GenomniError


@dataclass(frozen=True)
class Prompt:
    """One object's prompt on one frame: clicks (x, y, positive) and/or a box (x0, y0, x1, y1), in frame pixels."""

    name: str
    frame: int
    points: tuple[tuple[float, float, bool], ...] = ()
    box: tuple[float, float, float, float] | None = None


@dataclass
class MaskTracks:
    """Binary masks per object: `masks` (N,T,H,W) bool, in `names` order."""

    names: list[str]
    masks: np.ndarray


_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def parse_point(text: str) -> Prompt:
    """`NAME:FRAME:X,Y` (a click on the object) or `NAME:FRAME:X,Y:neg` (a click off it) -> Prompt."""
    m = re.fullmatch(rf"({_NAME}):(\d+):([-\d.]+),([-\d.]+)(:neg)?", text.strip())
    if m is None:
        raise GenomniError(f"--point takes NAME:FRAME:X,Y or NAME:FRAME:X,Y:neg (pixels), got {text!r}")
    try:
        x, y = float(m.group(3)), float(m.group(4))
    except ValueError:
        raise GenomniError(f"--point {text!r}: X and Y must be numbers") from None
    return Prompt(m.group(1), int(m.group(2)), points=((x, y, m.group(5) is None),))


def parse_box(text: str) -> Prompt:
    """`NAME:FRAME:X0,Y0,X1,Y1` (the object's box, pixels) -> Prompt."""
    m = re.fullmatch(rf"({_NAME}):(\d+):([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)", text.strip())
    if m is None:
        raise GenomniError(f"--box takes NAME:FRAME:X0,Y0,X1,Y1 (pixels), got {text!r}")
    try:
        x0, y0, x1, y1 = (float(m.group(k)) for k in range(3, 7))
    except ValueError:
        raise GenomniError(f"--box {text!r}: the corners must be numbers") from None
    if not (x1 > x0 and y1 > y0):
        raise GenomniError(f"--box {text!r}: X1,Y1 must lie right of and below X0,Y0")
    return Prompt(m.group(1), int(m.group(2)), box=(x0, y0, x1, y1))


def check_prompts(prompts: list[Prompt], frames: int, height: int, width: int) -> list[Prompt]:
    """One line for a prompt outside the clip (a frame past its end, a click or box outside the frame), and at
    most one box per object and frame; prompts of the same object and frame merged."""
    if not prompts:
        raise GenomniError("give at least one --point or --box: what to track")
    merged: dict[tuple[str, int], Prompt] = {}
    for p in prompts:
        if p.frame >= frames:
            raise GenomniError(f"prompt for {p.name!r} on frame {p.frame}: the clip has {frames} frames (0..{frames - 1})")
        coords = [(x, y) for x, y, _ in p.points] + ([p.box[:2], p.box[2:]] if p.box else [])
        for x, y in coords:
            if not (0 <= x <= width and 0 <= y <= height):
                raise GenomniError(f"prompt for {p.name!r} on frame {p.frame}: ({x:g}, {y:g}) lies outside the {width}x{height} frame")
        old = merged.get((p.name, p.frame))
        if old is not None and old.box is not None and p.box is not None:
            raise GenomniError(f"{p.name!r} has two boxes on frame {p.frame}; give one")
        merged[(p.name, p.frame)] = Prompt(
            p.name, p.frame, (old.points if old else ()) + p.points, p.box if p.box is not None else (old.box if old else None)
        )
    return list(merged.values())


def name_tracks(tracks: MaskTracks, prompts: list[Prompt]) -> MaskTracks:
    """Name found tracks from clicks (`--method motion`): each positive click names the track under it on its
    frame (tracks clicked with one name become one object; unclicked tracks are left out). No clicks: the tracks
    as found. One line for a click on no track, a track given two names, or a box or negative click."""
    if not prompts:
        return tracks
    chosen: dict[str, np.ndarray] = {}
    owner: dict[int, str] = {}
    for p in prompts:
        if p.box is not None or any(not positive for _, _, positive in p.points):
            raise GenomniError(
                f"{p.name!r}: --method motion takes positive --point clicks that pick and name what it found (no --box, no :neg)"
            )
        for x, y, _ in p.points:
            row, col = min(int(y), tracks.masks.shape[2] - 1), min(int(x), tracks.masks.shape[3] - 1)
            hit = [i for i in range(len(tracks.names)) if tracks.masks[i, p.frame, row, col]]
            if not hit:
                raise GenomniError(
                    f"--point {p.name}:{p.frame}:{x:g},{y:g}: nothing moves there on frame {p.frame} "
                    f"(found: {len(tracks.names)} moving object(s); look at a preview without --point)"
                )
            if owner.setdefault(hit[0], p.name) != p.name:
                raise GenomniError(f"{tracks.names[hit[0]]} was clicked as both {owner[hit[0]]!r} and {p.name!r}; give one name")
            chosen[p.name] = chosen.get(p.name, np.zeros_like(tracks.masks[0])) | tracks.masks[hit[0]]
    return MaskTracks(list(chosen), np.stack(list(chosen.values())))


COLOURS = np.array([(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)], np.float32)


def overlay(frame: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """One RGB frame with each object's mask (N,H,W) tinted in its own colour and outlined."""
    tile = frame.astype(np.float32)
    for i, m in enumerate(masks):
        colour = COLOURS[i % len(COLOURS)]
        tile[m] = 0.5 * tile[m] + 0.5 * colour
        tile[cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0] = colour
    return tile.astype(np.uint8)


def overlay_sheet(video: np.ndarray, tracks: MaskTracks, picks: int = 6, columns: int = 3) -> np.ndarray:
    """(H', W', 3) uint8 RGB: `picks` frames spread over the clip, `columns` to a row, with the masks overlaid
    (`overlay`), to check them before the long work."""
    frames = np.linspace(0, len(video) - 1, min(picks, len(video))).round().astype(int)
    tiles = [overlay(video[k], tracks.masks[:, k]) for k in frames]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    return np.concatenate([np.concatenate(tiles[r : r + columns], 1) for r in range(0, len(tiles), columns)], 0)


def _write_previews(folder: Path, video: np.ndarray, fps: float | None, tracks: MaskTracks) -> None:
    """masks_preview.png (`overlay_sheet`) and masks_preview.mp4 (every frame overlaid; H.264 needs even sides, so
    an odd last row or column is left out of the preview)."""
    from .constants import DEFAULT_FPS
    from .media import write_png, write_video

    write_png(folder / "masks_preview.png", cv2.cvtColor(overlay_sheet(video, tracks), cv2.COLOR_RGB2BGR))
    h, w = (video.shape[1] // 2) * 2, (video.shape[2] // 2) * 2
    shown = np.stack([overlay(f[:h, :w], tracks.masks[:, k, :h, :w]) for k, f in enumerate(video)])
    write_video(folder / "masks_preview.mp4", shown, fps or DEFAULT_FPS)


def require_found(tracks: MaskTracks) -> None:
    """One line naming the objects whose mask is empty in every frame (remove and decompose refuse such a track),
    before anything is written."""
    lost = [n for n, m in zip(tracks.names, tracks.masks) if not m.any()]
    if lost:
        raise GenomniError(
            f"{', '.join(lost)}: the tracker found nothing in any frame; click on the object again (or draw its box), nothing was written"
        )


def write_footage(out: str | Path, video: np.ndarray, fps: float | None, tracks: MaskTracks, caption: str | None = None) -> Path:
    """A genomni footage folder at `out` (a new or empty folder; written beside it, renamed when complete):
    `input.mkv` (the frames, lossless), `masks/<name>/` (binary PNG frames), `caption.txt` when a caption is given,
    `masks_preview.png` (`overlay_sheet`) and `masks_preview.mp4` (every frame overlaid; H.264 needs even sides, so
    an odd last row or column is left out of the preview)."""
    from .constants import DEFAULT_FPS
    from .media import atomic_dir, write_video

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GenomniError(f"--out {out} exists and is not an empty folder; give a new folder for the footage")
    require_found(tracks)
    with atomic_dir(out) as tmp:
        write_video(tmp / "input.mkv", video, fps or DEFAULT_FPS)
        for name, mask in zip(tracks.names, tracks.masks):
            write_video(tmp / "masks" / name, mask.astype(np.uint8) * 255)
        if caption:
            (tmp / "caption.txt").write_text(caption.strip() + "\n", encoding="utf-8")
        _write_previews(tmp, video, fps, tracks)
    return out


def editable_frames(folder: str | Path) -> tuple[np.ndarray, float | None]:
    """The frames and fps of a genomni footage folder (input.* + masks/) that `--edit` changes; one line for
    any other folder."""
    from .footage_folders import GENOMNI, scan_folder
    from .media import read_video

    found = scan_folder(folder)
    if found is None or found.layout != GENOMNI:
        raise GenomniError(f"--edit {folder}: not a genomni footage folder (input.* and masks/, as genomni masks writes)")
    return read_video(found.video)


def edit_footage(folder: str | Path, tracks: MaskTracks, video: np.ndarray, fps: float | None) -> list[str]:
    """Add or replace the tracks' objects in the footage folder at `folder`, whose frames (`editable_frames`) are
    `video`: each written as a PNG folder beside masks/<name> and renamed over it (a mask video of that name is then
    removed), then the previews redrawn with every object. Returns the names of all objects in the folder."""
    from .footage import read_footage
    from .footage_folders import scan_folder
    from .media import write_video

    folder = Path(folder)
    found = scan_folder(folder)
    assert found is not None
    require_found(tracks)
    if tracks.masks.shape[1:] != video.shape[:3]:
        raise GenomniError(f"{found.video}: {video.shape[:3]} frames, the new masks are {tracks.masks.shape[1:]}")
    for name, mask in zip(tracks.names, tracks.masks):
        write_video(folder / "masks" / name, mask.astype(np.uint8) * 255)  # a new folder renamed over the old
        for old in found.masks:
            if old.is_file() and old.stem == name:
                old.unlink()  # the object's earlier track, as a video: replaced by the folder above
    footage = read_footage(found.video, masks_dir=folder / "masks")
    _write_previews(folder, video, fps, MaskTracks(footage.names, footage.masks))
    return footage.names
