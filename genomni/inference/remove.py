"""`genomni remove`: Casper object-and-effect removal on a user's video of any length and size.

For N objects it runs N+1 times: once with every object removed (the clean background) and once
per object with only that object kept (its "solo" video, which still holds its shadows and
reflections); with one object its solo video is the input itself, so one run suffices. Videos are
resized to the model's grid and back, padded to 4n+1 frames and trimmed, and clips longer than the
model's window are denoised as blended overlapping windows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import torch

from .. import quadmask as qm
from .. import trimask as tm
from ..constants import DEFAULT_FPS
from ..errors import GenomniError
from ..footage import Footage, dilate, letterbox, other_objects
from ..media import atomic_write_bytes, resize_video, write_video
from ..models.config import weights_sha256
from ..outdir import locks
from ..pipelines.casper import CasperPipeline
from ..progress import progress_bar
from ..tensors import from_uint8, pick_device, to_uint8
from .config import RemoveConfig
from .windows import blended_velocity, model_size, pad_frames, padded_length

log = logging.getLogger(__name__)


def load_pipeline(path: str, cfg: RemoveConfig) -> CasperPipeline:
    """Load a Casper model for inference on the chosen device; with --offload, diffusers' model CPU offload
    keeps each component on the CPU until it runs (large models on small GPUs)."""
    dtype = {"float32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[cfg.dtype]
    device = pick_device(cfg.device)
    if cfg.offload and device.type == "cpu":
        raise GenomniError("--offload moves model parts to a GPU only while they run; it needs --device cuda")
    pipe = CasperPipeline.from_pretrained(path, torch_dtype=dtype)
    pipe.set_progress_bar_config(disable=True)  # remove shows one rich bar per removal instead
    if cfg.offload:
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.transformer.eval()
    return pipe


def trimasks_for(masks: np.ndarray) -> dict[str, np.ndarray]:
    """'background': every object removed; 'solo_i': object i kept, the others removed; rest 128."""
    out = {"background": np.where(masks.any(0), tm.REMOVE, tm.BACKGROUND).astype(np.uint8)}
    for i in range(len(masks)):
        others = other_objects(masks, i)
        t = np.full(masks.shape[1:], tm.BACKGROUND, np.uint8)
        t[others] = tm.REMOVE
        t[masks[i]] = tm.KEEP
        out[f"solo_{i}"] = t
    return out


def _resize(frames: np.ndarray, h: int, w: int) -> np.ndarray:
    return resize_video(frames, (h, w), grow=cv2.INTER_CUBIC)  # area when shrinking, cubic where a side grows


RIM_GROW, RIM_FEATHER = 2, 2  # px at the input's size: the object's antialiased rim goes with it, then a soft seam


def working_trimask(tri: np.ndarray, h: int, w: int) -> np.ndarray:
    """A (T,H,W) trimask at the working size (h, w), conservatively: a working pixel that holds any removed pixel is
    removed, else one that holds any kept pixel is kept, else background. (Nearest sampling would call a working pixel
    half covered by an object background, and the model would keep the object's colour there.)"""
    if tri.shape[1:] == (h, w):
        return tri
    out = np.full((len(tri), h, w), tm.BACKGROUND, np.uint8)
    for k, frame in enumerate(tri):
        for value in (tm.KEEP, tm.REMOVE):  # removal wins
            hit = cv2.resize((frame == value).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 1e-6
            out[k][hit] = value
    return out


def working_area(area: np.ndarray, h: int, w: int) -> np.ndarray:
    """A (T,H,W) bool area at the working size, conservatively (a working pixel holding any of it is in it)."""
    if area.shape[1:] == (h, w):
        return area
    return np.stack([cv2.resize(a.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 1e-6 for a in area])


def removed_weight(rim: np.ndarray) -> np.ndarray:
    """(H,W) float32 in [0,1] for one frame at the input's size: 1 where the model's enlarged output replaces the
    input (`rim`: the removed objects grown by RIM_GROW px), falling to 0 over RIM_FEATHER px."""
    grown = dilate(rim, RIM_FEATHER).astype(np.float32)
    k = 2 * RIM_FEATHER + 1
    return cv2.blur(grown, (k, k), borderType=cv2.BORDER_REPLICATE)


def back_to_input_size(frames: np.ndarray, video: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """The removal (T,h,w,3 uint8 at the working size) at the input's size, one frame at a time.

    Where objects are removed (`removed`: (T,H,W) bool at the input's size, with their rim; `removed_weight`) the
    output is the model's own output enlarged (cubic): nothing of the input is kept there, so no ghost of the object's
    detail survives. Elsewhere the input keeps its full detail plus the model's enlarged change, measured against the
    input shrunk *without* the removed pixels (an area average of the rest), so the object's colour, mixed into the
    working pixels along its edge, does not come back as a halo; the shadows and reflections the model removes are
    mostly low-frequency, so their removal carries over (a hard effect edge keeps a faint band of the input's edge,
    about one working pixel wide)."""
    if frames.shape == video.shape:
        return frames
    h, w = video.shape[1:3]
    sh, sw = frames.shape[1:3]
    out = np.empty_like(video)
    for k in range(len(video)):
        model = frames[k].astype(np.float32)
        rim = dilate(removed[k], RIM_GROW)
        weight = removed_weight(rim)
        keep = (~rim).astype(np.float32)  # the rest: what the input shows besides the objects
        share = cv2.resize(keep, (sw, sh), interpolation=cv2.INTER_AREA)[..., None]
        rest = cv2.resize(video[k].astype(np.float32) * keep[..., None], (sw, sh), interpolation=cv2.INTER_AREA)
        shrunk = np.where(share > 1e-3, rest / np.maximum(share, 1e-3), model)  # no change where nothing is kept
        enlarged = cv2.resize(model, (w, h), interpolation=cv2.INTER_CUBIC)
        change = cv2.resize(model - shrunk, (w, h), interpolation=cv2.INTER_CUBIC)
        mixed = weight[..., None] * enlarged + (1 - weight[..., None]) * (video[k].astype(np.float32) + change)
        out[k] = np.clip(mixed, 0, 255).round().astype(np.uint8)
    return out


def keep_bars(frames: np.ndarray, video: np.ndarray, bars: tuple[int, int, int, int]) -> np.ndarray:
    """`frames` with the video's letterbox bars (`footage.letterbox`) put back: a removal changes nothing there, and a
    bar the model lifted by a few levels would otherwise enter the layers as a change."""
    top, bottom, left, right = bars
    h, w = video.shape[1:3]
    for rows, cols in (
        (slice(0, top), slice(None)),
        (slice(h - bottom, h), slice(None)),
        (slice(None), slice(0, left)),
        (slice(None), slice(w - right, w)),
    ):
        frames[:, rows, cols] = video[:, rows, cols]
    return frames


@dataclass
class RemovalPlan:
    """How a video is removed: sampling steps, working (height, width), its frames, padded frame count, and
    the latent frames, window and stride of the temporal windows."""

    steps: int
    size: tuple[int, int]
    frames: int
    padded: int
    latent_frames: int
    latent_window: int
    latent_stride: int


def prompt_for(cfg: RemoveConfig, footage: Footage) -> str:
    """The caption the model is given: --prompt, else the footage's own (prompt.json, caption.txt), else empty."""
    return cfg.prompt if cfg.prompt is not None else (footage.prompt or "")


class Remover:
    """Runs Casper removals on one footage: shared encodings, one sampling per trimask."""

    def __init__(self, pipe: CasperPipeline, cfg: RemoveConfig):
        self.pipe, self.model, self.cfg = pipe, pipe.model_on_device(), cfg
        c, extra = self.model.config, self.model.config.extra
        self.multiple = self.model.size_multiple
        recipe = extra.get("train_defaults", {})
        trained = extra.get("train_clip") or [recipe.get("frames"), recipe.get("height"), recipe.get("width")]
        self.max_side = cfg.max_side or (max(trained[1], trained[2]) if trained[1] else None)
        self.window = cfg.window or trained[0]
        self.steps = cfg.steps or self.model.inference_steps
        if self.window is not None and (self.window - 1) % c.frame_multiple:
            raise GenomniError(f"--window must be {c.frame_multiple}n+1 frames for this model, got {self.window}")

    def plan(self, shape: tuple[int, int, int]) -> "RemovalPlan":
        """Working size, padded frame count and latent windows for a (T,H,W) video."""
        t, h, w = shape
        c = self.model.config
        if self.cfg.size:
            mw, mh = (int(v) for v in self.cfg.size.split("x"))
            if mh % self.multiple or mw % self.multiple:
                raise GenomniError(f"--size {self.cfg.size}: both sides must be multiples of {self.multiple} for this model")
        else:
            mh, mw = model_size(h, w, self.multiple, self.max_side)
        padded = padded_length(t, c.frame_multiple)
        latent_len = 1 + (padded - 1) // c.temporal_scale
        if self.window is None or self.window >= padded:
            lw, ls = latent_len, latent_len
        else:
            lw = 1 + (self.window - 1) // c.temporal_scale
            stride = self.cfg.stride or self.model.config.extra.get("inference_stride") or max(c.frame_multiple, (self.window - 1) * 3 // 4)
            ls = max(1, min(lw, stride // c.temporal_scale))
        self.model.check_clip(1 + (lw - 1) * c.temporal_scale, mh, mw)  # before any work: the window must fit the model
        return RemovalPlan(self.steps, (mh, mw), t, padded, latent_len, lw, ls)

    def run(self, footage: Footage, outputs: list[str] | None = None, progress: Any = None) -> dict[str, np.ndarray]:
        """Removal videos (T,H,W,3) uint8 at the footage's size, keyed 'background' and 'solo_i'."""
        return dict(self.removals(footage, outputs, progress))

    @torch.no_grad()
    def removals(self, footage: Footage, outputs: list[str] | None = None, progress: Any = None) -> Iterator[tuple[str, np.ndarray]]:
        """Yield (name, video) one removal at a time; the input video is encoded once for all of them."""
        model, cfg = self.pipe.model_on_device(), self.cfg
        plan = self.plan(footage.shape)
        mh, mw = plan.size
        masks = dilate(footage.masks, cfg.dilate)
        bars = letterbox(footage.video, footage.masks)
        if any(bars):
            log.info("letterbox bars kept as they are (top, bottom, left, right px): %s", bars)
        small = _resize(footage.video, mh, mw)
        video, t = pad_frames(small, model.config.frame_multiple)
        x = from_uint8(video)[None]
        latent = model.encode_input(x)
        text = model.encode_text([prompt_for(cfg, footage)]).to(model.device)
        uncond = model.encode_text([""]).to(model.device) if cfg.guidance != 1.0 else None
        image = model.encode_image(x)  # the first frame's CLIP tokens, shared by every window (as the public code does)
        velocity = blended_velocity(lambda a, b, s, e: model.denoise(a, b, s, e, image=image), plan.latent_window, plan.latent_stride)
        for name, tri in trimasks_for(masks).items():
            if outputs is not None and name not in outputs:
                continue
            if name == "solo_0" and len(masks) == 1:  # nothing else to remove: the solo video is the input
                yield name, footage.video
                continue
            # a quadmask says what removing every object changes: the background's removal takes it, a solo's not
            affected = qm.affected(footage.quadmask) if footage.quadmask is not None and name == "background" else None
            tri_m = working_trimask(tri, mh, mw)
            if model.wants_quadmask:
                quad = qm.compose(tri_m == tm.REMOVE, np.zeros(tri_m.shape, bool) if affected is None else working_area(affected, mh, mw))
                mask = torch.from_numpy(pad_frames(quad, model.config.frame_multiple)[0].astype(np.float32) / 255.0)[None, None]
            else:
                mask = torch.from_numpy(tm.to_float(pad_frames(tri_m, model.config.frame_multiple)[0]))[None, None]
            cond = model.conditioning(latent, mask, x).to(model.device)
            task = progress.add_task(name, total=self.steps) if progress is not None else None

            def on_step(pipe: CasperPipeline, i: int, t: torch.Tensor, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
                if progress is not None:
                    progress.update(task, completed=i + 1)
                return tensors

            seed = torch.Generator().manual_seed(cfg.seed)
            lat = self.pipe.sample(cond, text, self.steps, seed, cfg.guidance, uncond, velocity=velocity, callback_on_step_end=on_step)
            if not torch.isfinite(lat).all():
                raise GenomniError(
                    f"{name}: the model produced values that are not finite (NaN or inf); its weights are "
                    f"broken (check the model dir) or --guidance is too large"
                )
            out = model.decode_latents(lat)[0]
            frames = to_uint8(out)[:t]
            replaced = tri == tm.REMOVE if affected is None or not model.wants_quadmask else (tri == tm.REMOVE) | affected
            yield name, keep_bars(back_to_input_size(frames, footage.video, replaced), footage.video, bars)


def output_name(name: str, names: list[str], fmt: str) -> str:
    """background.mp4, solo_<object name>.mp4 (a folder for png)."""
    stem = name if name == "background" else f"solo_{names[int(name.split('_')[1])]}"
    return stem if fmt == "png" else f"{stem}.{fmt}"


@dataclass
class RemoveReport:
    """What a removal run wrote (remove.json): output file per removal, objects, which were written now and
    which kept from before (--resume), the options, the model, the working plan and timings."""

    outputs: dict[str, str]
    objects: list[str]
    written: list[str]
    skipped: list[str]
    config: dict[str, Any]
    model: str
    plan: dict[str, Any]
    timings: dict[str, float]
    identity: dict[str, Any]
    complete: bool = True


def removal_identity(footage: Footage, model_dir: str, cfg: RemoveConfig) -> dict[str, Any]:
    """What a removal's outputs depend on: the video and masks (content hashes), the model weights and the
    sampling options. A resumed run must match it."""
    video = hashlib.sha256(footage.video.tobytes() + str(footage.video.shape).encode()).hexdigest()[:16]
    masks = hashlib.sha256(np.packbits(footage.masks).tobytes() + json.dumps(footage.names).encode()).hexdigest()[:16]
    quad = None if footage.quadmask is None else hashlib.sha256(footage.quadmask.tobytes()).hexdigest()[:16]
    return {
        "video_sha256": video,
        "masks_sha256": masks,
        **({"quadmask_sha256": quad} if quad else {}),
        "model_sha256": weights_sha256(model_dir),
        "config": {k: v for k, v in asdict(cfg).items() if k not in ("device", "offload")},
    }


def guard_resume(out: Path, record: str, identity: dict[str, Any], resume: bool, outputs: list[str]) -> None:
    """Refuse to touch a folder holding another run's outputs: without --resume any earlier output is refused;
    with it, the recorded identity (video, masks, model, options) must equal this run's."""
    found = [n for n in [record, *outputs] if (out / n).exists()]
    if not found:
        return
    if not resume:
        raise GenomniError(
            f"{out} already holds {', '.join(found[:3])}; pass --resume to finish that run or choose a new --out (nothing was changed)"
        )
    try:
        before = json.loads((out / record).read_text()).get("identity")
    except (OSError, json.JSONDecodeError, AttributeError):
        before = None
    if before != identity:
        what = [k.replace("_sha256", "") for k in identity if not before or before.get(k) != identity[k]]
        raise GenomniError(
            f"--resume: {out} holds a run with a different {', '.join(what) or 'record'}; choose a new --out (nothing was changed)"
        )


def _recorded_plan(path: Path) -> dict[str, Any]:
    """The working plan an earlier run recorded in remove.json (written before its first output), or {}."""
    try:
        plan = json.loads(path.read_text()).get("plan") if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        return {}
    return plan if isinstance(plan, dict) else {}


@locks("out_dir")
def remove(
    footage: Footage, model_dir: str, out_dir: str | Path, cfg: RemoveConfig, resume: bool = False, show_progress: bool = True
) -> RemoveReport:
    """Write the background and solo videos of a footage into out_dir; `resume` skips finished ones."""

    out = Path(out_dir)
    fps = footage.fps or DEFAULT_FPS
    if cfg.prompt is None:  # recorded as the prompt used
        cfg = replace(cfg, prompt=prompt_for(cfg, footage))
        log.info("prompt: %r (%s)", cfg.prompt, "from the footage folder" if footage.prompt else "none given")
    h, w = footage.shape[1:]
    if cfg.format == "mp4" and (h % 2 or w % 2):  # before the model runs and anything is written
        raise GenomniError(f"--format mp4 (H.264) needs even width and height, the clip is {w}x{h}: use --format mkv (lossless) or png")
    names = ["background"] + [f"solo_{i}" for i in range(len(footage.names))]
    identity = removal_identity(footage, model_dir, cfg)
    guard_resume(out, "remove.json", identity, resume, [output_name(n, footage.names, cfg.format) for n in names])
    todo = [n for n in names if not (resume and (out / output_name(n, footage.names, cfg.format)).exists())]
    timings: dict[str, float] = {}
    t0 = time.time()
    pipe = load_pipeline(model_dir, cfg) if todo else None
    timings["load_s"] = time.time() - t0
    remover = Remover(pipe, cfg) if pipe is not None else None
    if remover is not None and (cfg.quadmask or cfg.affected) and not remover.model.wants_quadmask:
        flag = "--quadmask" if cfg.quadmask else "--affected"
        raise GenomniError(f"{flag}: {model_dir} was trained with trimasks; a quadmask needs a model trained with --mask quadmask")
    if remover is not None and footage.quadmask is not None and not remover.model.wants_quadmask:
        log.info("the footage's quadmask.mkv is not used: %s was trained with trimasks", model_dir)
    if remover is not None:  # every size and capacity limit is checked here, before anything is written
        plan = asdict(remover.plan(footage.shape))
        log.info("removal plan for %s: %s", out, plan)
    else:  # a resume with every output there: the plan the run that made them recorded (same identity)
        plan = _recorded_plan(out / "remove.json")
    out.mkdir(parents=True, exist_ok=True)
    started = {"identity": identity, "complete": False, "plan": plan}
    atomic_write_bytes(out / "remove.json", (json.dumps(started, indent=2) + "\n").encode())
    written = []
    if remover is not None:
        with progress_bar(show_progress) as bar:
            t1 = time.time()
            for name, frames in remover.removals(footage, todo, bar):  # each written as soon as it is done
                write_video(out / output_name(name, footage.names, cfg.format), frames, fps)
                timings[f"{name}_s"] = time.time() - t1
                written.append(name)
                t1 = time.time()
    report = RemoveReport(
        {n: output_name(n, footage.names, cfg.format) for n in names},
        footage.names,
        written,
        [n for n in names if n not in todo],
        asdict(cfg),
        str(model_dir),
        plan,
        timings,
        identity,
    )
    atomic_write_bytes(out / "remove.json", (json.dumps(asdict(report), indent=2, default=list) + "\n").encode())
    return report
