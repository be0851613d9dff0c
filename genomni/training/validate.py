"""Held-out validation during training: background PSNR of sampled removals on the whole frame and
inside the object-plus-effect region, beside the copy-input and OpenCV-inpainting baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..baselines import inpaint_telea
from ..constants import EFFECT_DILATE
from ..footage import dilate
from ..media import write_video
from ..metrics import changed, psnr_uint8
from ..tensors import to_uint8  # noqa: F401  (re-exported for the trainer)


def effect_region(inp: np.ndarray, target: np.ndarray, trimask: np.ndarray, grow: int = EFFECT_DILATE) -> np.ndarray:
    """Pixels of removed objects (trimask 0) or changed by their removal, grown by `grow` px."""
    return dilate((trimask == 0) | changed(inp, target), grow)


def inpaint_baseline(inp: np.ndarray, trimask: np.ndarray) -> np.ndarray:
    """The cv2-inpaint baseline of eval on a training clip: Telea on the grown removed-object mask."""
    return inpaint_telea(inp, dilate(trimask == 0, EFFECT_DILATE))


def scores(pred: np.ndarray, inp: np.ndarray, target: np.ndarray, trimask: np.ndarray) -> dict[str, float]:
    """Whole-frame and region PSNR of a prediction."""
    region = effect_region(inp, target, trimask)
    return {"psnr": psnr_uint8(pred, target), "psnr_region": psnr_uint8(pred, target, region)}


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
