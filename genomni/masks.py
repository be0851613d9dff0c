"""Object masks for a user's clip from clicks and boxes: SAM 2 video tracking (transformers' `Sam2VideoModel`, or
SAM 3's tracker `Sam3TrackerVideoModel` from a SAM 3 folder), the prompts on any frames, propagated forwards and
backwards through the clip, written as a genomni footage folder that `remove`, `decompose`, `generate
tripod|objectpaste` and `eval` take.

The model's own processor (`Sam2VideoProcessor`) needs torchvision, which does not run beside the CPU torch build
genomni pins, so its two steps are done here from its code: frames resized to the model's square input size
(bilinear), scaled to [0, 1] and normalised with the ImageNet mean and deviation (SAM 3: 0.5 and 0.5; a folder's
preprocessor config overrides both); prompt coordinates scaled from
the frame's width and height to that size; a box is two points labelled 2 and 3 before the clicks. The model's
low-resolution mask logits are resized to its input size, then to the frame (bilinear both), and thresholded at 0,
as the processor's `post_process_masks` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import GenomniError

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


@dataclass(frozen=True)
class Prompt:
    """One object's prompt on one frame: clicks (x, y, positive) and/or a box (x0, y0, x1, y1), in frame pixels."""

    name: str
    frame: int
    points: tuple[tuple[float, float, bool], ...] = ()
    box: tuple[float, float, float, float] | None = None


@dataclass
class MaskTracks:
    """Binary masks per object: `masks` (N,T,H,W) bool, in `names` order."""

    names: list[str]
    masks: np.ndarray


_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def parse_point(text: str) -> Prompt:
    """`NAME:FRAME:X,Y` (a click on the object) or `NAME:FRAME:X,Y:neg` (a click off it) -> Prompt."""
    m = re.fullmatch(rf"({_NAME}):(\d+):([-\d.]+),([-\d.]+)(:neg)?", text.strip())
    if m is None:
        raise GenomniError(f"--point takes NAME:FRAME:X,Y or NAME:FRAME:X,Y:neg (pixels), got {text!r}")
    try:
        x, y = float(m.group(3)), float(m.group(4))
    except ValueError:
        raise GenomniError(f"--point {text!r}: X and Y must be numbers") from None
    return Prompt(m.group(1), int(m.group(2)), points=((x, y, m.group(5) is None),))


def parse_box(text: str) -> Prompt:
    """`NAME:FRAME:X0,Y0,X1,Y1` (the object's box, pixels) -> Prompt."""
    m = re.fullmatch(rf"({_NAME}):(\d+):([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)", text.strip())
    if m is None:
        raise GenomniError(f"--box takes NAME:FRAME:X0,Y0,X1,Y1 (pixels), got {text!r}")
    try:
        x0, y0, x1, y1 = (float(m.group(k)) for k in range(3, 7))
    except ValueError:
        raise GenomniError(f"--box {text!r}: the corners must be numbers") from None
    if not (x1 > x0 and y1 > y0):
        raise GenomniError(f"--box {text!r}: X1,Y1 must lie right of and below X0,Y0")
    return Prompt(m.group(1), int(m.group(2)), box=(x0, y0, x1, y1))


def check_prompts(prompts: list[Prompt], frames: int, height: int, width: int) -> list[Prompt]:
    """One line for a prompt outside the clip (a frame past its end, a click or box outside the frame), and at
    most one box per object and frame; prompts of the same object and frame merged."""
    if not prompts:
        raise GenomniError("give at least one --point or --box: what to track")
    merged: dict[tuple[str, int], Prompt] = {}
    for p in prompts:
        if p.frame >= frames:
            raise GenomniError(f"prompt for {p.name!r} on frame {p.frame}: the clip has {frames} frames (0..{frames - 1})")
        coords = [(x, y) for x, y, _ in p.points] + ([p.box[:2], p.box[2:]] if p.box else [])
        for x, y in coords:
            if not (0 <= x <= width and 0 <= y <= height):
                raise GenomniError(f"prompt for {p.name!r} on frame {p.frame}: ({x:g}, {y:g}) lies outside the {width}x{height} frame")
        old = merged.get((p.name, p.frame))
        if old is not None and old.box is not None and p.box is not None:
            raise GenomniError(f"{p.name!r} has two boxes on frame {p.frame}; give one")
        merged[(p.name, p.frame)] = Prompt(
            p.name, p.frame, (old.points if old else ()) + p.points, p.box if p.box is not None else (old.box if old else None)
        )
    return list(merged.values())


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


