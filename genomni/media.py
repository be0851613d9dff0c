"""Video and frame I/O in one place: mp4/mkv files, PNG/JPG folders, and in-memory encodings.

Lossless storage is FFV1 in Matroska (`.mkv`): exact uint8 round trips for RGB (`bgr0`) and
single-channel (`gray`) videos. Lossy `.mp4` is H.264. Writes are atomic (temporary name, then
rename) and byte-deterministic (bitexact muxing), so two runs give identical files.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from .constants import DEFAULT_FPS
from .errors import GenomniError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CODECS = ("ffv1", "h264")
_UMASK = os.umask(0)
os.umask(_UMASK)


def _check_frames(frames: np.ndarray) -> bool:
    """Validate a (T,H,W,3) or (T,H,W) uint8 array; return True when single-channel."""
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        raise GenomniError(f"frames must be a uint8 numpy array, got {getattr(frames, 'dtype', type(frames))}")
    if frames.ndim == 3:
        gray = True
    elif frames.ndim == 4 and frames.shape[-1] == 3:
        gray = False
    else:
        raise GenomniError(f"frames must have shape (T,H,W,3) or (T,H,W), got {frames.shape}")
    if frames.shape[0] == 0:
        raise GenomniError("cannot write a video with no frames")
    return gray


def _rate(fps: float) -> Fraction:
    if not fps or fps <= 0:
        raise GenomniError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def encode_video(frames: np.ndarray, fps: float, codec: str = "ffv1", crf: int = 18, comment: str | None = None) -> bytes:
    """Encode frames into video bytes: `ffv1` (lossless, Matroska) or `h264` (lossy, mp4); `comment` goes into the
    container's metadata (read back by `video_comment`).

    Single-channel frames are only stored losslessly (they are masks).
    """
    gray = _check_frames(frames)
    if codec not in CODECS:
        raise GenomniError(f"unknown video codec {codec!r}; choose one of {', '.join(CODECS)}")
    if gray and codec != "ffv1":
        raise GenomniError("single-channel videos (masks) are always stored losslessly with ffv1")
    _, h, w = frames.shape[:3]
    if codec == "h264" and (h % 2 or w % 2):
        raise GenomniError(f"h264 needs even width and height, got {w}x{h}; use ffv1 or an even resolution")
    buf = io.BytesIO()
    fmt = "matroska" if codec == "ffv1" else "mp4"
    with av.open(buf, "w", format=fmt) as container:
        container.flags |= av.container.Flags.bitexact.value
        if comment is not None:
            container.metadata["comment"] = comment
        if codec == "ffv1":
            stream = container.add_stream("ffv1", rate=_rate(fps), options={"flags": "+bitexact"})
            stream.pix_fmt = "gray" if gray else "bgr0"
        else:
            # cpu-independent: x264's assembly otherwise picks paths by buffer alignment, so the same frames gave
            # different bytes (and pixels) from one call to the next (tests/test_media.py)
            options = {"crf": str(crf), "preset": "medium", "flags": "+bitexact", "x264-params": "cpu-independent=1"}
            stream = container.add_stream("libx264", rate=_rate(fps), options=options)
            stream.pix_fmt = "yuv420p"
        stream.width, stream.height = w, h
        src_fmt = "gray" if gray else "rgb24"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=src_fmt)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def encode_lossless_mp4(frames: np.ndarray, fps: float) -> bytes:
    """Lossless H.264 in mp4 (qp 0), for layouts that must be .mp4 yet exact (VOID's mask.mp4): RGB frames as
    libx264rgb, masks (T,H,W) as full-range yuv444p with the value in Y, which decodes to the same value whether
    read as gray or as RGB (a limited-range mask read as RGB turns 63 into 54)."""
    gray = _check_frames(frames)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        container.flags |= av.container.Flags.bitexact.value
        options = {"qp": "0", "preset": "medium", "flags": "+bitexact", "x264-params": "cpu-independent=1"}
        stream = container.add_stream("libx264" if gray else "libx264rgb", rate=_rate(fps), options=options)
        stream.pix_fmt = "yuv444p" if gray else "rgb24"
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        if gray:
            stream.codec_context.color_range = 2  # full (JPEG) range
        for frame in frames:
            if gray:
                y = np.ascontiguousarray(frame)
                uv = np.full_like(y, 128)
                vf = av.VideoFrame.from_ndarray(np.stack([y, uv, uv]), format="yuv444p")
                vf.color_range = 2
            else:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def _decode_container(container: av.container.InputContainer, source: str) -> tuple[np.ndarray, float | None]:
    if not container.streams.video:
        raise GenomniError(f"{source}: no video stream")
    stream = container.streams.video[0]
    gray = stream.format is not None and stream.format.name.startswith("gray")
    out_fmt = "gray" if gray else "rgb24"
    frames = [f.to_ndarray(format=out_fmt) for f in container.decode(stream)]
    if not frames:
        raise GenomniError(f"{source}: video has no frames")
    if len({f.shape for f in frames}) > 1:
        raise GenomniError(f"{source}: frames of different sizes (damaged video)")
    fps = float(stream.average_rate) if stream.average_rate else None
    return np.stack(frames), fps


def decode_video(data: bytes, source: str = "<bytes>") -> tuple[np.ndarray, float | None]:
    """Decode video bytes to (frames, fps); gray videos come back as (T,H,W)."""
    try:
        with av.open(io.BytesIO(data)) as container:
            return _decode_container(container, source)
    except GenomniError:
        raise
    except (av.error.FFmpegError, ValueError, OverflowError) as exc:  # damaged bytes surface as any of these
        raise GenomniError(f"{source}: cannot decode video ({exc})") from exc


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def frame_files(folder: Path) -> list[Path]:
    """A folder's frames in order: by the numbers in their names (frame2 before frame10, as zero-padded names sort
    anyway). Images named another way than the rest (a preview.png among 00000.png ...) are refused by name: taking
    them for frames would put a foreign picture in the clip."""
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: _natural(p.name))
    if not files:
        raise GenomniError(f"{folder}: no PNG/JPG frames in folder")
    patterns: dict[str, list[str]] = {}
    for p in files:
        patterns.setdefault(re.sub(r"\d+", "#", p.name.lower()), []).append(p.name)
    if len(patterns) > 1:
        common = max(patterns.values(), key=len)
        odd = sorted(n for names in patterns.values() if names is not common for n in names)
        raise GenomniError(
            f"{folder}: {', '.join(odd[:3])} {'is' if len(odd) == 1 else 'are'} not named like the "
            f"frames ({common[0]}, ...); move {'it' if len(odd) == 1 else 'them'} out of the folder"
        )
    return files


def read_video(path: str | os.PathLike, gray: bool = False) -> tuple[np.ndarray, float | None]:
    """Read a video file or a folder of frames (sorted by name) into uint8 frames and fps.

    `gray=True` returns (T,H,W) single-channel frames (for masks); fps is None for folders.
    """
    path = Path(path)
    if not path.exists():
        raise GenomniError(f"{path}: no such file or folder")
    if path.is_dir():
        frames = []
        for f in frame_files(path):
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
            if img is None:
                raise GenomniError(f"{f}: unreadable image")
            frames.append(img if gray else cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if len({fr.shape for fr in frames}) > 1:
            raise GenomniError(f"{path}: frames have different sizes")
        return np.stack(frames), None
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise GenomniError(f"{path}: unsupported video type {path.suffix!r} (use {', '.join(sorted(VIDEO_SUFFIXES))} or a frame folder)")
    try:
        with av.open(str(path)) as container:
            frames, fps = _decode_container(container, str(path))
    except av.error.FFmpegError as exc:
        raise GenomniError(f"{path}: cannot decode video ({exc})") from exc
    if gray and frames.ndim == 4:
        frames = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    elif not gray and frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    return frames, fps


def write_png(path: Path, image: np.ndarray) -> None:
    """A PNG encoded in memory and written by Python, so a full disk raises (OSError ENOSPC): cv2.imwrite returned
    True on a full tmpfs after writing 0 bytes, and the empty frame was committed with its folder."""
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise GenomniError(f"{path}: OpenCV could not encode this frame as PNG")
    with open(path, "wb") as fh:
        fh.write(data.tobytes())


COMMENT_FILE = ".genomni-comment"  # a frame folder's comment (what a video's container metadata holds)


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float = DEFAULT_FPS, crf: int = 18, comment: str | None = None) -> Path:
    """Write frames atomically: `.mkv` lossless FFV1, `.mp4` H.264, no suffix = PNG frame folder. `comment` is
    stored in a video file's metadata, or in a frame folder's COMMENT_FILE (read back by `video_comment`)."""
    path = Path(path)
    gray = _check_frames(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == "":
        with atomic_dir(path) as tmp:
            for i, frame in enumerate(frames):
                img = frame if gray else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
                write_png(tmp / f"{i:05d}.png", img)
            if comment is not None:
                (tmp / COMMENT_FILE).write_text(comment)
        return path
    codecs = {".mkv": "ffv1", ".mp4": "h264"}
    if suffix not in codecs:
        raise GenomniError(f"{path}: write .mkv (lossless), .mp4 (H.264) or a folder path without suffix")
    data = encode_video(frames, fps, codec=codecs[suffix], crf=crf, comment=comment)
    atomic_write_bytes(path, data)
    return path


def video_comment(path: str | os.PathLike) -> str | None:
    """The comment `write_video` stored: a video file's container metadata, or a frame folder's COMMENT_FILE (None
    when there is none or the path is no video)."""
    if Path(path).is_dir():
        note = Path(path) / COMMENT_FILE
        return note.read_text() if note.is_file() else None
    try:
        with av.open(str(path)) as container:
            meta = {k.lower(): v for k, v in container.metadata.items()}
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return None
    return meta.get("comment")


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside `path` that replaces `path` only when the block finishes without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.with_name(f".{path.name}.old")
    if old.is_dir() and not path.exists():  # a kill -9 between the swap's two renames: the previous version is whole
        os.replace(old, path)
        log.warning("%s: restored the previous version that an interrupted rewrite had moved aside", path)
    stale_name = re.compile(rf"\.{re.escape(path.name)}\.([a-z0-9_]{{8}}|old)")  # mkdtemp's names, and the swap below
    for stale in path.parent.iterdir():  # left by a kill -9 of an earlier writer
        if stale.is_dir() and stale_name.fullmatch(stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        swap = path.exists()
        if swap:
            os.replace(path, old)  # two renames: `path` is missing only between them, never half-written
        os.replace(tmp, path)
        if swap:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes to a temporary sibling and rename, so readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def resize_video(frames: np.ndarray, size: tuple[int, int], nearest: bool = False, grow: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Resize every frame to (height, width): area averaging when shrinking, `grow` when enlarging,
    nearest neighbour for masks (`nearest`, keeps their values exact). Same size: returned as is."""
    h, w = size
    if frames.shape[1:3] == (h, w):
        return frames
    shrink = frames.shape[1] >= h and frames.shape[2] >= w
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if shrink else grow)
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def parse_resolution(text: str) -> tuple[int, int]:
    """Parse `128` (square) or `WIDTHxHEIGHT` into (height, width)."""
    try:
        if "x" in text.lower():
            w, h = (int(v) for v in text.lower().split("x"))
        else:
            w = h = int(text)
    except ValueError as exc:
        raise GenomniError(f"--resolution must be N or WIDTHxHEIGHT, got {text!r}") from exc
    if h < 1 or w < 1:
        raise GenomniError(f"--resolution must be N or WIDTHxHEIGHT with positive sides, got {text!r}")
    return h, w
