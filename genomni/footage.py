"""Footage = a video plus one binary mask track per object, in the layouts people have:

- a video (mp4/mkv/... or a frame folder) and one mask per object (a mask video or a folder of
  mask images; a pixel is the object where its value is above `--mask-threshold`, 127 of 255 by
  default, see `binarize_mask`; palette PNGs: every nonzero index is the object);
- one folder of instance-id maps (DAVIS / YouTube-VOS `Annotations/<seq>/*.png`, palette PNGs whose
  index is the object id; 0 = background), split into one track per id.

Frame counts and sizes are validated against the video, naming the file that mismatches; empty
masks, colour videos given as masks, and masks that cover the same pixels as another object everywhere
are refused. Folders in the layouts people hold (gen-omnimatte sequence folders, genomni footage
folders) are read by `genomni.footage_folders`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .constants import MASK_THRESHOLD
from .errors import GenomniError
from .media import VIDEO_SUFFIXES, frame_files, read_video
from .options import option, require

log = logging.getLogger(__name__)

COLOR_LEVELS = 24  # a pixel whose channels differ by more than this is coloured (H.264 chroma noise on grey stays below)
COLOR_SHARE = 0.01  # a "mask" with more coloured pixels than this is a colour video, not a mask


@dataclass(kw_only=True)
class MaskOptions:
    """The one binarization rule of object masks, shared by every command that reads them (configs inherit it)."""

    mask_threshold: int = option(
        MASK_THRESHOLD,
        "A mask pixel (0-255) above this is the object. The midpoint puts the "
        "border where a lossy (H.264) binary mask crosses half level; the public gen-omnimatte "
        "code keeps >= 240 and dilates 11x11 instead.",
    )

    def __post_init__(self) -> None:
        require([(0 <= self.mask_threshold <= 254, f"--mask-threshold must be in 0..254, got {self.mask_threshold}")])


@dataclass
class Footage:
    """`video` (T,H,W,3) uint8, `masks` (N,T,H,W) bool, one name per object, fps (None for folders), the
    caption of the clean video when the footage came with one (prompt.json, caption.txt), and a quadmask of the
    removal of every object when one was given (`footage_folders.with_quadmask`)."""

    video: np.ndarray
    masks: np.ndarray
    names: list[str]
    fps: float | None
    prompt: str | None = field(default=None, kw_only=True)
    quadmask: np.ndarray | None = field(default=None, kw_only=True)  # (T,H,W) VOID's quadmask, when one came with it

    @property
    def shape(self) -> tuple[int, int, int]:
        t, h, w = self.video.shape[:3]
        return t, h, w


def instance_maps(folder: Path, files: list[Path] | None = None) -> np.ndarray:
    """Instance-id maps (T,H,W) int32 from a folder's images (or the given `files` of it): palette PNGs keep the
    palette index (the instance id); other images are read as gray."""
    if files is None:
        files = frame_files(folder)  # in frame order, refusing odd-named images
    if not files:
        raise GenomniError(f"{folder}: no PNG/JPG frames in folder")
    maps = []
    for f in files:
        try:
            img = Image.open(f)
            arr = np.asarray(img if img.mode in ("P", "L", "I;16", "I") else img.convert("L"))
        except OSError as exc:
            raise GenomniError(f"{f}: unreadable image") from exc
        maps.append(arr.astype(np.int32))
    if len({m.shape for m in maps}) > 1:
        raise GenomniError(f"{folder}: frames have different sizes")
    return np.stack(maps)


def check_masks(masks: np.ndarray, names: list[str], shape: tuple[int, ...]) -> None:
    """Refuse mask tracks that do not fit the video, are empty, or coincide with another object's."""
    t, h, w = shape
    for m, name in zip(masks, names):
        if m.shape[0] != t:
            raise GenomniError(f"{name}: {m.shape[0]} mask frames, the video has {t}")
        if m.shape[1:] != (h, w):
            raise GenomniError(f"{name}: masks are {m.shape[2]}x{m.shape[1]}, the video is {w}x{h}")
        if not m.any():
            raise GenomniError(f"{name}: the mask is empty in every frame")
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            if np.array_equal(masks[i], masks[j]):
                raise GenomniError(f"{names[i]} and {names[j]} cover exactly the same pixels; give each object its own mask")


def find_media(folder: Path, stems: tuple[str, ...]) -> Path | None:
    """The first `stem.<video suffix>` file or `stem/` frame folder in `folder`."""
    for stem in stems:
        found = ([folder / stem] if (folder / stem).is_dir() else []) + [
            p for p in sorted(folder.glob(f"{stem}.*")) if p.suffix.lower() in VIDEO_SUFFIXES
        ]
        if len(found) > 1:
            raise GenomniError(f"{folder}: holds {' and '.join(p.name for p in found)}; keep one (which is the video is not guessed)")
        if found:
            return found[0]
    return None


