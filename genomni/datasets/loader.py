"""Shards -> training batches: per-source mixing, step-indexed sampling, multi-worker loading.

Micro-batch t, slot j draws its source, sample and augmentation from a generator seeded by
(seed, t, j) alone. So proportions follow `--mix` exactly in expectation, any number of loader
workers or processes gives the same batches, and resuming at micro-batch t reproduces the
uninterrupted stream (the data position is just t).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from .. import quadmask as qm
from .. import trimask as tm
from ..errors import GenomniError
from ..tensors import from_uint8
from .clips import Augment, ClipConfig, apply, clip_quadmask, draw


def parse_mix(spec: str | dict[str, float] | None, sources: dict[str, list[int]]) -> dict[str, float]:
    """Normalised sampling weights per source: `kubric=0.48,tripod=0.25,...`, or by sample count when None."""
    if not spec:
        total = sum(len(v) for v in sources.values())
        return {s: len(v) / total for s, v in sorted(sources.items())}
    if isinstance(spec, str):
        weights: dict[str, float] = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            try:
                weights[name.strip()] = float(value)
            except ValueError as exc:
                raise GenomniError(f"--mix: {part.strip()!r} is not SOURCE=WEIGHT") from exc
            if not sep:
                raise GenomniError(f"--mix: {part.strip()!r} is not SOURCE=WEIGHT")
    else:
        weights = dict(spec)
    unknown = sorted(set(weights) - set(sources))
    if unknown:
        raise GenomniError(f"--mix names source(s) {', '.join(unknown)} that the data does not have (it has {', '.join(sorted(sources))})")
    if not all(math.isfinite(w) and w >= 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise GenomniError(f"--mix weights must be finite, >= 0 and not all zero, got {spec}")
    total = sum(weights.values())
    return {s: weights[s] / total for s in sorted(weights) if weights[s] > 0}


def to_tensors(inp: np.ndarray, target: np.ndarray, trimask: np.ndarray) -> dict[str, torch.Tensor]:
    """uint8 clips -> float tensors: videos (3,F,H,W) in [-1,1], trimask (1,F,H,W) in {0, 0.5, 1}."""
    return {"input": from_uint8(inp), "target": from_uint8(target), "trimask": torch.from_numpy(tm.to_float(trimask))[None]}


def quadmask_tensor(quadmask: np.ndarray) -> torch.Tensor:
    """A uint8 quadmask clip -> (1,F,H,W) float value/255, as VOID's trainer feeds it: remove 0, remove-and-changed
    63/255, changed 127/255, keep 1."""
    return torch.from_numpy(qm.validate(quadmask).astype(np.float32) / 255.0)[None]


def clip_tensors(sample: Any, cfg: ClipConfig, aug: Augment) -> dict[str, torch.Tensor]:
    """A sample's clip as tensors (`to_tensors`), with its `quadmask` when the clip config asks for one."""
    out = to_tensors(*apply(sample, cfg, aug))
    if cfg.quadmask:
        out["quadmask"] = quadmask_tensor(clip_quadmask(sample, cfg, aug))
    return out


class ClipDataset(torch.utils.data.Dataset):
    """Map-style dataset indexed by (micro-batch, slot): each item is a pure function of the seed and index."""

    def __init__(self, index: Any, cfg: ClipConfig, mix: str | dict[str, float] | None = None, seed: int = 0):
        self.index, self.cfg, self.seed = index, cfg, seed
        self.groups = index.by_source()
        self.weights = parse_mix(mix, self.groups)
        self.names = list(self.weights)
        self.probs = np.array([self.weights[n] for n in self.names])
        short = [e.key for e in getattr(index, "entries", []) if e.frames < cfg.span()]
        if short:
            raise GenomniError(
                f"{len(short)} sample(s) have fewer than the {cfg.span()} frames a clip needs (e.g. {short[0]}); lower --frames or --stride"
            )

    def choose(self, step: int, slot: int) -> tuple[str, int, np.random.Generator]:
        """The source and sample position drawn for (step, slot), and the generator for its augmentation."""
        rng = np.random.default_rng([self.seed, step, slot])
        source = self.names[int(rng.choice(len(self.names), p=self.probs))]
        members = self.groups[source]
        return source, members[int(rng.integers(len(members)))], rng

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: tuple[int, int]) -> dict[str, Any]:
        source, i, rng = self.choose(*item)
        sample = self.index.read(i)
        aug = draw(self.cfg, *sample.trimask.shape, rng)
        return {**clip_tensors(sample, self.cfg, aug), "caption": sample.caption, "key": sample.key, "source": source}


def fixed_clip(sample: Any, cfg: ClipConfig) -> dict[str, Any]:
    """The deterministic clip used for validation: first frames, no flip, whole frame."""
    t, h, w = sample.trimask.shape
    aspect = cfg.width / cfg.height
    ch = min(h, int(w / aspect))
    cw = min(w, int(round(ch * aspect)))
    aug = Augment(0, False, False, ((h - ch) // 2, (w - cw) // 2, ch, cw))
    return {**clip_tensors(sample, cfg, aug), "caption": sample.caption, "key": sample.key}


class StepBatches(torch.utils.data.Sampler):
    """Yields the (step, slot) lists of micro-batches `start`.. for one process of `world` processes."""

    def __init__(self, batch_size: int, start: int = 0, stop: int | None = None, rank: int = 0, world: int = 1):
        self.batch_size, self.start, self.stop, self.rank, self.world = batch_size, start, stop, rank, world

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start
        while self.stop is None or step < self.stop:
            yield [(step, self.rank * self.batch_size + j) for j in range(self.batch_size)]
            step += 1

    def __len__(self) -> int:
        if self.stop is None:
            raise TypeError("an open-ended StepBatches has no length")
        return max(0, self.stop - self.start)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep strings as lists."""
    out: dict[str, Any] = {}
    for k in items[0]:
        vals = [it[k] for it in items]
        out[k] = torch.stack(vals) if isinstance(vals[0], torch.Tensor) else vals
    return out


def _single_threaded_worker(_: int) -> None:
    """Loader workers decode and crop small clips: one thread each, so they do not crowd out the training step."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def make_loader(
    dataset: ClipDataset, batch_size: int, start: int = 0, stop: int | None = None, rank: int = 0, world: int = 1, workers: int = 0
) -> torch.utils.data.DataLoader:
    """A DataLoader over micro-batches start..stop of this process's share of the global batch."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=StepBatches(batch_size, start, stop, rank, world),
        num_workers=workers,
        collate_fn=collate,
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
        worker_init_fn=_single_threaded_worker if workers else None,
        multiprocessing_context="spawn" if workers else None,
    )  # a forked worker deadlocked on thread pools the parent had started
