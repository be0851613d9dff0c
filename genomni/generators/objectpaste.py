"""`genomni generate objectpaste`: paste an object track from one clip onto a different background clip.

Sample k is a pure function of (seed, k, config): it picks an object track (a footage folder's mask
and its pixels, or an object of a genomni shard's sample via its `instances` member) and a
background clip, then a scale, a horizontal flip, a time offset and a shift that keeps the pasted
object inside the frame in every frame. Input = the background with the object composited through a
soft matte (the mask eroded by `edge_erode` px and feathered by a Gaussian of `edge_feather` px, never
reaching outside the mask, so the source clip's background at the object's rim is not carried along),
and with `shadow_prob` a grounded cast shadow or with `reflection_prob` a reflection (input only; see
`ground_effect`); target = the untouched background clip; trimask 0 where the paste changed a pixel
and 128 elsewhere (255 elsewhere with `keep_prob`, only for samples without a shadow or reflection,
since those are changes the model must make). Area and motion filters are computed on the masks.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import __version__
from .. import trimask as tm
from ..constants import DEFAULT_FPS, MASK_THRESHOLD
from ..errors import GenomniError
from ..footage import MaskOptions
from ..footage_folders import read_folder_footage, scan_folder
from ..media import read_video
from ..options import SEED_BOUNDS, option, require
from ..sample import Sample
from ..shards import SHARD_RE, iter_samples
from .captions import CaptionOptions
from .run import MAX_SCENES, RunOptions, RunSummary, SceneResult, run_generator

SOURCE = "objectpaste"


@dataclass(kw_only=True)
class PasteConfig(MaskOptions, CaptionOptions):
    """Sources, ranges and filters of an objectpaste run (the mask rule included); everything here defines the output."""

    objects: list[str] = option(
        [], "Object sources: footage folders (input.* + masks/, or input_video.mp4 + mask_NN.mp4) or kubric shard dirs; repeatable."
    )
    backgrounds: list[str] = option([], "Background clips: videos, frame folders, footage folders or shard dirs; repeatable.")
    num_samples: int = option(16, "Samples to make (one object pasted each).")
    seed: int = option(0, "Run seed: sample k is a pure function of (seed, k, config).", bounds=SEED_BOUNDS)
    frames: int = option(0, "Frames per sample (0 = as many as both clips allow).")
    scale: tuple[float, ...] = option((0.7, 1.3), "MIN,MAX scale of the object relative to fitting its clip's frame into the background's.")
    flip_prob: float = option(0.5, "Probability of a horizontal flip.")
    min_area: float = option(0.005, "Drop draws whose mean mask area is below this fraction of the frame.")
    max_area: float = option(0.4, "Drop draws whose mean mask area is above this fraction.")
    min_motion: float = option(0.0, "Drop draws whose mask centroid travels fewer pixels.")
    ground_from: float = option(
        0.55,
        "Objects stand on the ground: their lowest row lands below this fraction of the background's height (the "
        "ground of most footage is its lower part; never in the sky). 0 = anywhere.",
    )
    shadow_prob: float = option(0.0, "Probability of a grounded cast shadow (input only).")
    reflection_prob: float = option(
        0.0, "Probability of a reflection below the object's contact line instead (water, glossy floors; input only)."
    )
    shadow_direction: float | None = option(
        None,
        "Direction shadows fall in the image, degrees (0 = right, 90 = down, toward the camera; 270 = up, away from it).",
        show_default="drawn once per background clip",
    )
    edge_erode: int = option(1, "Erode the object's mask by this many pixels before feathering its edge.")
    edge_feather: float = option(1.0, "Gaussian sigma (px) of the soft matte edge (0 = hard edge).")
    keep_prob: float = option(0.0, "Probability of marking the rest 255 (keep) instead of 128, for samples without a shadow.")
    max_attempts: int = option(8, "Draws per sample before it is dropped.")

    def __post_init__(self) -> None:
        MaskOptions.__post_init__(self)
        require(
            [
                (bool(self.objects) and bool(self.backgrounds), "give --objects and --backgrounds (footage folders, videos or shard dirs)"),
                (
                    self.num_samples >= 1 and self.frames >= 0 and self.max_attempts >= 1,
                    "--num-samples and --max-attempts must be >= 1, --frames >= 0",
                ),
                (self.num_samples <= MAX_SCENES, f"--num-samples must be at most {MAX_SCENES:,} per run, got {self.num_samples:,}"),
                (
                    len(self.scale) == 2 and 0 < self.scale[0] <= self.scale[-1],
                    f"--scale must be MIN,MAX with 0 < MIN <= MAX, got {','.join(map(str, self.scale))}",
                ),
                (0 <= self.min_area <= self.max_area <= 1, "need 0 <= --min-area <= --max-area <= 1"),
                (self.edge_erode >= 0 and self.edge_feather >= 0, "--edge-erode and --edge-feather must be >= 0"),
                (self.shadow_prob + self.reflection_prob <= 1, "--shadow-prob + --reflection-prob must be <= 1"),
                (0 <= self.ground_from < 1, f"--ground-from must be a fraction in [0, 1), got {self.ground_from}"),
            ]
        )
        for name in ("flip_prob", "shadow_prob", "reflection_prob", "keep_prob"):
            require([(0 <= getattr(self, name) <= 1, f"--{name.replace('_', '-')} must be in [0, 1]")])


@dataclass
class Clip:
    """A background clip: frames (T,H,W,3), a name, its caption (may be empty) and fps."""

    frames: np.ndarray
    name: str
    caption: str
    fps: float


@dataclass
class Track:
    """One object over time: its clip's pixels (T,H,W,3), its mask (T,H,W) bool, where it came from."""

    frames: np.ndarray
    mask: np.ndarray
    origin: str
    caption: str = ""


