"""The Sample record (one training clip) and its encoding as WebDataset members.

Members of one sample in a shard (key = `__key__`):
  input.mkv / target.mkv   RGB video, FFV1 lossless (or .mp4 H.264 when asked for lossy)
  trimask.mkv              gray video, always FFV1 lossless, values exactly {0,128,255}
  quadmask.mkv             optional gray video, FFV1 lossless, values exactly {0,63,127,255} (VOID's convention:
                           `genomni.quadmask`); interaction scenes also keep `hidden.mkv`, VOID's pass C
  caption.txt              UTF-8 caption describing the target
  meta.json                dict: source, seeds, generator + version, fps, ids, QC figures, ...
  <extra>.mkv              optional uint8 videos (e.g. `instances`: per-pixel object id)
  <extra>.npy              optional other arrays
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import quadmask as qm
from . import trimask as tm
from .constants import DEFAULT_FPS
from .errors import GenomniError
from .media import decode_video, encode_video

KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
REQUIRED_MEMBERS = ("input", "target", "trimask", "caption.txt", "meta.json")


@dataclass
class Sample:
    """One clip: `input` and `target` videos (T,H,W,3 uint8), `trimask` (T,H,W uint8), caption, meta."""

    key: str
    input: np.ndarray
    target: np.ndarray
    trimask: np.ndarray
    caption: str
    meta: dict[str, Any]
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def validate(self) -> "Sample":
        """Check the data contract; raise a one-line error naming the sample and the problem."""
        if not KEY_RE.match(self.key):
            raise GenomniError(f"sample key {self.key!r} must use only letters, digits, '_' and '-'")
        for name in ("input", "target"):
            v = getattr(self, name)
            if not isinstance(v, np.ndarray) or v.dtype != np.uint8 or v.ndim != 4 or v.shape[-1] != 3:
                raise GenomniError(f"{self.key}: {name} must be a (T,H,W,3) uint8 array, got {getattr(v, 'shape', v)}")
        if self.input.shape != self.target.shape:
            raise GenomniError(f"{self.key}: input {self.input.shape} and target {self.target.shape} differ in shape")
        tm.validate(self.trimask, f"{self.key}: trimask")
        if self.trimask.shape != self.input.shape[:3]:
            raise GenomniError(f"{self.key}: trimask {self.trimask.shape} does not match video {self.input.shape[:3]}")
        if not isinstance(self.caption, str):
            raise GenomniError(f"{self.key}: caption must be a string")
        for name in self.extras:
            if not KEY_RE.match(name) or name in ("input", "target", "trimask", "caption", "meta"):
                raise GenomniError(f"{self.key}: invalid extra name {name!r}")
        if "quadmask" in self.extras:
            qm.validate(self.extras["quadmask"], f"{self.key}: quadmask")
            if self.extras["quadmask"].shape != self.trimask.shape:
                raise GenomniError(f"{self.key}: quadmask {self.extras['quadmask'].shape} does not match video {self.input.shape[:3]}")
        return self

    @property
    def fps(self) -> float:
        return float(self.meta.get("fps", DEFAULT_FPS))


def _is_video(arr: np.ndarray) -> bool:
    return arr.dtype == np.uint8 and (arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] == 3))


def encode(sample: Sample, video_codec: str = "ffv1") -> dict[str, bytes]:
    """Encode a validated sample into WebDataset members (name -> bytes), plus `__key__`."""
    sample.validate()
    ext = "mkv" if video_codec == "ffv1" else "mp4"
    fps = sample.fps
    members: dict[str, Any] = {"__key__": sample.key}
    members[f"input.{ext}"] = encode_video(sample.input, fps, video_codec)
    members[f"target.{ext}"] = encode_video(sample.target, fps, video_codec)
    members["trimask.mkv"] = encode_video(sample.trimask, fps, "ffv1")
    members["caption.txt"] = sample.caption.encode("utf-8")
    members["meta.json"] = json.dumps(sample.meta, sort_keys=True).encode("utf-8")
    for name, arr in sorted(sample.extras.items()):
        if _is_video(arr):
            members[f"{name}.mkv"] = encode_video(arr, fps, "ffv1")
        else:
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            members[f"{name}.npy"] = buf.getvalue()
    return members


def _find(members: dict[str, Any], stem: str) -> tuple[str, Any] | None:
    for ext in ("mkv", "mp4"):
        if f"{stem}.{ext}" in members:
            return f"{stem}.{ext}", members[f"{stem}.{ext}"]
    return None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _caption(key: str, value: Any) -> str:
    try:
        return _text(value)
    except UnicodeDecodeError as exc:
        raise GenomniError(f"sample {key}: caption.txt is not UTF-8 text") from exc


def decode(members: dict[str, Any]) -> Sample:
    """Decode WebDataset members (raw bytes, as `webdataset.WebDataset` yields them) into a Sample."""
    key = _text(members.get("__key__", "<unknown>"))
    found = {stem: _find(members, stem) for stem in ("input", "target", "trimask")}
    missing = [s for s, v in found.items() if v is None] + [m for m in ("caption.txt", "meta.json") if m not in members]
    if missing:
        raise GenomniError(f"sample {key}: missing members {', '.join(missing)}")
    videos = {stem: decode_video(data, f"{key}.{name}")[0] for stem, (name, data) in found.items()}
    meta = members["meta.json"]
    if not isinstance(meta, dict):
        try:
            meta = json.loads(_text(meta))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GenomniError(f"sample {key}: meta.json is not valid JSON ({exc})") from exc
        if not isinstance(meta, dict):
            raise GenomniError(f"sample {key}: meta.json is not a JSON object")
    extras: dict[str, np.ndarray] = {}
    for name, data in members.items():
        if name.startswith("__") or "." not in name:
            continue
        stem, ext = name.rsplit(".", 1)
        if stem in ("input", "target", "trimask", "caption", "meta"):
            continue
        if ext in ("mkv", "mp4"):
            extras[stem] = decode_video(data, f"{key}.{name}")[0]
        elif ext == "npy":
            try:
                extras[stem] = np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise GenomniError(f"sample {key}: {name} is not a readable .npy array ({exc})") from exc
    sample = Sample(
        key=key,
        input=videos["input"],
        target=videos["target"],
        trimask=videos["trimask"],
        caption=_caption(key, members["caption.txt"]),
        meta=meta,
        extras=extras,
    )
    return sample.validate()
