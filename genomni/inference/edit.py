"""`genomni edit`: re-composite a decomposition folder with edits: drop layers, replace the
background (image or video), retime a layer (frame offset and speed), move/scale a layer.

Layers keep their effects (a moved object takes its shadow along; a dropped one takes it away).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..constants import DEFAULT_FPS
from ..errors import GenomniError
from ..layers import composite, read_rgba_folder
from ..media import COMMENT_FILE, read_video, video_comment, write_video
from .decompose import DECOMPOSITION


@dataclass
class Edits:
    """What to change: layer names to drop, a new background, retimes {name: (offset, speed)},
    moves {name: (dx, dy, scale)} (scale about the layer's alpha centroid)."""

    drop: list[str] = field(default_factory=list)
    background: str | None = None
    retime: dict[str, tuple[float, ...]] = field(default_factory=dict)
    move: dict[str, tuple[float, ...]] = field(default_factory=dict)


DEFAULTS = {"--retime": (0.0, 1.0), "--move": (0.0, 0.0, 1.0)}  # offset, speed; dx, dy, scale


def layer_numbers(values: list[str] | None, what: str) -> dict[str, tuple[float, ...]]:
    """`--retime NAME:OFFSET[:SPEED]` or `--move NAME:DX[:DY[:SCALE]]` values -> {name: numbers}, the missing
    trailing numbers from DEFAULTS; one line for anything else (the command line and the studio share it)."""
    defaults = DEFAULTS[what]
    fields = len(defaults)
    out = {}
    for v in values or []:
        name, *nums = v.split(":")
        try:
            vals = [float(x) for x in nums]
        except ValueError as exc:
            raise GenomniError(f"{what} {v!r}: numbers expected after the layer name") from exc
        if not name or not 1 <= len(vals) <= fields:
            raise GenomniError(f"{what} {v!r}: expected NAME:" + ":".join(["X"] * fields))
        if not all(math.isfinite(x) for x in vals):
            raise GenomniError(f"{what} {v!r}: the numbers must be finite")
        out[name] = tuple(vals) + defaults[len(vals) :]
        if what == "--move" and out[name][-1] <= 0:  # a retime's speed may be 0 (a freeze) or negative (reversed)
            raise GenomniError(f"{what} {v!r}: the scale must be > 0")
    return out


def retime(alpha: np.ndarray, rgb: np.ndarray, offset: float, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Output frame t shows source frame round(offset + t * speed); frames outside the clip are transparent."""
    t = alpha.shape[0]
    src = np.round(offset + np.arange(t) * speed).astype(int)
    valid = (src >= 0) & (src < t)
    idx = src.clip(0, t - 1)
    a, c = alpha[idx].copy(), rgb[idx].copy()
    a[~valid] = 0.0
    return a, c


def move(alpha: np.ndarray, rgb: np.ndarray, dx: float, dy: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Translate by (dx, dy) pixels and scale about the alpha-weighted centroid over the clip."""
    total = alpha.sum()
    if total <= 0:
        return alpha, rgb
    yy, xx = np.mgrid[: alpha.shape[1], : alpha.shape[2]]
    cx, cy = float((alpha * xx).sum() / total), float((alpha * yy).sum() / total)
    m = np.array([[scale, 0, cx - scale * cx + dx], [0, scale, cy - scale * cy + dy]], np.float64)
    h, w = alpha.shape[1:]
    interp = cv2.INTER_NEAREST if scale == 1 and float(dx).is_integer() and float(dy).is_integer() else cv2.INTER_LINEAR
    warp = lambda x: cv2.warpAffine(x, m, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # noqa: E731
    return np.stack([warp(a) for a in alpha]), np.stack([warp(c) for c in rgb])


def load_background(path: str, t: int, h: int, w: int) -> np.ndarray:
    """An image (held for every frame) or a video (looped to the clip's length), resized to (h, w)."""
    p = Path(path)
    if p.is_file() and p.suffix.lower() in (".png", ".jpg", ".jpeg"):
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise GenomniError(f"{p}: unreadable image")
        frames = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)[None]
    else:
        frames, _ = read_video(p)
    frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    return frames[np.arange(t) % len(frames)]


EDIT_MARK = "genomni edit"  # the comment edit stores with what it writes (video metadata, or a frame folder's note)


def check_edit_output(folder: Path, out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an output that would replace what genomni did not write: anything inside the
    decomposition folder (or the folder itself), an existing file or frame folder unless `overwrite`, and with
    `overwrite` anything but a video or frame folder an earlier edit wrote (its metadata or mark says so)."""
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise GenomniError(f"--out {out} is inside the decomposition {folder}; write the edit elsewhere (nothing was changed)")
    if not out.exists():
        return
    if out.is_dir() and any(not re.fullmatch(r"\d{5}\.png", p.name) and p.name != COMMENT_FILE for p in out.iterdir()):
        raise GenomniError(f"--out {out} is a folder holding other files; choose a new --out (nothing was changed)")
    if not overwrite:
        raise GenomniError(f"--out {out} exists; pass --overwrite to replace it or choose a new --out (nothing was changed)")
    if video_comment(out) != EDIT_MARK:
        raise GenomniError(
            f"--out {out} was not written by `genomni edit` (its outputs are tagged; edits made before the tag are not): "
            "--overwrite replaces only an earlier edit; choose a new --out or remove it yourself (nothing was changed)"
        )


def edit(folder: str | Path, out: str | Path, edits: Edits, overwrite: bool = False) -> Path:
    """Apply edits to a decomposition folder and write the re-composited video to `out` (an existing `out` only with
    `overwrite`, and only one an earlier edit wrote; see `check_edit_output`)."""
    folder, out = Path(folder), Path(out)
    if not (folder / DECOMPOSITION).is_file():
        raise GenomniError(f"{folder}: no {DECOMPOSITION}; is this a `genomni decompose` output folder?")
    check_edit_output(folder, out, overwrite)
    frames, fps = edited(folder, edits)
    return write_video(out, frames, fps, comment=EDIT_MARK)


def layer_order(folder: Path) -> tuple[list[str], dict[str, Any]]:
    """The layer names of a decomposition folder, back to front, and its decomposition.json."""
    try:
        report = json.loads((folder / DECOMPOSITION).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GenomniError(f"{folder / DECOMPOSITION}: not valid JSON ({exc})") from exc
    order = report.get("layer_order") if isinstance(report, dict) else None
    if not isinstance(order, list) or not all(isinstance(n, str) and n for n in order):
        raise GenomniError(f"{folder / DECOMPOSITION}: no layer_order list of layer names; is this a `genomni decompose` output folder?")
    return order, report


def edited(folder: str | Path, edits: Edits) -> tuple[np.ndarray, float]:
    """The decomposition at `folder` re-composited with `edits` applied: (T,H,W,3) uint8 frames and the fps
    (what `edit` writes, and what the studio shows)."""
    folder = Path(folder)
    if not (folder / DECOMPOSITION).is_file():
        raise GenomniError(f"{folder}: no {DECOMPOSITION}; is this a `genomni decompose` output folder?")
    order, report = layer_order(folder)
    unknown = sorted((set(edits.drop) | set(edits.retime) | set(edits.move)) - set(order))
    if unknown:
        raise GenomniError(f"unknown layer(s) {', '.join(unknown)}; this decomposition has {', '.join(order)}")
    bg, _ = read_video(folder / "background")
    t, h, w = bg.shape[:3]
    if edits.background:
        bg = load_background(edits.background, t, h, w)
    layers = []
    for name in order:
        if name in edits.drop:
            continue
        alpha, rgb = read_rgba_folder(folder / "layers" / name)
        if alpha.shape != (t, h, w):
            raise GenomniError(
                f"{folder / 'layers' / name}: {alpha.shape[0]} frames of {alpha.shape[2]}x{alpha.shape[1]}, "
                f"the background {t} of {w}x{h}; the decomposition is incomplete or damaged"
            )
        if name in edits.retime:
            alpha, rgb = retime(alpha, rgb, *edits.retime[name])
        if name in edits.move:
            alpha, rgb = move(alpha.astype(np.float32), rgb.astype(np.float32), *edits.move[name])
        layers.append((alpha, rgb))
    fps = report.get("fps", DEFAULT_FPS)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1000:
        raise GenomniError(f"{folder / DECOMPOSITION}: fps {fps!r} is not a frame rate")
    return composite(bg, layers), float(fps)
