"""Mask tracks from clicks and boxes: SAM 2 video tracking (transformers' `Sam2VideoModel`, or SAM 3's tracker
`Sam3TrackerVideoModel` from a SAM 3 folder), the prompts on any frames, propagated forwards and backwards
through the clip (in windows on long clips).

The model's own processor (`Sam2VideoProcessor`) needs torchvision, which does not run beside the CPU torch build
genomni pins, so its two steps are done here from its code: frames resized to the model's square input size
(bilinear), scaled to [0, 1] and normalised with the ImageNet mean and deviation (SAM 3: 0.5 and 0.5; a folder's
preprocessor config overrides both); prompt coordinates scaled from the frame's width and height to that size; a box
is two points labelled 2 and 3 before the clicks. The model's low-resolution mask logits are resized to its input
size, then to the frame (bilinear both), and thresholded at 0, as the processor's `post_process_masks` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import GenomniError
from .masks import MaskTracks, Prompt, check_prompts

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SAM3_MEAN = SAM3_STD = (0.5, 0.5, 0.5)
# config.json model_type of the model dirs clicks track with -> (transformers' video model, its module, the
# normalisation its processor uses): the released SAM 2.1 checkpoints say "sam2" (one checkpoint for images and
# video), a Sam2VideoModel saved by transformers "sam2_video"; SAM 3's folder ("sam3_video") holds the tracker
# that clicks drive (Sam3TrackerVideoModel), which reads it as it is
TRACKERS = {
    "sam2": ("Sam2VideoModel", "sam2_video", IMAGENET_MEAN, IMAGENET_STD),
    "sam2_video": ("Sam2VideoModel", "sam2_video", IMAGENET_MEAN, IMAGENET_STD),
    "sam3_video": ("Sam3TrackerVideoModel", "sam3_tracker_video", SAM3_MEAN, SAM3_STD),
    "sam3_tracker_video": ("Sam3TrackerVideoModel", "sam3_tracker_video", SAM3_MEAN, SAM3_STD),
}
MODEL_TYPES = tuple(TRACKERS)


@dataclass
class Tracker:
    """A click-driven video tracker: the model, its inference-session class and its input normalisation."""

    model: Any
    session: Any
    mean: tuple[float, ...]
    std: tuple[float, ...]


def load_tracker(model_dir: str | Path, device: str = "cpu", dtype: str = "float32") -> Tracker:
    """A SAM 2 (or SAM 3 tracker) video model from a local folder (`from_pretrained`, nothing fetched), with the
    normalisation of the folder's preprocessor config where it has one; one line naming what to supply when the
    folder is missing or holds another model."""
    folder = Path(model_dir)
    kind = model_kind(folder, "a SAM 2 or SAM 3 video model folder (e.g. facebook/sam2.1-hiera-tiny)", MODEL_TYPES)
    import importlib

    import torch
    import transformers

    class_name, module, default_mean, default_std = TRACKERS[kind]
    model: Any = getattr(transformers, class_name).from_pretrained(str(folder), dtype=getattr(torch, dtype))
    modeling = importlib.import_module(f"transformers.models.{module}.modeling_{module}")
    session = getattr(modeling, class_name.removesuffix("Model") + "InferenceSession")
    mean, std = normalisation(folder, default_mean, default_std)
    return Tracker(model.to(device).eval(), session, mean, std)


def model_kind(folder: Path, supply: str, allowed: tuple[str, ...]) -> str:
    """The model_type of a model folder's config.json, one of `allowed`; one line naming what to `supply` when
    the folder has no config or holds another kind of model."""
    config = folder / "config.json"
    if not config.is_file():
        raise GenomniError(f"--model {folder}: no config.json; supply {supply}, downloaded on a connected machine with huggingface-cli")
    try:
        kind = json.loads(config.read_text()).get("model_type")
    except (ValueError, UnicodeDecodeError, AttributeError):
        raise GenomniError(f"--model {folder}: config.json is not a JSON object") from None
    if kind not in allowed:
        raise GenomniError(f"--model {folder}: a {kind!r} model; supply {supply} ({', '.join(allowed)})")
    return str(kind)


def normalisation(folder: Path, mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The input mean and deviation of a model folder's video (or image) preprocessor config, else the given."""
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        if (folder / name).is_file():
            try:
                found = json.loads((folder / name).read_text())
                return tuple(found.get("image_mean", mean)), tuple(found.get("image_std", std))
            except (ValueError, UnicodeDecodeError, AttributeError):
                raise GenomniError(f"--model {folder}: {name} is not a JSON object") from None
    return mean, std