def mask_entries(folder: str | os.PathLike) -> tuple[list[Path], list[str]]:
    """The mask tracks in a folder (each video file or subfolder is one object, sorted by name), and the
    entries skipped because they are neither (with the reason)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GenomniError(f"{folder}: no such masks folder")
    entries, skipped = [], []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES:
            entries.append(p)
        else:
            skipped.append(f"{p.name} (not a video or frame folder)")
    if not entries:
        raise GenomniError(f"{folder}: no mask videos or mask folders inside")
    return entries, skipped


def binarize_mask(frames: np.ndarray, source: str, threshold: int = MASK_THRESHOLD) -> np.ndarray:
    """Object mask frames (uint8) -> bool: above `threshold` (127 by default) is the object. The one rule of every
    genomni reader; a mask with many values between the extremes (lossy H.264 edges, soft mattes) gets a
    warning, since the threshold then decides the object's border."""
    between = (frames > 16) & (frames < 239)
    share = float(between.sum()) / max(1, int((frames > 16).sum()))
    if share > 0.05:
        log.warning(
            "%s: %.0f%% of the mask's nonzero pixels lie between 17 and 238 (a lossy or soft mask); pixels above %d count as the object",
            source,
            100 * share,
            threshold,
        )
    return frames > threshold


class NotAMask(GenomniError):
    """A file or folder given as an object mask holds a colour video; `reason` is the message without the path."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def _palette_track(folder: Path) -> np.ndarray | None:
    """A folder of palette PNGs as a mask: every nonzero index is the object (their colours would mislead)."""
    files = frame_files(folder)
    if not files or files[0].suffix.lower() != ".png" or Image.open(files[0]).mode != "P":
        return None
    return instance_maps(folder) > 0


def _cutout_or_label_track(folder: Path) -> np.ndarray | None:
    """(T,H,W) uint8 mask frames of a folder whose images say the object another way than grey levels, else None:
    RGBA cutouts whose alpha varies (the object only in alpha, the colour constant) give their alpha; 0/1 label
    images (8- or 16-bit) give 255 for 1; other 16-bit masks are scaled to 8 bits."""
    files = frame_files(folder)
    first = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    if (
        first is None
        or (first.dtype == np.uint8 and first.ndim == 2 and first.max() > 1)
        or (first.dtype == np.uint8 and first.ndim == 3 and first.shape[-1] == 3)
    ):
        return None  # plain grey or colour frames: read_video reads them (once)
    imgs = [first] + [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files[1:]]
    if any(i is None for i in imgs) or len({i.shape for i in imgs}) > 1:
        return None  # read_video names the problem
    stack = np.stack(imgs)
    if stack.ndim == 4 and stack.shape[-1] == 4 and (stack[..., 3] < stack[..., 3].max()).any():
        out = stack[..., 3]
    elif stack.ndim == 3 and stack.max() == 1:
        out = stack * 255
    elif stack.dtype == np.uint16:
        out = (stack if stack.ndim == 3 else stack.max(-1)) // 257
    else:
        return None
    return out.astype(np.uint8)


def read_mask_track(path: str | os.PathLike, threshold: int = MASK_THRESHOLD) -> tuple[np.ndarray, float | None]:
    """One object's mask track (a video or a frame folder) as (T,H,W) bool, and its fps. A colour video (more than
    1% of pixels with channels COLOR_LEVELS apart) is refused: it is footage, not a mask. Folders of palette PNGs,
    RGBA cutouts and 0/1 label images are read as what they mean (`_cutout_or_label_track`)."""
    path = Path(path)
    if path.is_dir() and (palette := _palette_track(path)) is not None:
        return palette, None
    if path.is_dir() and (special := _cutout_or_label_track(path)) is not None:
        return binarize_mask(special, str(path), threshold), None
    frames, fps = read_video(path)
    spread = frames.max(-1).astype(np.int16) - frames.min(-1)
    colored = float((spread > COLOR_LEVELS).mean())
    if colored > COLOR_SHARE:
        raise NotAMask(path, f"a colour video, not an object mask ({100 * colored:.0f}% of its pixels are coloured)")
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    return binarize_mask(gray, str(path), threshold), fps


def read_footage(
    video: str | os.PathLike,
    masks: list[str | os.PathLike] | None = None,
    instances: str | os.PathLike | None = None,
    masks_dir: str | os.PathLike | None = None,
    threshold: int = MASK_THRESHOLD,
) -> Footage:
    """Read a video with its object masks: mask tracks (`masks`, and the mask entries of `masks_dir`; its other
    entries are skipped and named in a warning) or one instance-id folder (`instances`)."""
    frames, fps = read_video(video)
    if (masks is None and masks_dir is None) == (instances is None):
        raise GenomniError("give object masks (--mask / --masks-dir) or an instance-id folder (--instances), not both")
    if instances is None:
        given = [(Path(m), True) for m in masks or []]
        skipped: list[str] = []
        if masks_dir is not None:
            entries, skipped = mask_entries(masks_dir)
            given += [(p, False) for p in entries]
        tracks, paths = [], []
        for m, explicit in given:
            try:
                track, mfps = read_mask_track(m, threshold)
            except NotAMask as exc:
                if explicit:
                    raise
                skipped.append(f"{m.name} ({exc.reason})")
                continue
            if fps and mfps and abs(fps - mfps) > 0.01:
                raise GenomniError(f"{m}: {mfps:g} fps, the video {video} is {fps:g} fps")
            if track.shape[1:] != frames.shape[1:3] or track.shape[0] != frames.shape[0]:
                check_masks(track[None], [str(m)], frames.shape[:3])
            tracks.append(track)
            paths.append(m)
        if skipped:
            log.warning("%s: skipped %s", masks_dir, "; ".join(sorted(skipped)))
        if not tracks:
            raise GenomniError(f"no object masks found{f' in {masks_dir}' if masks_dir is not None else ''}")
        names = [m.stem if m.is_file() else m.name for m in paths]
        stack = np.stack(tracks)
        check_masks(stack, [str(m) for m in paths], frames.shape[:3])
    else:
        maps = instance_maps(Path(instances))
        check_masks(maps[None] >= 0, [str(instances)], frames.shape[:3])
        ids = [int(i) for i in np.unique(maps) if i != 0 and i != 255]  # 255 = DAVIS "void" border
        if not ids:
            raise GenomniError(f"{instances}: no object ids (all pixels are 0 or 255)")
        stack = np.stack([maps == i for i in ids])
        names = [f"object{i:02d}" for i in ids]
        check_masks(stack, names, frames.shape[:3])
    return Footage(frames, stack, names, fps)


def dilate(masks: np.ndarray, pixels: int) -> np.ndarray:
    """Grow (N,T,H,W) or (T,H,W) boolean masks by `pixels` (a disk) in every frame."""
    if pixels <= 0:
        return masks
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    flat = masks.reshape(-1, *masks.shape[-2:]).astype(np.uint8)
    return np.stack([cv2.dilate(m, kernel) > 0 for m in flat]).reshape(masks.shape)


def extent(mask: np.ndarray) -> int:
    """An object's size in one frame: the longer side of its (H,W) mask's bounding box in pixels (0 when empty)."""
    ys, xs = np.nonzero(mask)
    return int(max(np.ptp(ys), np.ptp(xs)) + 1) if len(ys) else 0


def other_objects(masks: np.ndarray, i: int) -> np.ndarray:
    """(T,H,W) bool: every object's mask but object i's (all false for one object)."""
    return np.delete(masks, i, axis=0).any(0) if len(masks) > 1 else np.zeros_like(masks[i])


def rename(footage: Footage, names: str | None) -> Footage:
    """The footage with its objects named by `names` (comma-separated, in mask order); None keeps the names."""
    if names is None:
        return footage
    given = [n.strip() for n in names.split(",")]
    bad = [n for n in given if not n or n in (".", "..") or "/" in n or "\\" in n]
    if len(given) != len(footage.names) or bad or len(set(given)) != len(given):
        raise GenomniError(
            f"--names {names!r}: give {len(footage.names)} different names (no '/'), one per object in "
            f"mask order ({', '.join(footage.names)})"
        )
    return Footage(footage.video, footage.masks, given, footage.fps, prompt=footage.prompt)


BAR_LEVELS = 8  # a letterbox/pillarbox bar varies by at most this over its whole extent and the whole clip


def letterbox(video: np.ndarray, masks: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): how many rows/columns at each edge of a (T,H,W,3) video are a constant bar (black
    letterbox or pillarbox bars of films and phone clips): every pixel of the row or column, in every frame, within
    BAR_LEVELS of the others, and no object (`masks`, (N,T,H,W) bool) on it. At most a third of the side each."""
    touched = masks.any((0, 1)) if masks is not None and len(masks) else np.zeros(video.shape[1:3], bool)
    out = []
    for axis, from_end in ((1, False), (1, True), (2, False), (2, True)):
        n, size = 0, video.shape[axis]
        while n < size // 3:
            i = size - 1 - n if from_end else n
            line = video[:, i] if axis == 1 else video[:, :, i]
            hit = touched[i] if axis == 1 else touched[:, i]
            if hit.any() or int(line.max()) - int(line.min()) > BAR_LEVELS:
                break
            n += 1
        out.append(n)
    return out[0], out[1], out[2], out[3]
