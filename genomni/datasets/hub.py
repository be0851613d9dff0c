"""`genomni data export --format hub`: a shard directory as a folder that `huggingface-cli upload` publishes as a
Hugging Face dataset, and that `datasets.load_dataset(folder)` and the Hub's viewer read:

    HUBDIR/README.md                      the dataset card: the Hub's YAML metadata (license, task categories, size
                                          category, `configs` with the data files of each split) and how the data
                                          was made, its counts, QC and conventions
    HUBDIR/preview.png                    input | trimask | target of a few samples (the card shows it)
    HUBDIR/data/<split>/<split>-NNNNNN.tar   the samples' WebDataset members, copied byte for byte
    HUBDIR/data/<split>/manifest.jsonl, dataset.json   genomni's index, so every genomni verb reads a split

Samples go to splits by scene, never splitting one: the scenes (source and scene number, or the sample key
where a sample has no scene) are ordered by a hash of their name and cut at the fractions asked for, so a
split's scenes do not depend on the order the shards list them in.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from ..errors import GenomniError
from ..media import atomic_dir, atomic_write_bytes
from ..outdir import locks
from ..shards import BadSample, iter_members, read_card, read_manifest, write_index, write_tar
from .inspect import previews

SHARD_BYTES = 256 * 2**20  # a split's shard is closed past this size (the Hub serves files of up to a few GB)
SPLIT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"))
PREVIEW_SAMPLES = 4
PREVIEW = "preview.png"


def parse_splits(text: str) -> dict[str, float]:
    """`train=0.95,val=0.05` -> {"train": 0.95, "val": 0.05}: names of letters, digits and _, shares > 0 that add
    up to 1."""
    splits: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not SPLIT_NAME.fullmatch(name):
            raise GenomniError(f"--split {text!r}: give NAME=SHARE pairs such as train=0.95,val=0.05 (names of letters, digits, _)")
        try:
            share = float(value)
        except ValueError:
            raise GenomniError(f"--split {text!r}: {value.strip()!r} is not a number") from None
        if not 0 < share <= 1 or name in splits:
            raise GenomniError(f"--split {text!r}: each share must be in (0, 1] and each name given once")
        splits[name] = share
    if not splits or abs(sum(splits.values()) - 1) > 1e-6:
        raise GenomniError(f"--split {text!r}: the shares must add up to 1 (they add up to {sum(splits.values()):g})")
    return splits


def scene_of(record: dict[str, Any]) -> str:
    """The scene a manifest record belongs to: source and scene number, or the key where there is no scene."""
    scene = record.get("scene")
    return f"{record.get('source', '')}/{scene}" if scene is not None else f"key/{record['key']}"


def assign_scenes(scenes: list[str], splits: dict[str, float]) -> dict[str, str]:
    """{scene: split}: scenes ordered by the sha256 of their name, each split taking its share of them (largest
    remainders round; a split with a share gets at least one scene while there are as many scenes as splits)."""
    order = sorted(set(scenes), key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    n = len(order)
    exact = {name: share * n for name, share in splits.items()}
    counts = {name: int(v) for name, v in exact.items()}
    for name in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[: n - sum(counts.values())]:
        counts[name] += 1
    if n >= len(splits):
        for name in splits:
            if counts[name] == 0:
                donor = max(counts, key=lambda k: counts[k])
                counts[donor] -= 1
                counts[name] += 1
    result, start = {}, 0
    for name in splits:
        for scene in order[start : start + counts[name]]:
            result[scene] = name
        start += counts[name]
    return result


@dataclass
class HubExport:
    """What `export_hub` wrote: samples and scenes per split, and the damaged samples skipped."""

    folder: Path
    samples: dict[str, int]
    scenes: dict[str, int]
    skipped: list[BadSample] = field(default_factory=list)


def member_feature(member: str, data: bytes) -> dict[str, Any]:
    """The dataset card's feature of one sample member (the Hub's YAML form): videos as `Video` kept encoded (FFV1
    needs no torchcodec to load and no browser plays it), text as strings, meta.json as `Json` (its keys differ
    between samples and generators), .npy arrays as lists nested to their rank."""
    ext = member.rsplit(".", 1)[-1].lower()
    if ext in ("mkv", "mp4"):
        return {"dtype": {"video": {"decode": False}}}
    if ext == "txt":
        return {"dtype": "string"}
    if ext == "json":
        return {"dtype": "json"}
    if ext == "npy":
        import io

        import numpy as np

        fh = io.BytesIO(data)
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fh)  # the header only: no array is read
        feature: Any = np.dtype(dtype).name
        for _ in shape:
            feature = {"list": feature}
        return feature if isinstance(feature, dict) else {"dtype": feature}
    raise GenomniError(f"member {member}: genomni cannot declare a Hub feature for .{ext} members")


def _size_category(n: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if n < bound), "n>10M")


@locks("out")
def export_hub(
    source: str | os.PathLike, out: str | os.PathLike, splits: dict[str, float], license: str, skip_bad: bool = False
) -> HubExport:
    """Write the Hub folder at `out` (a new or empty folder) from the shard directory `source`; see the module's
    docstring. The data folder is written beside its final name and renamed when complete, the card last."""
    out = Path(out)
    # hidden entries are left alone and do not count: genomni's lock, a killed run's temporary folder (removed
    # below), a clone's .git and .gitattributes
    foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.is_dir() else []
    if foreign:
        raise GenomniError(
            f"--out {out} holds {', '.join(foreign[:3])}; give a new or empty folder for the Hub dataset (nothing was changed)"
        )
    card = read_card(source)
    records = read_manifest(source)
    if not records:
        raise GenomniError(f"{source}: no samples to export")
    split_of_scene = assign_scenes([scene_of(r) for r in records], splits)
    empty = [name for name in splits if name not in split_of_scene.values()]
    if empty:
        raise GenomniError(
            f"--split: no scene would land in {', '.join(empty)} ({len(split_of_scene)} scenes in {source}); "
            "give it a larger share or drop it"
        )
    skipped: list[BadSample] = []
    written: dict[str, list[dict[str, Any]]] = {name: [] for name in splits}
    features: dict[str, dict[str, Any]] = {}
    with atomic_dir(out / "data") as data:
        buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in splits}  # encoded samples
        pending: dict[str, list[dict[str, Any]]] = {name: [] for name in splits}  # their manifest records
        sizes = dict.fromkeys(splits, 0)
        shard_counts = dict.fromkeys(splits, 0)

        def flush(name: str) -> None:
            shard = f"{name}-{shard_counts[name]:06d}.tar"
            write_tar(data / name / shard, buffers[name])
            written[name] += [{**r, "shard": shard} for r in pending[name]]
            shard_counts[name] += 1
            buffers[name], pending[name], sizes[name] = [], [], 0

        for _path, key, members, record in iter_members(source, skipped.append if skip_bad else None):
            if record is None:
                raise GenomniError(f"{source}: sample {key} is not in manifest.jsonl; run `genomni data validate {source}`")
            for member, data_bytes in members.items():
                if member not in features:
                    features[member] = member_feature(member, data_bytes)
            name = split_of_scene[scene_of(record)]
            buffers[name].append({"__key__": key, **members})
            pending[name].append(record)
            sizes[name] += sum(len(v) for v in members.values())
            if sizes[name] >= SHARD_BYTES:
                flush(name)
        for name in splits:
            if buffers[name]:
                flush(name)
            if written[name]:
                write_index(data / name, written[name], {**_card_extra(card), "split": name, "exported_from": str(source)})
        written = {name: recs for name, recs in written.items() if recs}  # a split whose samples were all damaged
        if not written:
            raise GenomniError(f"{source}: every sample was damaged; nothing to export")
        shown = previews(data / next(iter(written)), data / PREVIEW, None, count=PREVIEW_SAMPLES)
        counts = {name: len(recs) for name, recs in written.items()}
        scenes = {name: len({scene_of(r) for r in recs}) for name, recs in written.items()}
        readme = dataset_card(card, counts, scenes, written, license, shown, features).encode("utf-8")
    os.replace(out / "data" / PREVIEW, out / PREVIEW)
    atomic_write_bytes(out / "README.md", readme)  # last: a folder with a card is complete
    return HubExport(out, counts, scenes, skipped)


def _card_extra(card: dict[str, Any]) -> dict[str, Any]:
    """The source card's description of how the data was made, carried into each split's dataset.json."""
    return {k: card[k] for k in ("command", "generator", "source", "renderer", "config") if k in card}


def dataset_card(
    card: dict[str, Any],
    counts: dict[str, int],
    scenes: dict[str, int],
    records: dict[str, list[dict[str, Any]]],
    license: str,
    previewed: int,
    features: dict[str, dict[str, Any]],
) -> str:
    """README.md for the Hub: YAML metadata (the Hub's keys, with every member's feature declared: `datasets`
    otherwise guesses the columns from the first five samples and fails on a later sample whose meta differs), then
    the human part."""
    total = sum(counts.values())
    meta = {
        "license": license,
        "task_categories": ["video-to-video"],
        "tags": ["omnimatte", "video-inpainting", "object-removal", "video-layer-decomposition", "synthetic", "webdataset", "genomni"],
        "size_categories": [_size_category(total)],
        "configs": [{"config_name": "default", "data_files": [{"split": name, "path": f"data/{name}/*.tar"} for name in counts]}],
        "dataset_info": {
            "config_name": "default",
            "features": [{"name": "__key__", "dtype": "string"}, {"name": "__url__", "dtype": "string"}]
            + [{"name": name, **features[name]} for name in sorted(features)],
        },
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).strip()
    all_records = [r for recs in records.values() for r in recs]
    sources: dict[str, int] = {}
    for r in all_records:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
    frames = sorted({r["frames"] for r in all_records})
    sizes = sorted({f"{r['width']}x{r['height']}" for r in all_records})
    qc_rows = []
    for name in ("effect_frac", "changed_frac", "identical_frac", "drift_frac"):
        values = [float(r["qc"][name]) for r in all_records if isinstance(r.get("qc", {}).get(name), (int, float))]
        if values:
            qc_rows.append(f"| {name} | {min(values):.4f} | {sum(values) / len(values):.4f} | {max(values):.4f} |")
    lines = [
        "---",
        front,
        "---",
        "",
        "# Object-and-effect removal pairs (genomni)",
        "",
        f"Video pairs for training object-and-effect removal (Generative Omnimatte's Casper), made by genomni {__version__}: "
        "each sample is an input clip, a target clip in which some objects are gone together with their shadows, "
        "reflections and other effects, a trimask saying what to remove, and a caption of the target.",
        "",
        f"![input | trimask | target of {previewed} samples](preview.png)",
        "",
        "## How it was made",
        "",
        f"- Command: `{card.get('command', '(not recorded)')}`",
        f"- Generator: {card.get('generator', card.get('source', 'unknown'))}" + (f", {card['renderer']}" if card.get("renderer") else ""),
        f"- {total} samples from {sum(scenes.values())} scenes; sources: {', '.join(f'{k} {v}' for k, v in sorted(sources.items()))}",
        f"- Frames per clip: {', '.join(map(str, frames))}; sizes (width x height): {', '.join(sizes)}",
        "",
        "| split | samples | scenes |",
        "|---|---|---|",
        *[f"| {name} | {counts[name]} | {scenes[name]} |" for name in counts],
        "",
        "Splits are by scene: every sample of one scene is in one split.",
        "",
    ]
    if qc_rows:
        lines += ["## Quality figures (per sample)", "", "| figure | min | mean | max |", "|---|---|---|---|", *qc_rows, ""]
    lines += [
        "## Members of a sample",
        "",
        "- `input.mkv`, `target.mkv`: RGB video, FFV1 (lossless) or `.mp4` (H.264)",
        "- `trimask.mkv`: grey video, lossless, exactly three values: **0** = remove (the objects to take out), "
        "**128** = may change (the rest of the frame, where their effects lie), **255** = keep (objects that stay)",
        "- `caption.txt`: the target's caption; `meta.json`: generator, seeds, object ids, QC figures",
        "- further members where present: `instances.mkv` (per-pixel object id), `layers.npy` (true RGBA layers)",
        "",
        "## Loading",
        "",
        "```python",
        "import datasets",
        'ds = datasets.load_dataset("path/or/hub-id", split="' + next(iter(counts)) + '")',
        'ds = ds.cast_column("input.mkv", datasets.Video(decode=False))  # cells keep the encoded bytes',
        "```",
        "",
        "or with genomni, which decodes and checks every member: `genomni data inspect data/"
        + next(iter(counts))
        + "`, `genomni train run --data data/"
        + next(iter(counts))
        + " ...`.",
        "",
    ]
    return "\n".join(lines)