def model_inputs(video: np.ndarray, size: int, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD) -> Any:
    """(T,3,size,size) float32 tensor: the processor's resize, rescale and normalisation (SAM 2: ImageNet's)."""
    import torch

    mu, sigma = np.array(mean, np.float32), np.array(std, np.float32)
    # the processor resizes with torchvision's antialiased bilinear: OpenCV's area filter when shrinking does the same job
    shrink = video.shape[1] > size or video.shape[2] > size
    method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    frames = [(cv2.resize(f, (size, size), interpolation=method).astype(np.float32) / 255.0 - mu) / sigma for f in video]
    return torch.from_numpy(np.stack(frames).transpose(0, 3, 1, 2).copy())


def _point_inputs(prompt: Prompt, size: int, height: int, width: int) -> dict[str, Any]:
    """The session's point inputs for one prompt: (1,1,N,2) coordinates at the model's size, (1,1,N) labels
    (1 on the object, 0 off it, a box as 2 and 3 first)."""
    import torch

    sx, sy = size / width, size / height
    coords = [(x * sx, y * sy) for x, y, _ in prompt.points]
    labels = [1 if positive else 0 for _, _, positive in prompt.points]
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        coords, labels = [(x0 * sx, y0 * sy), (x1 * sx, y1 * sy), *coords], [2, 3, *labels]
    return {
        "point_coords": torch.tensor([[coords]], dtype=torch.float32),
        "point_labels": torch.tensor([[labels]], dtype=torch.int32),
    }


def track(
    video: np.ndarray, prompts: Iterable[Prompt], tracker: Tracker, on_frame: Callable[[], None] | None = None, window: int = 0
) -> MaskTracks:
    """Masks of every prompted object in every frame of `video` (T,H,W,3 uint8): the prompts set on their frames,
    then propagated forwards from the first prompted frame and backwards from it; `on_frame` is called after each
    frame a propagation tracks (`track_steps` calls in all).

    With `window` (frames, >= 2) shorter than the clip, the tracker never holds more than `window` frames (its
    session keeps every frame at the model's input size and every frame's memory): the clip is tracked in windows
    that overlap by one frame, each started from the masks the previous one ended with (SAM's mask prompt), so
    memory stays bounded on long clips; an object whose mask is empty where a window ends is not carried on."""
    t, h, w = video.shape[:3]
    prompts = check_prompts(list(prompts), t, h, w)
    names = list(dict.fromkeys(p.name for p in prompts))
    first = min(p.frame for p in prompts)
    if window <= 0 or t <= window:
        return MaskTracks(names, _segment(video, prompts, {}, names, tracker, first, (False, True), on_frame))
    if window < 2:
        raise GenomniError(f"--window must be at least 2 frames (one overlaps the next window), got {window}")
    masks = np.zeros((len(names), t, h, w), bool)
    start, carry = first, dict[str, np.ndarray]()
    while True:  # forwards from the first prompt, each window starting on the last one's final frame
        end = min(t, start + window)
        here = [Prompt(p.name, p.frame - start, p.points, p.box) for p in prompts if start <= p.frame < end]
        masks[:, start:end] = _segment(video[start:end], here, carry, names, tracker, 0, (False,), on_frame)
        if end == t:
            break
        carry = {n: masks[i, end - 1] for i, n in enumerate(names) if masks[i, end - 1].any()}
        start = end - 1
    end, carry = first + 1, {n: masks[i, first] for i, n in enumerate(names) if masks[i, first].any()}
    while end > 1:  # backwards from the first prompt
        start = max(0, end - window)
        masks[:, start:end] = _segment(video[start:end], [], carry, names, tracker, end - 1 - start, (True,), on_frame)
        carry = {n: masks[i, start] for i, n in enumerate(names) if masks[i, start].any()}
        end = start + 1
    return MaskTracks(names, masks)