def name_tracks(tracks: MaskTracks, prompts: list[Prompt]) -> MaskTracks:
    """Name found tracks from clicks (`--method motion`): each positive click names the track under it on its
    frame (tracks clicked with one name become one object; unclicked tracks are left out). No clicks: the tracks
    as found. One line for a click on no track, a track given two names, or a box or negative click."""
    if not prompts:
        return tracks
    chosen: dict[str, np.ndarray] = {}
    owner: dict[int, str] = {}
    for p in prompts:
        if p.box is not None or any(not positive for _, _, positive in p.points):
            raise GenomniError(
                f"{p.name!r}: --method motion takes positive --point clicks that pick and name what it found (no --box, no :neg)"
            )
        for x, y, _ in p.points:
            row, col = min(int(y), tracks.masks.shape[2] - 1), min(int(x), tracks.masks.shape[3] - 1)
            hit = [i for i in range(len(tracks.names)) if tracks.masks[i, p.frame, row, col]]
            if not hit:
                raise GenomniError(
                    f"--point {p.name}:{p.frame}:{x:g},{y:g}: nothing moves there on frame {p.frame} "
                    f"(found: {len(tracks.names)} moving object(s); look at a preview without --point)"
                )
            if owner.setdefault(hit[0], p.name) != p.name:
                raise GenomniError(f"{tracks.names[hit[0]]} was clicked as both {owner[hit[0]]!r} and {p.name!r}; give one name")
            chosen[p.name] = chosen.get(p.name, np.zeros_like(tracks.masks[0])) | tracks.masks[hit[0]]
    return MaskTracks(list(chosen), np.stack(list(chosen.values())))


COLOURS = np.array([(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)], np.float32)