def _is_shard_dir(path: Path) -> bool:
    return path.is_dir() and any(SHARD_RE.match(p.name) for p in path.iterdir())


def load_tracks(paths: list[str], threshold: int = MASK_THRESHOLD) -> list[Track]:
    """Object tracks from footage folders (genomni or gen-omnimatte sequence) and shard dirs (objects of samples with
    `instances`)."""
    tracks: list[Track] = []
    for p in map(Path, paths):
        if _is_shard_dir(p):
            for s in iter_samples(p):
                if "instances" not in s.extras or s.meta.get("kept_ids"):
                    continue  # one clip per scene: its remove-all sample
                for i in s.meta.get("object_ids", []):
                    m = s.extras["instances"] == i
                    if m.any():
                        tracks.append(Track(s.input, m, f"{p.name}/{s.key}/object{i:02d}"))
        else:
            found = scan_folder(p)
            if found is None:
                raise GenomniError(f"{p}: neither a shard dir nor a footage folder (input.* + masks/, or input_video.mp4 + mask_NN.mp4)")
            f = read_folder_footage(found, threshold)
            for m, name in zip(f.masks, f.names):
                tracks.append(Track(f.video, m, f"{p.name}/{name}"))
    if not tracks:
        raise GenomniError(f"no object tracks found in {', '.join(paths)}")
    return tracks


def load_backgrounds(paths: list[str]) -> list[Clip]:
    """Background clips: videos, frame folders, footage folders (their input) or shard dirs (remove-all targets)."""
    clips = []
    for p in map(Path, paths):
        if _is_shard_dir(p):
            clips += [Clip(s.target, f"{p.name}/{s.key}", s.caption, s.fps) for s in iter_samples(p) if not s.meta.get("kept_ids")]
        else:
            found = scan_folder(p)
            if found is not None:  # a footage folder: its input video and its own caption
                f = read_folder_footage(found)
                frames, fps, cap = f.video, f.fps, found.prompt or ""
            else:
                (frames, fps), cap = read_video(p), ""
            clips.append(Clip(frames, p.name, cap, fps or DEFAULT_FPS))
    if not clips:
        raise GenomniError(f"no background clips found in {', '.join(paths)}")
    return clips


_CACHE: dict[tuple, Any] = {}


def _sources(cfg: PasteConfig) -> tuple[list[Track], list[Clip]]:
    key = (tuple(cfg.objects), tuple(cfg.backgrounds), cfg.mask_threshold)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = (load_tracks(cfg.objects, cfg.mask_threshold), load_backgrounds(cfg.backgrounds))
    return _CACHE[key]


