"""Footage folders in the layouts people hold, read as they are:

- **gen-omnimatte sequence folder** (the public reimplementation's examples): `input_video.mp4` (or an
  `input_video/` frame folder), one `mask_NN.mp4` (or `mask_NN/`) per object, `prompt.json` holding
  `{"bg": "<caption of the clean video>"}`, and optionally a clean background `bg/` or `bg.mp4`.
- **genomni footage folder** (`genomni data export --format footage`): `input.*`, `masks/` with one mask
  video or folder per object, `caption.txt`, and `background.*` when the target is the clean background.
- **VOID inference folder** (Netflix VOID's `sample/` folders): `input_video.mp4`, its quadmask as
  `quadmask_0.mp4` or `trimask_quadmask.mp4` (0/63/127/255: the removed pixels are one object track, the quadmask
  goes with the footage for models trained with `--mask quadmask`) and `prompt.json`.
- **Kubric render folder** (what Kubric's `write_image_dict` writes): `rgba_00000.png ...` (or `rgb_*.png`)
  and `segmentation_00000.png ...` (palette PNGs whose index is the instance, 0 = background), optionally
  `metadata.json` (its `instances[i].asset_id` names object i+1). The alpha channel is dropped.

Nothing else in the folder is taken as a mask. `open_footage` turns a video path, a frame folder or such a
folder (plus any masks given on the command line) into one `Footage`, its prompt included.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .constants import MASK_THRESHOLD
from .errors import GenomniError
from .footage import Footage, check_masks, find_media, instance_maps, read_footage
from .media import VIDEO_SUFFIXES, read_video

log = logging.getLogger(__name__)

SEQUENCE = "gen-omnimatte"
GENOMNI = "genomni"
KUBRIC = "kubric"
VOID = "void"
VOID_QUADMASKS = ("quadmask_0", "trimask_quadmask")  # the names Netflix VOID's inference sample folders use


@dataclass
class FootageFolder:
    """What a footage folder holds: its layout, the input video, the object mask tracks (in object order), the
    caption of the clean video (None when the folder has none) and where it came from, and the clean background
    (None when absent)."""

    folder: Path
    layout: str
    video: Path
    masks: list[Path]
    prompt: str | None
    prompt_source: str | None
    clean: Path | None


def _mask_order(p: Path) -> tuple[int, str]:
    """mask_2 before mask_10: by the number in the name, then by name."""
    digits = re.findall(r"\d+", p.stem if p.is_file() else p.name)
    return (int(digits[-1]) if digits else -1, p.name)


def read_prompt_json(folder: Path) -> str | None:
    """The caption in a folder's prompt.json (`{"bg": ...}`), None without one; a malformed file is an error."""
    f = folder / "prompt.json"
    if not f.is_file():
        return None
    try:
        data = json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GenomniError(f"{f}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("bg"), str):
        raise GenomniError(f'{f}: expected {{"bg": "<caption of the clean video>"}}')
    return data["bg"].strip()


def read_caption_txt(folder: Path) -> str | None:
    """The caption in a folder's caption.txt (stripped), None without one; a file that is not UTF-8 is an error."""
    f = folder / "caption.txt"
    if not f.is_file():
        return None
    try:
        return f.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        raise GenomniError(f"{f}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from exc


def scan_folder(folder: str | os.PathLike) -> FootageFolder | None:
    """The footage folder at `folder`, or None when it is not one (e.g. a plain folder of frames)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    video = find_media(folder, ("input_video",))
    quad = find_media(folder, VOID_QUADMASKS)
    if video is not None and quad is not None and not list(folder.glob("mask_*")):
        prompt = read_prompt_json(folder)
        return FootageFolder(folder, VOID, video, [quad], prompt, "prompt.json" if prompt is not None else None, None)
    if video is not None:
        masks = sorted((p for p in folder.glob("mask_*") if p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES), key=_mask_order)
        if not masks:
            raise GenomniError(f"{folder}: a gen-omnimatte sequence folder without mask_NN.mp4 files (one per object)")
        prompt = read_prompt_json(folder)
        return FootageFolder(
            folder, SEQUENCE, video, masks, prompt, "prompt.json" if prompt is not None else None, find_media(folder, ("bg", "background"))
        )
    seq_masks = [p.name for p in folder.glob("mask_*") if p.is_dir() or p.suffix.lower() in VIDEO_SUFFIXES]
    if seq_masks or (folder / "prompt.json").is_file():
        held = ", ".join(sorted(seq_masks)[:2] + (["prompt.json"] if (folder / "prompt.json").is_file() else []))
        raise GenomniError(
            f"{folder}: a gen-omnimatte sequence folder ({held}) without its video: supply "
            f"input_video.mp4 (or an input_video/ frame folder)"
        )
    if (folder / "segmentation_00000.png").is_file():
        return FootageFolder(folder, KUBRIC, folder, [], None, None, None)
    video = find_media(folder, ("input",))
    if video is not None and (folder / "masks").is_dir():
        prompt = read_caption_txt(folder)
        return FootageFolder(
            folder, GENOMNI, video, [], prompt, "caption.txt" if prompt is not None else None, find_media(folder, ("background",))
        )
    return None


def require_folder(folder: str | os.PathLike) -> FootageFolder:
    """The footage folder at `folder`; anything else is an error naming what it lacks."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GenomniError(f"{folder}: no such folder")
    found = scan_folder(folder)
    if found is None:
        what = "input.* but no masks/ folder" if find_media(folder, ("input",)) is not None else "no input video"
        raise GenomniError(
            f"{folder}: not a footage folder ({what}); expected input_video.mp4 + mask_NN.mp4 "
            f"(gen-omnimatte), input.* + masks/ (genomni) or rgba_*.png + segmentation_*.png (Kubric)"
        )
    return found


def _numbered(folder: Path, stem: str) -> list[Path]:
    files = sorted(folder.glob(f"{stem}_*.png"), key=_mask_order)
    return [f for f in files if re.fullmatch(rf"{stem}_\d+\.png", f.name)]


def read_kubric_folder(folder: Path) -> Footage:
    """A Kubric render folder: RGB(A) frames and one mask per instance id of the segmentation PNGs."""
    frames_files = _numbered(folder, "rgba") or _numbered(folder, "rgb")
    seg_files = _numbered(folder, "segmentation")
    if not frames_files:
        raise GenomniError(f"{folder}: segmentation_*.png but no rgba_*.png or rgb_*.png frames")
    if len(frames_files) != len(seg_files):
        raise GenomniError(f"{folder}: {len(frames_files)} frames but {len(seg_files)} segmentation_*.png")
    frames = []
    for f in frames_files:
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise GenomniError(f"{f}: unreadable image")
        if img.dtype == np.uint16:
            img = (img // 257).astype(np.uint8)
        frames.append(cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB) if img.ndim == 3 else np.repeat(img[..., None], 3, -1))
    seg = instance_maps(folder, seg_files)
    video = np.stack(frames)
    if seg.shape != video.shape[:3]:
        raise GenomniError(f"{folder}: segmentation is {seg.shape[2]}x{seg.shape[1]}, the frames {video.shape[2]}x{video.shape[1]}")
    ids = [int(i) for i in np.unique(seg) if i != 0]
    if not ids:
        raise GenomniError(f"{folder}: the segmentation holds no object (only index 0)")
    assets: list[str] = []
    if (folder / "metadata.json").is_file():
        try:
            assets = [str(i.get("asset_id", "")) for i in json.loads((folder / "metadata.json").read_text()).get("instances", [])]
        except (json.JSONDecodeError, AttributeError) as exc:
            raise GenomniError(f"{folder}/metadata.json: not Kubric metadata ({exc})") from exc
    names = [f"object{i:02d}" + (f"_{assets[i - 1]}" if i - 1 < len(assets) and assets[i - 1] else "") for i in ids]
    masks = np.stack([seg == i for i in ids])
    check_masks(masks, names, video.shape[:3])
    return Footage(video, masks, names, None)


def read_folder_footage(ff: FootageFolder, threshold: int = MASK_THRESHOLD) -> Footage:
    """The footage of a scanned folder, with its prompt."""
    if ff.layout == KUBRIC:
        return read_kubric_folder(ff.folder)
    if ff.layout == VOID:  # one track: what the quadmask removes (0 and 63); the quadmask goes with it
        from . import quadmask as qm

        video, fps = read_video(ff.video)
        quad = read_quadmask(ff.masks[0], video, ff.video.name)
        return Footage(video, (quad <= qm.REMOVE_CHANGED)[None], ["removed"], fps, prompt=ff.prompt, quadmask=quad)
    if ff.layout == SEQUENCE:
        footage = read_footage(ff.video, [str(m) for m in ff.masks], threshold=threshold)
    else:
        footage = read_footage(ff.video, masks_dir=ff.folder / "masks", threshold=threshold)
    footage.prompt = ff.prompt
    return footage


def open_footage(
    source: str | os.PathLike,
    masks: list[str | os.PathLike] | None = None,
    masks_dir: str | os.PathLike | None = None,
    instances: str | os.PathLike | None = None,
    threshold: int = MASK_THRESHOLD,
) -> Footage:
    """A video path or frame folder with the masks given, or a footage folder: its own masks unless masks are
    given (then the given ones replace them, said in the log), and its prompt."""
    ff = scan_folder(source)
    given = masks is not None or masks_dir is not None or instances is not None
    if ff is None:
        if not given:
            raise GenomniError(
                f"{source}: give object masks (--mask, --masks-dir or --instances), or a folder with "
                f"input_video.mp4 + mask_NN.mp4 (gen-omnimatte), input.* + masks/ (genomni) or "
                f"rgba_*.png + segmentation_*.png (Kubric)"
            )
        return read_footage(source, masks, instances, masks_dir, threshold)
    if not given:
        footage = read_folder_footage(ff, threshold)
        log.info(
            "%s: %s folder, %d object(s) (%s)%s",
            source,
            ff.layout,
            len(footage.names),
            ", ".join(footage.names),
            f", prompt from {ff.prompt_source}" if ff.prompt_source else ", no prompt file",
        )
        return footage
    if ff.layout == KUBRIC:
        raise GenomniError(f"{source}: a Kubric render folder carries its masks (segmentation_*.png); give no --mask")
    log.warning("%s: using the masks given on the command line instead of the folder's own", source)
    footage = read_footage(ff.video, masks, instances, masks_dir, threshold)
    footage.prompt = ff.prompt
    return footage


def with_quadmask(footage: Footage, source: str | os.PathLike, given: str | os.PathLike | None, affected: str | None = None) -> Footage:
    """The footage with its quadmask: `given` (remove --quadmask), else built from `affected` mask tracks (names,
    comma-separated: no longer objects to remove, their pixels 127), else a footage folder's own quadmask.mkv,
    else none. Values other than 0/63/127/255, another frame count or size, or an unknown track are one line."""
    from dataclasses import replace

    from . import quadmask as qm

    if affected:
        names = [n.strip() for n in affected.split(",") if n.strip()]
        unknown = [n for n in names if n not in footage.names]
        if unknown or len(names) >= len(footage.names):
            raise GenomniError(
                f"--affected {affected}: give some of the tracks {', '.join(footage.names)} (at least one must stay an object to remove)"
                + (f"; there is no {', '.join(unknown)}" if unknown else "")
            )
        keep = [i for i, n in enumerate(footage.names) if n not in names]
        marked = np.stack([footage.masks[i] for i, n in enumerate(footage.names) if n in names]).any(0)
        objects = footage.masks[keep]
        log.info("quadmask from the tracks %s (changed) and %s (removed)", names, [footage.names[i] for i in keep])
        return replace(
            footage, masks=objects, names=[footage.names[i] for i in keep], quadmask=qm.compose(objects.any(0), marked & ~objects.any(0))
        )
    path = Path(given) if given else Path(source) / "quadmask.mkv"
    if not given and not path.is_file():
        return footage
    quad = read_quadmask(path, footage.video)
    log.info("quadmask from %s", path)
    return replace(footage, quadmask=quad)


def read_quadmask(path: str | os.PathLike, video: np.ndarray, video_name: str = "the video") -> np.ndarray:
    """A quadmask video (exactly 0/63/127/255) that must cover `video` frame for frame; one line otherwise."""
    from . import quadmask as qm

    quad = qm.validate(read_video(path, gray=True)[0], str(path))
    if quad.shape != video.shape[:3]:
        t, h, w = video.shape[:3]
        raise GenomniError(f"{path}: {quad.shape[0]} frames of {quad.shape[2]}x{quad.shape[1]}, {video_name} has {t} of {w}x{h}")
    return quad
