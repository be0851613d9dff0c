"""WebDataset shards of Samples: atomic shard files, `manifest.jsonl`, `dataset.json`, two readers.

A shard is `<prefix>-%06d.tar`, written under a temporary name and renamed once complete, with a
fixed mtime/owner so identical samples give byte-identical tars. `manifest.jsonl` lists every sample
(with its shard and QC figures) and `dataset.json` is the card (totals, per-source counts,
resolution, frames, the command and versions). Both `webdataset.WebDataset` and Hugging Face
`datasets.load_dataset("webdataset", ...)` read the shards (see `load_hf`).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import webdataset as wds

from . import __version__
from .errors import GenomniError
from .media import atomic_write_bytes
from .sample import Sample, decode, encode

SHARD_RE = re.compile(r"^(?P<prefix>.+)-(?P<index>\d{6})\.tar$")
MANIFEST = "manifest.jsonl"
CARD = "dataset.json"
VIDEO_MEMBER_EXTS = ("mkv", "mp4")


def shard_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:06d}.tar"


def manifest_record(sample: Sample, shard: str) -> dict[str, Any]:
    """The manifest line for one sample: where it is and what it holds."""
    t, h, w = sample.trimask.shape
    meta = sample.meta
    return {
        "key": sample.key,
        "shard": shard,
        "source": meta.get("source", "unknown"),
        "scene": meta.get("scene_index"),
        "frames": t,
        "height": h,
        "width": w,
        "removed": meta.get("removed_ids", []),
        "kept": meta.get("kept_ids", []),
        "caption": sample.caption,
        "qc": meta.get("qc", {}),
    }


def write_shard(path: str | os.PathLike, samples: Iterable[Sample], video_codec: str = "ffv1") -> list[dict[str, Any]]:
    """Write samples to one shard atomically and return their manifest records."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    records = []
    try:
        with open(tmp, "wb") as fh:
            writer = wds.TarWriter(fh, encoder=False, mtime=0.0, user="genomni", group="genomni", mode=0o444)
            for sample in samples:
                writer.write(encode(sample, video_codec))
                records.append(manifest_record(sample, path.name))
            writer.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return records


def shard_paths(source: str | os.PathLike) -> list[Path]:
    """Complete shard files in a directory (sorted), or the single shard file given."""
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise GenomniError(f"{source}: no such shard file or directory")
    paths = sorted(p for p in source.iterdir() if SHARD_RE.match(p.name))
    if not paths:
        raise GenomniError(f"{source}: no shards (<prefix>-NNNNNN.tar) found")
    return paths


def _every_shard(urls: Iterable[Any]) -> Iterator[Any]:
    """Each process reads every shard: iter_samples is a full read, not a training split (which is step-indexed)."""
    yield from urls


def iter_samples(source: str | os.PathLike | list[Path]) -> Iterator[Sample]:
    """Yield decoded Samples from shards with the `webdataset` library, in shard order."""
    paths = source if isinstance(source, list) else shard_paths(source)
    dataset = wds.WebDataset([str(p) for p in paths], shardshuffle=False, empty_check=False, nodesplitter=_every_shard)
    for members in dataset:
        yield decode(members)


def write_index(out_dir: str | os.PathLike, records: list[dict[str, Any]], card_extra: dict[str, Any]) -> dict[str, Any]:
    """Write `manifest.jsonl` and the `dataset.json` card atomically from manifest records."""
    out_dir = Path(out_dir)
    lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    atomic_write_bytes(out_dir / MANIFEST, lines.encode("utf-8"))
    card = {
        "genomni_version": __version__,
        "samples": len(records),
        "shards": sorted({r["shard"] for r in records}),
        "per_source": dict(sorted(Counter(r["source"] for r in records).items())),
        "resolutions": sorted({f"{r['height']}x{r['width']}" for r in records}),
        "frames": sorted({r["frames"] for r in records}),
        "members": ["input", "target", "trimask.mkv", "caption.txt", "meta.json"],
        **card_extra,
    }
    atomic_write_bytes(out_dir / CARD, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return card


def read_manifest(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        raise GenomniError(f"{out_dir}: no {MANIFEST}; is this a genomni shard directory?")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_card(out_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(out_dir) / CARD
    if not path.exists():
        raise GenomniError(f"{out_dir}: no {CARD}; is this a genomni shard directory?")
    return json.loads(path.read_text())


def load_hf(source: str | os.PathLike, split: str = "train"):
    """Load shards with Hugging Face `datasets`; video members stay as raw bytes.

    HF infers `.mkv`/`.mp4` members as `Video`, whose decoder needs torchcodec (not usable with the
    CPU torch build), so video columns are cast to `Video(decode=False)`: each cell is
    `{"path", "bytes"}`, decodable with `genomni.media.decode_video(cell["bytes"])`.
    """
    import datasets

    paths = [str(p) for p in shard_paths(source)]
    ds = datasets.load_dataset("webdataset", data_files={split: paths}, split=split)
    for column, feature in ds.features.items():
        if column.rsplit(".", 1)[-1] in VIDEO_MEMBER_EXTS:
            ds = ds.cast_column(column, datasets.Video(decode=False))
    return ds
