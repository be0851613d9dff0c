"""Held-out validation during training: background PSNR of sampled removals on the whole frame and
inside the object-plus-effect region, beside the copy-input and OpenCV-inpainting baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..media import write_video

EFFECT_LEVELS = 6  # |target - input| above this (0..255) counts as an effect, as kubric QC does


def psnr(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB on [0,1] values over all pixels, or over the pixels where `mask` (T,H,W) is true."""
    err = (pred.astype(np.float64) - target.astype(np.float64)) / 255.0
    sq = (err ** 2).mean(-1) if err.ndim == 4 else err ** 2
    mse = float(sq[mask].mean()) if mask is not None else float(sq.mean())
    if mask is not None and not mask.any():
        return float("nan")
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def effect_region(inp: np.ndarray, target: np.ndarray, trimask: np.ndarray, dilate: int = 2) -> np.ndarray:
    """Pixels of removed objects (trimask 0) or changed by their removal, dilated by `dilate` px."""
    changed = np.abs(inp.astype(np.int16) - target.astype(np.int16)).max(-1) > EFFECT_LEVELS
    region = (trimask == 0) | changed
    kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
    return np.stack([cv2.dilate(r.astype(np.uint8), kernel) > 0 for r in region])


def inpaint_baseline(inp: np.ndarray, trimask: np.ndarray, dilate: int = 2, radius: int = 3) -> np.ndarray:
    """OpenCV Telea inpainting of the (dilated) removed-object mask, frame by frame."""
    kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
    out = []
    for frame, m in zip(inp, trimask):
        hole = cv2.dilate((m == 0).astype(np.uint8) * 255, kernel)
        out.append(cv2.inpaint(np.ascontiguousarray(frame), hole, radius, cv2.INPAINT_TELEA))
    return np.stack(out)


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """(3,T,H,W) in [-1,1] -> (T,H,W,3) uint8."""
    x = ((video.float().clamp(-1, 1) + 1.0) * 127.5).round().byte()
    return x.permute(1, 2, 3, 0).cpu().numpy()


def scores(pred: np.ndarray, inp: np.ndarray, target: np.ndarray, trimask: np.ndarray) -> dict[str, float]:
    """Whole-frame and region PSNR of a prediction."""
    region = effect_region(inp, target, trimask)
    return {"psnr": psnr(pred, target), "psnr_region": psnr(pred, target, region)}


def baseline_scores(clips: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean scores of copy-input and cv2-inpaint on the validation clips (they do not change over training)."""
    out: dict[str, list[dict[str, float]]] = {"copy-input": [], "cv2-inpaint": []}
    for c in clips:
        inp, tgt, tm = to_uint8(c["input"]), to_uint8(c["target"]), trimask_uint8(c["trimask"])
        out["copy-input"].append(scores(inp, inp, tgt, tm))
        out["cv2-inpaint"].append(scores(inpaint_baseline(inp, tm), inp, tgt, tm))
    return {k: mean_scores(v) for k, v in out.items()}


def trimask_uint8(mask: torch.Tensor) -> np.ndarray:
    """(1,T,H,W) float {0,0.5,1} -> (T,H,W) uint8 {0,128,255}."""
    m = mask[0].cpu().numpy()
    return np.where(m < 0.25, 0, np.where(m > 0.75, 255, 128)).astype(np.uint8)


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def side_by_side(path: Path, inp: np.ndarray, trimask: np.ndarray, pred: np.ndarray, target: np.ndarray, fps: float) -> None:
    """input | trimask | prediction | target, one mp4 (lossless mkv would not play in browsers)."""
    tm3 = np.repeat(trimask[..., None], 3, axis=-1)
    frames = np.concatenate([inp, tm3, pred, target], axis=2)
    h, w = frames.shape[1:3]
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
    write_video(path, frames, fps)
