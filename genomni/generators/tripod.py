"""`genomni generate tripod`: training samples from static-camera footage in which objects move.

The camera must not move: the background's motion (tracked corners and RANSAC, ECC for flat scenes, with the
objects and their surroundings masked out and each frame's brightness matched to the first: chained between
consecutive frames, then each frame measured straight against the first; see `camera_path`) is measured,
and a clip whose frame corners move more than `max_shift` pixels is dropped
with the measured motion as its reason. The clean plate is, per pixel, the median over the uncovered
frames in which neither the objects nor their effects (shadows, reflections) cover it (see
`clean_plate`), from the whole clip or, with `plate="sample"`, from each sample's own frames; or a
separately shot clean clip (`clean`). Pixels that no frame uncovers are counted; a clip with more
than `max_uncovered` of them is dropped, and below that they are inpainted in the target (the
trimask is 0 there in every frame), never black. Samples: input = footage
windows, target = the clean plate, trimask 0 on the objects and 128 elsewhere, so the real shadows and
reflections outside the masks are in the input and not in the target.

Footage folders: the layout `genomni data export` writes (`input.*` video or frame folder, `masks/` with one
mask video or folder per object, `caption.txt` describing the clean scene) or a gen-omnimatte sequence folder
(`input_video.mp4`, `mask_NN.mp4`, `prompt.json`); see `genomni.footage_folders`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from .. import __version__
from .. import trimask as tm
from ..baselines import clean_plate
from ..camera_motion import camera_path, camera_shift, path_shift
from ..constants import DEFAULT_FPS, EFFECT_LEVELS
from ..errors import GenomniError
from ..footage import Footage, MaskOptions, dilate
from ..footage_folders import read_folder_footage, require_folder
from ..media import read_video
from ..options import SEED_BOUNDS, option, require
from ..progress import say_step
from ..sample import Sample
from .captions import CaptionOptions
from .run import RunOptions, RunSummary, SceneResult, run_generator, skipping_bad

SOURCE = "tripod"
logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TripodConfig(MaskOptions, CaptionOptions):
    """Inputs and rules of a tripod run; everything here defines the output."""

    inputs: list[str] = option(
        [],
        "Footage folders: input.* + masks/ (one entry per object) + caption.txt, or "
        "gen-omnimatte sequence folders (input_video.mp4 + mask_NN.mp4 + prompt.json) or Kubric render "
        "folders (rgba_*.png + segmentation_*.png).",
        positional=True,
    )
    frames: int = option(0, "Frames per sample (0 = the whole clip).")
    stride: int = option(0, "Frames between sample starts (0 = --frames, no overlap).")
    dilate: int = option(2, "Grow object masks by this many pixels before building the plate and trimask.")
    max_shift: float = option(
        1.0,
        "Drop clips whose camera moves more than this many pixels over the clip "
        "(each frame against the first, on the background: objects and their surroundings masked out).",
    )
    max_uncovered: float = option(
        0.0,
        "Drop clips where more than this fraction of pixels has no clean view: under an object in every frame, or "
        "within --effect-reach of such pixels (their floor is never seen; below it they are filled, see --fill).",
    )
    effect_reach: float = option(
        0.1,
        "How far an object's effects (shadows, contact light) may reach, as a fraction of the frame's shorter side: "
        "a pixel that near an object part that never moves has no clean view (0 = only the pixels under it).",
    )
    fill: str | None = option(
        None,
        "Folder of `genomni remove` outputs, one per footage folder (FILL/<footage name>/background.*, the same "
        "frames): pixels with no clean view take that removal (objects and their effects gone) instead of an "
        "inpainting of the plate around them (OpenCV Telea); meta.fill says which.",
    )
    max_effect: float = option(
        0.3,
        "Drop samples whose target differs from their input on more than this share of the background (a light "
        "change, exposure drift or a plate that missed: a forced real run showed a third to a half).",
    )
    camera_motion_prob: float = option(
        0.0,
        "Probability that a sample gets a synthetic moving camera: a smooth pan and "
        "zoom of a crop, the same for input, target and trimask.",
    )
    seed: int = option(0, "Seed of the camera-motion draws (sample k of clip i is a pure function of seed, i, k).", bounds=SEED_BOUNDS)
    stabilize: bool = option(
        False,
        "Instead of dropping a clip whose camera moves, align its frames to the first and "
        "crop to the area every frame covers (recorded in meta.stabilized).",
    )
    clean: str | None = option(None, "A separately shot clean clip of the same view (one footage folder only).")
    plate: Literal["clip", "sample"] = option(
        "clip",
        "clip: one clean plate from the whole clip (the most frames to see past slow shadows); "
        "sample: each sample's plate from its own frames (scenes that change for good, e.g. a "
        "drawing growing), the clip's plate where a sample never uncovers a pixel.",
    )

    def __post_init__(self) -> None:
        MaskOptions.__post_init__(self)
        require(
            [
                (
                    bool(self.inputs),
                    "give one or more footage folders (input.* + masks/ + caption.txt, or input_video.mp4 + mask_NN.mp4 + prompt.json)",
                ),
                (self.frames >= 0 and self.stride >= 0 and self.dilate >= 0, "--frames, --stride and --dilate must be >= 0"),
                (self.max_shift >= 0 and 0 <= self.max_uncovered <= 1, "--max-shift must be >= 0 and --max-uncovered in [0, 1]"),
                (0 <= self.max_effect <= 1, f"--max-effect must be a fraction in [0, 1], got {self.max_effect}"),
                (0 <= self.effect_reach <= 1, f"--effect-reach must be a fraction in [0, 1], got {self.effect_reach}"),
                (not self.fill or not self.clean, "--fill and --clean exclude each other: a clean clip leaves nothing to fill"),
                (0 <= self.camera_motion_prob <= 1, "--camera-motion-prob must be in [0, 1]"),
                (not self.clean or len(self.inputs) == 1, "--clean goes with exactly one footage folder"),
            ]
        )


def stabilize(video: np.ndarray, masks: np.ndarray, path: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
    """Align every frame to the first along the camera `path` and crop to the box every aligned frame covers
    (even sides): (video, masks (N,T,H,W), [y0, y1, x0, x1]), or None when that box is empty."""
    t, h, w = video.shape[:3]
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64).T
    x0, y0, x1, y1 = 0.0, 0.0, float(w - 1), float(h - 1)
    back = [np.linalg.inv(m) for m in path]  # frame k -> frame 0
    for m in back:
        c = (m @ corners)[:2]
        x0, x1 = max(x0, c[0, 0], c[0, 2]), min(x1, c[0, 1], c[0, 3])
        y0, y1 = max(y0, c[1, 0], c[1, 1]), min(y1, c[1, 2], c[1, 3])
    box = [int(np.ceil(y0)), int(np.floor(y1)) + 1, int(np.ceil(x0)), int(np.floor(x1)) + 1]
    box[1] -= (box[1] - box[0]) % 2
    box[3] -= (box[3] - box[2]) % 2
    if box[1] - box[0] < 16 or box[3] - box[2] < 16:
        return None
    frames = np.stack(
        [cv2.warpAffine(f, m[:2], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for f, m in zip(video, back)]
    )
    aligned = np.stack(
        [
            np.stack([cv2.warpAffine(mk.astype(np.uint8), m[:2], (w, h), flags=cv2.INTER_NEAREST) > 0 for mk, m in zip(track, back)])
            for track in masks
        ]
    )
    return frames[:, box[0] : box[1], box[2] : box[3]], aligned[:, :, box[0] : box[1], box[2] : box[3]], box


def camera_move(rng: np.random.Generator, frames: int, height: int, width: int) -> dict[str, Any]:
    """A smooth synthetic camera for one sample: a crop of 70-90% of the frame whose centre pans and whose size
    zooms (up to 15% either way) from its start to its end along an ease-in-out curve."""

    def box() -> list[float]:
        size = float(rng.uniform(0.7, 0.9))
        return [size, float(rng.uniform(size / 2, 1 - size / 2)), float(rng.uniform(size / 2, 1 - size / 2))]

    start = box()
    end = [min(0.95, max(0.6, start[0] * float(rng.uniform(0.85, 1.15))))]
    end += [
        float(np.clip(start[1] + rng.uniform(-0.1, 0.1), end[0] / 2, 1 - end[0] / 2)),
        float(np.clip(start[2] + rng.uniform(-0.1, 0.1), end[0] / 2, 1 - end[0] / 2)),
    ]
    return {"start": start, "end": end, "frames": frames, "size": [height, width]}


def apply_camera(move: dict[str, Any], video: np.ndarray, nearest: bool = False) -> np.ndarray:
    """Render a (T,H,W[,3]) clip through `camera_move`'s crops (size, centre y, centre x as fractions of the frame),
    resampled back to the full frame: linear for pictures, nearest for trimasks (values stay exact)."""
    t, h, w = video.shape[:3]
    out = []
    for k in range(t):
        a = 0.5 - 0.5 * np.cos(np.pi * k / max(1, t - 1))  # ease in and out
        size, cy, cx = [s0 + a * (s1 - s0) for s0, s1 in zip(move["start"], move["end"])]
        scale = 1 / size
        m = np.float32([[scale, 0, w / 2 - scale * cx * w], [0, scale, h / 2 - scale * cy * h]])
        out.append(
            cv2.warpAffine(video[k], m, (w, h), flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        )
    return np.stack(out)


def no_clean_view(never: np.ndarray, reach: float) -> np.ndarray:
    """(H,W) bool: the pixels no frame uncovers (`never`) and those within `reach` (a fraction of the shorter side) of
    them. A part of an object that never moves keeps its shadow and contact light in place, so the floor near it may
    be under an effect in every frame and no frame shows it clean; near a moving object the plate sees past effects."""
    px = round(reach * min(never.shape))
    return dilate(never[None], px)[0] if px else never


def read_fill(fill_dir: str, folder: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The `genomni remove` background written for footage `folder` under `fill_dir` ((T,H,W,3), the footage's shape)."""
    root = Path(fill_dir) / folder.name
    found = [p for p in (root / "background.mkv", root / "background.mp4", root / "background") if p.exists()]
    if not found:
        raise GenomniError(
            f"--fill {fill_dir}: no {folder.name}/background.mkv, .mp4 or frame folder (a `genomni remove` output for {folder})"
        )
    frames, _ = read_video(found[0])
    if frames.shape != tuple(shape):
        t, h, w = frames.shape[:3]
        raise GenomniError(f"{found[0]}: {t} frames of {w}x{h}, the footage {folder} has {shape[0]} of {shape[2]}x{shape[1]}")
    return frames


