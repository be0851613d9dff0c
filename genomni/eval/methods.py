"""Methods scored by `genomni eval`: each maps a benchmark scene to a predicted clean background.

- `copy-input`: the input itself (the floor any method must beat outside the objects).
- `cv2-inpaint`: OpenCV Telea inpainting per frame of the dilated union of object masks.
- `temporal-median`: for a static camera, each pixel's median over the frames where no (dilated)
  object covers it; pixels never uncovered fall back to Telea.
- `predictions:DIR`: outputs of any external tool: `DIR/<scene>/` holding one video file or frame
  folder (`background.*` preferred), matched by scene name and checked frame by frame.
- `casper:MODEL_DIR`: genomni's removal (`genomni remove`) with default settings;
  `casper[steps=N]:MODEL_DIR` samples with N steps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..baselines import median_background, telea_background
from ..constants import EFFECT_DILATE
from ..errors import GenomniError
from ..media import VIDEO_SUFFIXES, read_video, resize_video
from ..models.config import weights_sha256
from .benchmarks import Scene

BUILTIN = ("copy-input", "cv2-inpaint", "temporal-median")


def cv2_inpaint(scene: Scene) -> np.ndarray:
    return telea_background(scene.footage.video, scene.footage.masks)


def temporal_median(scene: Scene) -> np.ndarray:
    return median_background(scene.footage.video, scene.footage.masks)


def _prediction_file(folder: Path) -> Path:
    preferred = [p for p in folder.iterdir() if p.stem == "background" and (p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES)]
    if preferred:
        return preferred[0]
    videos = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    if len(videos) == 1:
        return videos[0]
    images = [p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    if images:
        return folder
    raise GenomniError(f"{folder}: no background.* and not exactly one video or a folder of frames")


def predictions(root: Path) -> Callable[[Scene], np.ndarray]:
    def run(scene: Scene) -> np.ndarray:
        folder = root / scene.name
        if not folder.is_dir():
            raise GenomniError(f"{scene.name}: no predictions folder {folder}")
        path = _prediction_file(folder)
        frames, _ = read_video(path)
        t, h, w = scene.background.shape[:3]
        if scene.original_size is not None and frames.shape[1:3] == scene.original_size:
            frames = resize_video(frames, (h, w))  # scored at --resize, like the ground truth
        if frames.shape[0] != t:
            raise GenomniError(f"{scene.name}: prediction {path.name} has {frames.shape[0]} frames, the ground truth {t}")
        if frames.shape[1:3] != (h, w):
            raise GenomniError(f"{scene.name}: prediction {path.name} is {frames.shape[2]}x{frames.shape[1]}, the ground truth {w}x{h}")
        return frames

    return run


def casper(model_dir: str, steps: int | None = None) -> Callable[[Scene], np.ndarray]:
    """genomni's removal with a Casper model dir (needs the training extra: diffusers, transformers)."""
    try:
        from ..inference.remove import RemoveConfig, Remover, load_pipeline
    except ModuleNotFoundError as exc:
        raise GenomniError(
            f"--method casper:{model_dir} runs a Casper model, which needs {exc.name}: pip install -c constraints.txt 'genomni[train]'"
        ) from exc

    cfg = RemoveConfig(steps=steps)  # None: the model's recorded inference steps
    remover = Remover(load_pipeline(model_dir, cfg), cfg)

    def run(scene: Scene) -> np.ndarray:
        return remover.run(scene.footage, ["background"])["background"]

    return run


def resolve(spec: str) -> tuple[str, Callable[[Scene], np.ndarray], dict[str, Any]]:
    """A method spec -> (name, function, provenance). `NAME=SPEC` names the row; by default a folder
    method is named by its full resolved path, so two folders with the same last component never share
    a row or a cache."""
    name, eq, rest = spec.partition("=")
    if eq and re.fullmatch(r"[^:\[\]]+", name):  # `casper[steps=4]:DIR` has '=' but no NAME
        _, fn, prov = resolve(rest)
        return name, fn, prov
    if spec == "copy-input":
        return spec, lambda s: s.footage.video, {}
    if spec == "cv2-inpaint":
        return spec, cv2_inpaint, {"dilate": EFFECT_DILATE, "radius": 3}
    if spec == "temporal-median":
        return spec, temporal_median, {"dilate": EFFECT_DILATE}
    kind, _, arg = spec.partition(":")
    if kind == "predictions" and arg:
        root = Path(arg)
        if not root.is_dir():
            raise GenomniError(f"--method {spec}: {root} does not exist")
        return f"predictions:{root.resolve()}", predictions(root), {"dir": str(root.resolve())}
    steps = re.fullmatch(r"casper\[steps=(\d+)\]", kind)
    if (kind == "casper" or steps) and arg:
        n = int(steps.group(1)) if steps else None
        if n is not None and n < 1:
            raise GenomniError(f"--method {spec}: steps must be >= 1")
        model = str(Path(arg).resolve())
        name = f"casper:{model}" + (f" ({n} steps)" if n else "")
        return name, casper(arg, n), {"model": model, "steps": n, "transformer_sha256": weights_sha256(arg)}
    raise GenomniError(
        f"unknown --method {spec!r}; use {', '.join(BUILTIN)}, predictions:DIR, casper:MODEL_DIR or casper[steps=N]:MODEL_DIR"
    )
