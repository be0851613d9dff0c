"""RGBA layers in one place: PNG-folder storage with straight alpha, compositing, a checkerboard.

Shared by the layer-recombination generator and by inference (decompose, edit).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import GenomniError
from .media import atomic_dir, frame_files, write_png


def write_rgba_folder(path: Path, rgba: np.ndarray) -> None:
    """(T,H,W,4) uint8 as numbered RGBA PNGs, atomically (temporary folder, then rename)."""
    with atomic_dir(path) as tmp:
        for i, frame in enumerate(rgba):
            write_png(tmp / f"{i:05d}.png", cv2.cvtColor(frame, cv2.COLOR_RGBA2BGRA))


CHUNK = 8  # frames composited at a time: a float copy of a whole clip's layer takes gigabytes


def read_rgba8_folder(path: Path) -> np.ndarray:
    """RGBA PNG folder -> (T,H,W,4) uint8, straight alpha."""
    frames = []
    for f in frame_files(path):
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if img is None or img.ndim != 3 or img.shape[2] != 4:
            raise GenomniError(f"{f}: not an RGBA PNG")
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA))
    return np.stack(frames)


def read_rgba_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """RGBA PNG folder -> (alpha (T,H,W) float [0,1], rgb (T,H,W,3) float [0,1])."""
    return from_rgba8(read_rgba8_folder(path))


def composite(background: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Layers (alpha (T,H,W) float, rgb (T,H,W,3) float) over a background (T,H,W,3) uint8, in order -> uint8,
    CHUNK frames at a time (float64 within a chunk)."""
    out = np.empty(background.shape, np.uint8)
    for i in range(0, len(background), CHUNK):
        acc = background[i : i + CHUNK].astype(np.float64) / 255.0
        for alpha, rgb in layers:
            a = alpha[i : i + CHUNK, ..., None].astype(np.float64)
            acc = a * rgb[i : i + CHUNK] + (1 - a) * acc
        out[i : i + CHUNK] = np.round(acc * 255).clip(0, 255).astype(np.uint8)
    return out


def composite_rgba8(background: np.ndarray, layers: list[np.ndarray]) -> np.ndarray:
    """`composite` of (T,H,W,4) uint8 RGBA layers, converted a chunk at a time (the same values)."""
    out = np.empty(background.shape, np.uint8)
    for i in range(0, len(background), CHUNK):
        out[i : i + CHUNK] = composite(background[i : i + CHUNK], [from_rgba8(x[i : i + CHUNK]) for x in layers])
    return out


def checkerboard(h: int, w: int, cell: int = 8) -> np.ndarray:
    """A gray checkerboard (H,W,3) uint8 to preview transparency on."""
    yy, xx = np.mgrid[:h, :w]
    light = (yy // cell + xx // cell) % 2 == 0
    return np.where(light[..., None], 204, 153).astype(np.uint8).repeat(3, -1)


def least_alpha(solo: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(...,3) floats in [0,1] -> (...): the least alpha that explains `solo` as a layer over `background` (per
    channel, darkening needs (B - S) / B over black and brightening (S - B) / (1 - B) over white; the largest)."""
    eps = 1.0 / 512
    dark = (background - solo) / np.maximum(background, eps)
    bright = (solo - background) / np.maximum(1.0 - background, eps)
    return np.clip(np.maximum(dark, bright).max(-1), 0.0, 1.0)


def truth_layer(solo: np.ndarray, background: np.ndarray, obj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The omnimatte layer of one object from renders with and without it: (alpha (T,H,W), rgb (T,H,W,3)) floats.

    Light transport written down: the render with only this object, S, is the render without it, B, with the
    object and everything it does to the scene (shadow, reflection, bounce light) composited over it,
    S = (1 - a) B + a C. On the object (its instance pixels) a = 1 and C = S. Elsewhere the layer is the least
    opaque one that explains the change: per channel, darkening B to S needs a >= (B - S) / B over black and
    brightening needs a >= (S - B) / (1 - B) over white, so a is the largest of these over the channels and C =
    (S - (1 - a) B) / a lies in [0, 1]: a shadow is black at the opacity it darkens by, a reflection a colour.
    The layer reproduces S exactly wherever S and B differ (and is empty where they agree).
    """
    s, b = solo.astype(np.float64) / 255.0, background.astype(np.float64) / 255.0
    alpha = least_alpha(s, b)
    alpha[obj] = 1.0
    a = alpha[..., None]
    rgb = np.where(a > 0, (s - (1.0 - a) * b) / np.maximum(a, 1e-12), 0.0).clip(0.0, 1.0)
    return alpha.astype(np.float32), rgb.astype(np.float32)


def to_rgba8(alpha: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """(alpha (T,H,W), rgb (T,H,W,3)) floats in [0,1] -> (T,H,W,4) uint8 with straight alpha."""
    return np.concatenate([np.round(rgb * 255), np.round(alpha[..., None] * 255)], -1).clip(0, 255).astype(np.uint8)


def from_rgba8(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T,H,W,4) uint8 -> (alpha (T,H,W), rgb (T,H,W,3)) floats in [0,1]."""
    f = rgba.astype(np.float64) / 255.0
    return f[..., 3], f[..., :3]