def tripod_job(cfg: TripodConfig, index: int) -> SceneResult:
    """Footage folder `index` -> samples, or a dropped result with the measured reason."""
    folder = Path(cfg.inputs[index])
    footage = read_folder_footage(require_folder(folder), cfg.mask_threshold)
    holes = dilate(footage.masks.any(0), cfg.dilate)
    path = camera_path(footage.video, holes)
    shift = path_shift(path, *footage.video.shape[1:3])
    stats: dict[str, Any] = {"camera_shift_px": round(shift, 3)}
    stabilized = None
    if shift > cfg.max_shift and cfg.stabilize and path is not None and not cfg.clean:
        aligned = stabilize(footage.video, footage.masks, path)
        if aligned is not None:
            video, masks, box = aligned
            residual = camera_shift(video, dilate(masks.any(0), cfg.dilate))
            stabilized = {
                "camera_shift_px": round(shift, 3),
                "residual_shift_px": round(residual, 3),
                "crop": box,
                "motion": "similarity (translation, rotation, scale) from the first frame to each",
            }
            footage = Footage(video, masks, footage.names, footage.fps, prompt=footage.prompt)
            holes, shift = dilate(masks.any(0), cfg.dilate), residual
            stats["stabilized"] = stabilized
    if path is None:
        return SceneResult(index, [], 1, "camera motion cannot be measured (too little background, or a background without texture)", stats)
    if shift > cfg.max_shift:
        what = "after stabilizing" if stabilized else ""
        return SceneResult(index, [], 1, f"camera moves{' ' + what if what else ''}: {shift:.2f} px > --max-shift {cfg.max_shift}", stats)
    if cfg.clean:
        clean, _ = read_video(cfg.clean)
        if clean.shape[1:] != footage.video.shape[1:]:
            raise GenomniError(
                f"--clean {cfg.clean}: frames are {clean.shape[2]}x{clean.shape[1]}, "
                f"the footage {footage.video.shape[2]}x{footage.video.shape[1]}"
            )
        plate, never = np.median(clean, axis=0).round().astype(np.uint8), np.zeros(holes.shape[1:], bool)
    else:
        plate, never = clean_plate(footage.video, holes)
    unseen = no_clean_view(never, cfg.effect_reach)  # a --clean clip uncovers every pixel: nothing to grow
    stats["never_uncovered_frac"] = float(never.mean())
    stats["no_clean_view_frac"] = float(unseen.mean())
    if unseen.mean() > cfg.max_uncovered:
        return SceneResult(
            index,
            [],
            1,
            f"{int(unseen.sum())} pixels have no clean view: never uncovered, or within --effect-reach {cfg.effect_reach} of "
            f"such pixels ({unseen.mean():.4f} > --max-uncovered {cfg.max_uncovered})",
            stats,
        )
    fill = read_fill(cfg.fill, folder, footage.video.shape) if cfg.fill and unseen.any() else None
    if fill is None and (unseen & ~never).any():  # never-uncovered pixels are inpainted by clean_plate already
        plate = cv2.inpaint(plate, unseen.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    t = footage.video.shape[0]
    n = cfg.frames or t
    if n > t:
        return SceneResult(index, [], 1, f"clip has {t} frames, --frames asks for {n}", stats)
    step = cfg.stride or n
    starts = list(range(0, t - n + 1, step))
    plates, fallback = [], []
    for start in starts:
        if cfg.plate == "sample" and not cfg.clean and n < t:
            own, unseen = clean_plate(footage.video[start : start + n], holes[start : start + n])
            plates.append(np.where(unseen[..., None], plate, own))
            fallback.append(float(unseen.mean()))
        else:
            plates.append(plate)
            fallback.append(0.0)
    distinct = plates if cfg.plate == "sample" else plates[:1]  # a clip plate is captioned once, not once per sample
    captions = cfg.captions([np.repeat(p[None], 3, axis=0) for p in distinct], footage.prompt, str(folder))
    captions = captions if len(captions) == len(plates) else captions * len(plates)
    samples: list[Sample] = []
    skipped: list[str] = []
    for k, (start, p, caption) in enumerate(zip(starts, plates, captions)):
        say_step(f"{folder.name}: sample {k + 1}/{len(starts)}")
        inp = footage.video[start : start + n]
        tri = np.where(holes[start : start + n], tm.REMOVE, tm.BACKGROUND).astype(np.uint8)
        target = np.repeat(p[None], n, axis=0)
        if fill is not None:
            target = np.where(unseen[None, ..., None], fill[start : start + n], target)
        rng = np.random.default_rng([cfg.seed, index, k])
        move = camera_move(rng, n, *inp.shape[1:3]) if rng.random() < cfg.camera_motion_prob else None
        if move is not None:  # the same synthetic camera for all three
            inp, target, tri = apply_camera(move, inp), apply_camera(move, target), apply_camera(move, tri, nearest=True)
        effect = (np.abs(inp.astype(np.int16) - target).max(-1) > EFFECT_LEVELS) & (tri == tm.BACKGROUND)
        if effect.mean() > cfg.max_effect:
            skipped.append(
                f"sample {k} (frames {start}-{start + n - 1}): target differs from input on {effect.mean():.1%} "
                f"of the background > --max-effect {cfg.max_effect}"
            )
            continue
        meta = {
            "source": SOURCE,
            "generator": f"genomni.tripod {__version__}",
            "footage": folder.name,
            "scene_index": index,
            "clip_start": start,
            "fps": footage.fps or DEFAULT_FPS,
            "frames": n,
            "object_names": footage.names,
            "removed_ids": list(range(1, len(footage.names) + 1)),
            "kept_ids": [],
            "clean_plate": "clip" if cfg.clean else f"{cfg.plate} plate (effects left out)",
            "fill": {
                "pixels_frac": stats["no_clean_view_frac"],
                "by": f"genomni remove output {cfg.fill}/{folder.name}" if fill is not None else "telea inpainting of the plate",
            },
            "stabilized": stabilized,
            "camera_move": move,
            "qc": {
                "camera_shift_px": stats["camera_shift_px"],
                "never_uncovered_frac": stats["never_uncovered_frac"],
                "no_clean_view_frac": stats["no_clean_view_frac"],
                "effect_frac": float(effect.mean()),
                "plate_fallback_frac": fallback[k],
            },
        }
        samples.append(Sample(f"tripod-s{index:07d}-c{k:03d}", inp, target, tri, caption, meta).validate())
    if skipped:
        stats["skipped_samples"] = skipped
        logger.info("%s: %s", folder, "; ".join(skipped))
    return SceneResult(index, samples, 1, None if samples else "; ".join(skipped), stats)


def run_tripod(cfg: TripodConfig, opts: RunOptions, skip_bad: bool = False) -> RunSummary:
    """Generate tripod samples from each footage folder into `opts.out_dir` (resumable); with `skip_bad`, a
    folder with bad input is dropped with its reason instead of stopping the run."""
    cfg.check_captioner()
    if not skip_bad:  # before the output folder exists: a wrong folder is named, nothing is left behind
        for folder in cfg.inputs:
            require_folder(folder)
    identity = {"config": asdict(cfg)}
    job = partial(skipping_bad, partial(tripod_job, cfg)) if skip_bad else partial(tripod_job, cfg)
    return run_generator(SOURCE, identity, len(cfg.inputs), job, opts, {"source": SOURCE, "config": asdict(cfg)})