def soft_alpha(mask: np.ndarray, erode: int, feather: float) -> np.ndarray:
    """(T,H,W) float alpha in [0,1]: the mask eroded by `erode` px and blurred by a Gaussian of `feather` px, then
    cut to the mask (so nothing from outside it is pasted) and snapped to 1 where within 1/512 of it. A frame whose
    object the erosion would remove keeps its plain mask, feathered."""
    if feather <= 0 and erode == 0:
        return mask.astype(np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1)) if erode else None
    out = []
    for m in mask.astype(np.uint8):
        core = cv2.erode(m, kernel) if kernel is not None else m
        if not core.any():
            core = m
        a = cv2.GaussianBlur(core.astype(np.float32), (0, 0), feather) if feather > 0 else core.astype(np.float32)
        a = np.where(a > 1 - 1 / 512, 1.0, a) * m
        out.append(a)
    return np.stack(out).astype(np.float32)


def clip_light(cfg: PasteConfig, background: int) -> float:
    """The direction (degrees, image coordinates) shadows fall in for one background clip: --shadow-direction, else
    drawn once per clip from (seed, clip), so every sample on that clip agrees."""
    if cfg.shadow_direction is not None:
        return float(cfg.shadow_direction)
    return float(np.random.default_rng([cfg.seed, 1_000_003, background]).uniform(0, 360))


def _base_row(m: np.ndarray) -> int | None:
    ys = np.nonzero(m.any(1))[0]
    return int(ys.max()) if len(ys) else None