def track_steps(frames: int, first: int, window: int = 0) -> int:
    """How many times `track` calls `on_frame` on a clip of `frames` frames whose first prompt is on `first`."""
    if window <= 0 or frames <= window:
        return frames + 1  # the first prompted frame is tracked both ways
    steps, start = 0, first
    while True:
        end = min(frames, start + window)
        steps += end - start
        if end == frames:
            break
        start = end - 1
    end = first + 1
    while end > 1:
        start = max(0, end - window)
        steps += end - start
        end = start + 1
    return steps


def _segment(
    video: np.ndarray,
    prompts: list[Prompt],
    carry: dict[str, np.ndarray],
    names: list[str],
    tracker: Tracker,
    start: int,
    directions: tuple[bool, ...],
    on_frame: Callable[[], None] | None,
) -> np.ndarray:
    """(N,T,H,W) masks of `names` over `video` from one tracker session: `carry` masks given as mask prompts on
    frame `start`, the `prompts` on theirs, then propagated from `start` in each direction (reverse or not)."""
    import torch
    import torch.nn.functional as F

    t, h, w = video.shape[:3]
    model = tracker.model
    size = int(model.config.image_size)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    session = tracker.session(
        video=model_inputs(video, size, tracker.mean, tracker.std).to(device, dtype),
        video_height=h,
        video_width=w,
        inference_device=device,
        dtype=dtype,
    )
    masks = np.zeros((len(names), t, h, w), bool)

    def keep(output: Any) -> None:
        square = F.interpolate(output.pred_masks.float(), size=(size, size), mode="bilinear", align_corners=False)
        logits = F.interpolate(square, size=(h, w), mode="bilinear", align_corners=False)[:, 0]  # as post_process_masks
        for obj_id, m in zip(session.obj_ids, logits):
            masks[obj_id - 1, output.frame_idx] = (m > 0).cpu().numpy()

    with torch.no_grad():
        if carry:  # as the processor's mask prompt: resized to the model's input, kept where at least half covered
            for name, mask in carry.items():
                square = F.interpolate(
                    torch.from_numpy(mask)[None, None].float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True
                )
                session.add_mask_inputs(session.obj_id_to_idx(names.index(name) + 1), start, (square >= 0.5).float().to(device, dtype))
            session.obj_with_new_inputs = [names.index(n) + 1 for n in carry]
            keep(model(inference_session=session, frame_idx=start))
        for frame in sorted({p.frame for p in prompts}):
            here = [p for p in prompts if p.frame == frame]
            for p in here:  # object ids: 1 + the name's place in `names`
                session.add_point_inputs(session.obj_id_to_idx(names.index(p.name) + 1), frame, _point_inputs(p, size, h, w))
            session.obj_with_new_inputs = [names.index(p.name) + 1 for p in here]
            keep(model(inference_session=session, frame_idx=frame))
        if not session.obj_ids:  # nothing carried into this window and no prompt in it: every object was lost
            for _ in range(sum(start + 1 if reverse else t - start for reverse in directions)):
                if on_frame is not None:
                    on_frame()
            return masks
        for reverse in directions:
            for output in model.propagate_in_video_iterator(session, start_frame_idx=start, reverse=reverse):
                keep(output)
                if on_frame is not None:
                    on_frame()
    return masks