def overlay(frame: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """One RGB frame with each object's mask (N,H,W) tinted in its own colour and outlined."""
    tile = frame.astype(np.float32)
    for i, m in enumerate(masks):
        colour = COLOURS[i % len(COLOURS)]
        tile[m] = 0.5 * tile[m] + 0.5 * colour
        tile[cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0] = colour
    return tile.astype(np.uint8)


def overlay_sheet(video: np.ndarray, tracks: MaskTracks, picks: int = 6, columns: int = 3) -> np.ndarray:
    """(H', W', 3) uint8 RGB: `picks` frames spread over the clip, `columns` to a row, with the masks overlaid
    (`overlay`), to check them before the long work."""
    frames = np.linspace(0, len(video) - 1, min(picks, len(video))).round().astype(int)
    tiles = [overlay(video[k], tracks.masks[:, k]) for k in frames]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    return np.concatenate([np.concatenate(tiles[r : r + columns], 1) for r in range(0, len(tiles), columns)], 0)


def _write_previews(folder: Path, video: np.ndarray, fps: float | None, tracks: MaskTracks) -> None:
    """masks_preview.png (`overlay_sheet`) and masks_preview.mp4 (every frame overlaid; H.264 needs even sides, so
    an odd last row or column is left out of the preview)."""
    from .constants import DEFAULT_FPS
    from .media import write_png, write_video

    write_png(folder / "masks_preview.png", cv2.cvtColor(overlay_sheet(video, tracks), cv2.COLOR_RGB2BGR))
    h, w = (video.shape[1] // 2) * 2, (video.shape[2] // 2) * 2
    shown = np.stack([overlay(f[:h, :w], tracks.masks[:, k, :h, :w]) for k, f in enumerate(video)])
    write_video(folder / "masks_preview.mp4", shown, fps or DEFAULT_FPS)


def require_found(tracks: MaskTracks) -> None:
    """One line naming the objects whose mask is empty in every frame (remove and decompose refuse such a track),
    before anything is written."""
    lost = [n for n, m in zip(tracks.names, tracks.masks) if not m.any()]
    if lost:
        raise GenomniError(
            f"{', '.join(lost)}: the tracker found nothing in any frame; click on the object again (or draw its box), nothing was written"
        )


def write_footage(out: str | Path, video: np.ndarray, fps: float | None, tracks: MaskTracks, caption: str | None = None) -> Path:
    """A genomni footage folder at `out` (a new or empty folder; written beside it, renamed when complete):
    `input.mkv` (the frames, lossless), `masks/<name>/` (binary PNG frames), `caption.txt` when a caption is given,
    `masks_preview.png` (`overlay_sheet`) and `masks_preview.mp4` (every frame overlaid; H.264 needs even sides, so
    an odd last row or column is left out of the preview)."""
    from .constants import DEFAULT_FPS
    from .media import atomic_dir, write_video

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GenomniError(f"--out {out} exists and is not an empty folder; give a new folder for the footage")
    require_found(tracks)
    with atomic_dir(out) as tmp:
        write_video(tmp / "input.mkv", video, fps or DEFAULT_FPS)
        for name, mask in zip(tracks.names, tracks.masks):
            write_video(tmp / "masks" / name, mask.astype(np.uint8) * 255)
        if caption:
            (tmp / "caption.txt").write_text(caption.strip() + "\n", encoding="utf-8")
        _write_previews(tmp, video, fps, tracks)
    return out


def open_footage(folder: str | Path) -> tuple[np.ndarray, float | None]:
    """The frames and fps of a genomni footage folder (input.* + masks/) that `--edit` changes; one line for
    any other folder."""
    from .footage_folders import GENOMNI, scan_folder
    from .media import read_video

    found = scan_folder(folder)
    if found is None or found.layout != GENOMNI:
        raise GenomniError(f"--edit {folder}: not a genomni footage folder (input.* and masks/, as genomni masks writes)")
    return read_video(found.video)


def edit_footage(folder: str | Path, tracks: MaskTracks) -> list[str]:
    """Add or replace the tracks' objects in the footage folder at `folder` (`open_footage`): each written as a
    PNG folder beside masks/<name> and renamed over it (a mask video of that name is then removed), then the
    previews redrawn with every object. Returns the names of all objects in the folder."""
    from .footage import read_footage
    from .footage_folders import scan_folder
    from .media import write_video

    folder = Path(folder)
    found = scan_folder(folder)
    assert found is not None
    require_found(tracks)
    video, fps = read_video_checked(found.video, tracks)
    for name, mask in zip(tracks.names, tracks.masks):
        write_video(folder / "masks" / name, mask.astype(np.uint8) * 255)  # a new folder renamed over the old
        for old in found.masks:
            if old.is_file() and old.stem == name:
                old.unlink()  # the object's earlier track, as a video: replaced by the folder above
    footage = read_footage(found.video, masks_dir=folder / "masks")
    _write_previews(folder, video, fps, MaskTracks(footage.names, footage.masks))
    return footage.names


def read_video_checked(path: Path, tracks: MaskTracks) -> tuple[np.ndarray, float | None]:
    """The footage's frames, which must match the new tracks' length and size."""
    from .media import read_video

    video, fps = read_video(path)
    if tracks.masks.shape[1:] != video.shape[:3]:
        raise GenomniError(f"{path}: {video.shape[:3]} frames, the new masks are {tracks.masks.shape[1:]}")
    return video, fps
