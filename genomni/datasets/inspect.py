"""`genomni data inspect`: totals, per-source counts, QC summaries and previews of a shard directory."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from ..errors import GenomniError
from ..sample import Sample
from ..shards import iter_samples, read_card, read_manifest, shard_paths

QC_FIELDS = ("effect_frac", "changed_frac", "identical_frac", "drift_frac", "drift_max", "residual_object_pixels")


@dataclass
class DatasetSummary:
    """What `genomni data inspect` reports about a shard directory."""

    samples: int
    shards: int
    per_source: dict[str, int]
    resolutions: list[str]
    frames: list[int]
    scenes: dict[str, Any]
    dropped_scenes: list[dict[str, Any]]
    complete: bool | None
    command: str
    qc: dict[str, dict[str, float]] = field(default_factory=dict)


def summarize(out_dir: str | os.PathLike) -> DatasetSummary:
    """Totals, per-source counts and QC statistics from `dataset.json` and `manifest.jsonl`."""
    card = read_card(out_dir)
    records = read_manifest(out_dir)
    if isinstance(card.get("samples"), int) and card["samples"] != len(records):
        raise GenomniError(
            f"{out_dir}: manifest.jsonl lists {len(records)} samples, dataset.json says {card['samples']}; "
            "`genomni data validate` checks them"
        )
    qc: dict[str, dict[str, float]] = {}
    # the kubric figures first, then whatever numeric figures other generators record (objectpaste's mask area...)
    found = {k for r in records for k, v in r.get("qc", {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for name in [*QC_FIELDS, *sorted(found - set(QC_FIELDS))]:
        values = np.array([r["qc"][name] for r in records if name in r.get("qc", {})], dtype=float)
        if len(values):
            qc[name] = {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max())}
    vis = [min(r["qc"]["visible_pixels"]) for r in records if r.get("qc", {}).get("visible_pixels")]
    if vis:
        qc["min_visible_pixels"] = {"mean": float(np.mean(vis)), "min": float(min(vis)), "max": float(max(vis))}
    sources: dict[str, int] = {}
    for r in records:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
    return DatasetSummary(
        samples=len(records),
        shards=len(shard_paths(out_dir)),
        per_source=sources,
        resolutions=sorted({f"{r['width']}x{r['height']}" for r in records}),
        frames=sorted({r["frames"] for r in records}),
        scenes=card.get("scenes", {}),
        dropped_scenes=card.get("dropped_scenes", []),
        complete=card.get("complete"),
        command=card.get("command", ""),
        qc=qc,
    )


def sample_row(sample: Sample, t: int) -> np.ndarray:
    """Frame t of a sample as one image: input | trimask (grey) | target, then for interaction samples VOID's pass C
    (the removed objects hidden, the physics kept) | quadmask (grey), split by 2-px white bars."""
    gray = lambda m: np.repeat(m[t][..., None], 3, axis=-1)  # noqa: E731
    sep = np.full((sample.input.shape[1], 2, 3), 255, np.uint8)
    parts = [sample.input[t], gray(sample.trimask), sample.target[t]]
    if "hidden" in sample.extras and "quadmask" in sample.extras:
        parts += [sample.extras["hidden"][t], gray(sample.extras["quadmask"])]
    return np.concatenate([x for p in parts for x in (p, sep)][:-1], axis=1)


def _grid(samples: list[Sample], t_of: Callable[[Sample], int]) -> np.ndarray:
    rows = [sample_row(s, t_of(s)) for s in samples]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)


def previews(
    out_dir: str | os.PathLike, png: str | os.PathLike | None, gif: str | os.PathLike | None, count: int = 4, gif_frames: int = 48
) -> int:
    """Write a PNG (middle frame) and an animated GIF of `count` samples: input | trimask | target (| pass C |
    quadmask for interaction samples)."""
    if count < 1:
        raise GenomniError("--count must be >= 1")
    samples = list(itertools.islice(iter_samples(out_dir), count))
    if not samples:
        raise GenomniError(f"{out_dir}: the shards hold no samples")
    if png:
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_grid(samples, lambda s: len(s.input) // 2)).save(png)
    if gif:
        Path(gif).parent.mkdir(parents=True, exist_ok=True)
        length = min(gif_frames, max(len(s.input) for s in samples))
        frames = [Image.fromarray(_grid(samples, lambda s, t=t: min(t, len(s.input) - 1))) for t in range(length)]
        fps = samples[0].fps
        frames[0].save(gif, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return len(samples)