def ground_effect(
    alpha: np.ndarray, pixels: np.ndarray, kind: str, direction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """A shadow or reflection on the ground, per frame anchored at the object's contact line (its lowest row).

    shadow: each object point at height h above the contact line lands h * length along `direction`, the image-y
    part foreshortened (a ground plane seen at an angle), so the shadow starts at the base and lies flat: it is
    never an upright copy of the object. reflection: the object mirrored below the contact line. Returns the
    effect's opacity (T,H,W) (0 on the object), the colour it blends toward (None for a shadow, which darkens
    each channel by `params["tint"]` times the opacity) and its parameters."""
    t, h, w = alpha.shape
    rad = np.deg2rad(direction)
    if kind == "shadow":
        params = {
            "kind": "shadow",
            "direction": direction,
            "length": float(rng.uniform(0.3, 1.2)),
            "foreshortening": float(rng.uniform(0.25, 0.6)),
            "blur": float(rng.uniform(0.5, 3.0)),
            "strength": float(rng.uniform(0.4, 0.8)),  # real sunlit cores: benchmarks/real_shadows.py
        }
        # skylight fills sunlit shadows: blue darkens less than red (1 = a neutral shadow, as indoors)
        blue = float(rng.uniform(0.65, 1.0))
        params["tint"] = [1.0, (1.0 + blue) / 2, blue]
        dx = params["length"] * np.cos(rad)
        dy = params["length"] * params["foreshortening"] * np.sin(rad)
        floor = 0.2 * params["length"]  # a silhouette cast exactly sideways would be a line: the footprint has depth
        dy = dy if abs(dy) >= floor else float(np.copysign(floor, dy or 1.0))
    else:
        params = {"kind": "reflection", "blur": float(rng.uniform(0.0, 1.5)), "strength": float(rng.uniform(0.2, 0.5))}
    opacity, colour = [], np.zeros_like(pixels) if kind == "reflection" else None
    for k in range(t):
        yb = _base_row(alpha[k] > 0)
        if yb is None:
            opacity.append(np.zeros((h, w), np.float32))
            continue
        if kind == "shadow":  # (x, y) at height yb - y -> (x + dx (yb - y), yb + dy (yb - y))
            a = np.float32([[1, -dx, dx * yb], [0, -dy, yb + dy * yb]])
        else:
            a = np.float32([[1, 0, 0], [0, -1, 2 * yb + 1]])
        o = cv2.warpAffine(alpha[k], a, (w, h), flags=cv2.INTER_LINEAR)
        if kind == "reflection":
            colour[k] = cv2.warpAffine(pixels[k], a, (w, h), flags=cv2.INTER_LINEAR)
        if params["blur"] > 0:
            o = cv2.GaussianBlur(o, (0, 0), params["blur"])
        o = np.clip(o, 0, 1)
        o[alpha[k] > 0] = 0
        opacity.append(o)
    out = np.stack(opacity).astype(np.float32)
    # the darkest visible point over the clip gets the full strength: a shadow flattened, blurred and mostly hidden
    # under its object otherwise peaked at a fifth of it (real shadows' cores: benchmarks/real_shadows.py)
    peak = float(out.max(initial=0.0))
    return (out * (params["strength"] / peak) if peak > 0 else out), colour, params


def _place(
    track: Track, bg_shape: tuple[int, ...], n: int, rng: np.random.Generator, cfg: PasteConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | str:
    """Transform a track window onto a background of `bg_shape`; returns (pixels, mask, params) or why not."""
    t0 = int(rng.integers(0, track.frames.shape[0] - n + 1))
    frames, mask = track.frames[t0 : t0 + n], track.mask[t0 : t0 + n]
    h, w = bg_shape[1:3]
    sh, sw = frames.shape[1:3]
    scale = float(rng.uniform(*cfg.scale)) * min(h / sh, w / sw)
    flip = bool(rng.random() < cfg.flip_prob)
    nh, nw = max(1, round(sh * scale)), max(1, round(sw * scale))
    frames = np.stack([cv2.resize(f, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR) for f in frames])
    mask = np.stack([cv2.resize(m.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST) > 0 for m in mask])
    if flip:
        frames, mask = frames[:, :, ::-1], mask[:, :, ::-1]
    ys, xs = np.nonzero(mask.any(0))
    if not len(ys):
        return "the object vanishes at this scale"
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if y1 - y0 > h or x1 - x0 > w:
        return "the scaled object does not fit the background"
    lowest = max(-y0, math.ceil(cfg.ground_from * h) - y1)  # the object's lowest row on the ground (`--ground-from`)
    if lowest > h - y1:
        return "the object is too tall to stand on the ground part of the background"
    oy = int(rng.integers(lowest, h - y1 + 1))  # top-left of the track frame in background coordinates
    ox = int(rng.integers(-x0, w - x1 + 1))
    # an object its source frame cuts (the mask touches that edge) keeps the cut at the background's same edge:
    # pasted mid-frame it would show a straight cut no real object has
    cut = {
        side: bool(edge.any())
        for side, edge in (("top", mask[:, 0]), ("bottom", mask[:, -1]), ("left", mask[:, :, 0]), ("right", mask[:, :, -1]))
    }
    if (cut["top"] and cut["bottom"]) or (cut["left"] and cut["right"]):
        return "the object is cut by opposite edges of its source frame"
    oy = 0 if cut["top"] else h - nh if cut["bottom"] else oy
    ox = 0 if cut["left"] else w - nw if cut["right"] else ox
    if y0 + oy < 0 or y1 + oy > h or x0 + ox < 0 or x1 + ox > w:
        return "the object, cut by its source frame, does not fit against the same edge of the background"
    out_px = np.zeros((n, h, w, 3), np.uint8)
    out_m = np.zeros((n, h, w), bool)
    sy0, sy1 = max(0, -oy), min(nh, h - oy)
    sx0, sx1 = max(0, -ox), min(nw, w - ox)
    out_px[:, sy0 + oy : sy1 + oy, sx0 + ox : sx1 + ox] = frames[:, sy0:sy1, sx0:sx1]
    out_m[:, sy0 + oy : sy1 + oy, sx0 + ox : sx1 + ox] = mask[:, sy0:sy1, sx0:sx1]
    edges = [side for side, touches in cut.items() if touches]
    return out_px, out_m, {"time_offset": t0, "scale": scale, "flip": flip, "offset": [oy, ox], "size": [nh, nw], "cut_edges": edges}


def paste_job(cfg: PasteConfig, index: int) -> SceneResult:
    """Sample `index`: draw, filter on masks, composite; resample up to max_attempts times."""
    tracks, backgrounds = _sources(cfg)
    reasons = []
    for attempt in range(cfg.max_attempts):
        rng = np.random.default_rng([cfg.seed, index, attempt])
        ti, bi = int(rng.integers(len(tracks))), int(rng.integers(len(backgrounds)))
        track, clip = tracks[ti], backgrounds[bi]
        bg = clip.frames
        if track.origin.rsplit("/", 1)[0] == clip.name:
            reasons.append(f"attempt {attempt}: object and background from the same clip")
            continue
        n = cfg.frames or min(track.frames.shape[0], bg.shape[0])
        if n > track.frames.shape[0] or n > bg.shape[0]:
            reasons.append(f"attempt {attempt}: clips shorter than --frames {n}")
            continue
        b0 = int(rng.integers(0, bg.shape[0] - n + 1))
        target = bg[b0 : b0 + n]
        placed = _place(track, target.shape, n, rng, cfg)
        if isinstance(placed, str):
            reasons.append(f"attempt {attempt}: {placed}")
            continue
        pixels, mask, params = placed
        area = float(mask.mean())
        cy = [np.nonzero(m)[0].mean() if m.any() else np.nan for m in mask]
        cx = [np.nonzero(m)[1].mean() if m.any() else np.nan for m in mask]
        motion = float(np.nanmax(np.hypot(np.array(cy) - cy[0], np.array(cx) - cx[0]))) if mask[0].any() else 0.0
        if not cfg.min_area <= area <= cfg.max_area:
            reasons.append(f"attempt {attempt}: mask area {area:.4f} outside [{cfg.min_area}, {cfg.max_area}]")
            continue
        if motion < cfg.min_motion:
            reasons.append(f"attempt {attempt}: mask moves {motion:.1f} px < --min-motion {cfg.min_motion}")
            continue
        alpha = soft_alpha(mask, cfg.edge_erode, cfg.edge_feather)
        inp = target.astype(np.float32)
        effect_meta = None
        draw = rng.random()
        kind = "shadow" if draw < cfg.shadow_prob else "reflection" if draw < cfg.shadow_prob + cfg.reflection_prob else None
        if kind is not None:
            opacity, colour, effect_meta = ground_effect(alpha, pixels, kind, clip_light(cfg, bi), rng)
            region = opacity > 0.02
            ys, xs = np.nonzero(region.any(0))
            if not len(ys):  # cast behind the object itself or out of frame: not drawn, and the sample says so
                effect_meta = None
        if effect_meta is not None:
            if colour is not None:  # a reflection: toward the mirrored object
                under = colour.astype(np.float32)
            else:  # a shadow: each channel darkened by its share of the opacity, inp * (1 - opacity * tint)
                under = inp * (1 - np.float32(effect_meta["tint"]))
            inp = inp * (1 - opacity[..., None]) + under * opacity[..., None]
            effect_meta["region_frac"] = float(region.mean())
            effect_meta["region_box"] = [int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1]
        inp = inp * (1 - alpha[..., None]) + pixels.astype(np.float32) * alpha[..., None]
        inp = np.clip(inp, 0, 255).round().astype(np.uint8)
        changed = alpha > 0
        rest = tm.KEEP if effect_meta is None and rng.random() < cfg.keep_prob else tm.BACKGROUND
        tri = np.where(changed, tm.REMOVE, rest).astype(np.uint8)
        meta = {
            "source": SOURCE,
            "generator": f"genomni.objectpaste {__version__}",
            "scene_index": index,
            "attempt": attempt,
            "seed": cfg.seed,
            "object": track.origin,
            "background": clip.name,
            "background_start": b0,
            "fps": clip.fps,
            "frames": n,
            "removed_ids": [1],
            "kept_ids": [],
            "paste": {**params, "edge_erode": cfg.edge_erode, "edge_feather": cfg.edge_feather},
            "shadow": effect_meta,
            "qc": {"mask_area_frac": area, "mask_motion_px": motion},
        }
        caption = cfg.captions([target], clip.caption, f"background {clip.name}")[0]
        return SceneResult(index, [Sample(f"paste-s{index:07d}", inp, target, tri, caption, meta).validate()], attempt + 1)
    return SceneResult(index, [], cfg.max_attempts, "; ".join(reasons))


def run_objectpaste(cfg: PasteConfig, opts: RunOptions) -> RunSummary:
    """Generate objectpaste samples into `opts.out_dir` (resumable; one sample per scene index)."""
    _sources(cfg)  # load (and validate) the sources once, before any worker starts
    cfg.check_captioner()
    config = json.loads(json.dumps(asdict(cfg)))  # tuples as lists, as the run's identity file stores them
    return run_generator(SOURCE, {"config": config}, cfg.num_samples, partial(paste_job, cfg), opts, {"source": SOURCE, "config": config})
