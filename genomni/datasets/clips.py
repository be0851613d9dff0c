"""Training clips from Samples: frame window and stride, then augmentation applied identically to
input, target and trimask (and the quadmask, for quadmask models; masks are resized with nearest neighbour, so they
keep their values)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import GenomniError
from ..media import resize_video
from ..sample import Sample


@dataclass
class ClipConfig:
    """Shape of a training clip and the augmentations drawn for it."""

    frames: int = 9
    height: int = 64
    width: int = 64
    stride: int = 1
    hflip: float = 0.5  # probability of a horizontal flip
    reverse: float = 0.0  # probability of playing the clip backwards (off by default: physics runs one way)
    crop_min: float = 1.0  # smallest crop side as a fraction of the frame (1.0 = no random crop)
    quadmask: bool = False  # also cut the sample's quadmask (VOID's; from its trimask when it has none) the same way

    def __post_init__(self) -> None:
        if self.frames < 1 or self.height < 1 or self.width < 1 or self.stride < 1:
            raise GenomniError(
                f"clip frames/size/stride must be positive (got {self.frames} frames, {self.width}x{self.height}, stride {self.stride})"
            )
        if not 0.0 < self.crop_min <= 1.0:
            raise GenomniError(f"crop_min must be in (0, 1], got {self.crop_min}")
        for name in ("hflip", "reverse"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise GenomniError(f"{name} must be a probability in [0, 1], got {getattr(self, name)}")

    def span(self) -> int:
        """Source frames a clip covers."""
        return (self.frames - 1) * self.stride + 1


@dataclass(frozen=True)
class Augment:
    """One draw of the clip's augmentation parameters (so tests can apply a known one)."""

    start: int
    flip: bool
    reverse: bool
    crop: tuple[int, int, int, int]  # top, left, height, width in source pixels


def draw(cfg: ClipConfig, frames: int, height: int, width: int, rng: np.random.Generator) -> Augment:
    """Random window, flip, reversal and crop for a source clip of the given size."""
    if frames < cfg.span():
        raise GenomniError(
            f"a clip of {cfg.frames} frames at stride {cfg.stride} needs {cfg.span()} source frames, the sample has {frames}"
        )
    start = int(rng.integers(0, frames - cfg.span() + 1))
    flip = bool(rng.random() < cfg.hflip)
    rev = bool(rng.random() < cfg.reverse)
    # Crop with the output's aspect ratio, side between crop_min and the largest that fits.
    aspect = cfg.width / cfg.height
    max_h = min(height, int(width / aspect))
    ch = max(1, int(round(max_h * rng.uniform(cfg.crop_min, 1.0))))
    cw = max(1, min(width, int(round(ch * aspect))))
    top = int(rng.integers(0, height - ch + 1))
    left = int(rng.integers(0, width - cw + 1))
    return Augment(start, flip, rev, (top, left, ch, cw))


def apply(sample: Sample, cfg: ClipConfig, aug: Augment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input, target, trimask) of the clip: uint8 (F,H,W,3), (F,H,W,3), (F,H,W)."""
    return cut(sample.input, cfg, aug), cut(sample.target, cfg, aug), cut(sample.trimask, cfg, aug, nearest=True)


def cut(arr: np.ndarray, cfg: ClipConfig, aug: Augment, nearest: bool = False) -> np.ndarray:
    """The clip's frames of one (T,H,W[,3]) video: window, reversal, crop, flip, resize (masks: nearest)."""
    idx = aug.start + cfg.stride * np.arange(cfg.frames)
    if aug.reverse:
        idx = idx[::-1]
    top, left, ch, cw = aug.crop
    x = arr[idx, top : top + ch, left : left + cw]
    if aug.flip:
        x = x[:, :, ::-1]
    return np.ascontiguousarray(resize_video(np.ascontiguousarray(x), (cfg.height, cfg.width), nearest))


def clip_quadmask(sample: Sample, cfg: ClipConfig, aug: Augment) -> np.ndarray:
    """The clip's quadmask: the sample's own, or the one its trimask implies (`quadmask.from_trimask`)."""
    from .. import quadmask as qm

    quad = sample.extras["quadmask"] if "quadmask" in sample.extras else qm.from_trimask(sample.trimask)
    return cut(quad, cfg, aug, nearest=True)
