"""RGBA layers in one place: PNG-folder storage with straight alpha, compositing, a checkerboard.

Shared by the layer-recombination generator and by inference (decompose, edit).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import GenomniError
from .media import atomic_dir, frame_files


def write_rgba_folder(path: Path, rgba: np.ndarray) -> None:
    """(T,H,W,4) uint8 as numbered RGBA PNGs, atomically (temporary folder, then rename)."""
    with atomic_dir(path) as tmp:
        for i, frame in enumerate(rgba):
            cv2.imwrite(str(tmp / f"{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGBA2BGRA))


def read_rgba_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """RGBA PNG folder -> (alpha (T,H,W) float [0,1], rgb (T,H,W,3) float [0,1])."""
    frames = []
    for f in frame_files(path):
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if img is None or img.ndim != 3 or img.shape[2] != 4:
            raise GenomniError(f"{f}: not an RGBA PNG")
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA))
    rgba = np.stack(frames).astype(np.float64) / 255.0
    return rgba[..., 3], rgba[..., :3]


def composite(background: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Layers (alpha (T,H,W) float, rgb (T,H,W,3) float) over a background (T,H,W,3) uint8, in order -> uint8."""
    out = background.astype(np.float64) / 255.0
    for alpha, rgb in layers:
        a = alpha[..., None].astype(np.float64)
        out = a * rgb + (1 - a) * out
    return np.round(out * 255).clip(0, 255).astype(np.uint8)


def checkerboard(h: int, w: int, cell: int = 8) -> np.ndarray:
    """A gray checkerboard (H,W,3) uint8 to preview transparency on."""
    yy, xx = np.mgrid[:h, :w]
    light = ((yy // cell + xx // cell) % 2 == 0)
    return np.where(light[..., None], 204, 153).astype(np.uint8).repeat(3, -1)
