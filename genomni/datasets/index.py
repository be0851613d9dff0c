"""Random access to the samples of shard directories (or a Hugging Face dataset), grouped by source.

Training draws sample k of source s at step t as a pure function of (seed, t, slot), which makes
mixing proportions exact in expectation, multi-worker loading trivial and `--resume` exact. That
needs random access, so each tar is indexed once by its member headers (webdataset's `wids` does
this with its own index format but is not part of webdataset 1.0; our manifest already lists every
sample, so a header scan is all that is missing).
"""

from __future__ import annotations

import json
import os
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import GenomniError
from ..sample import Sample, decode
from ..shards import check_members, read_manifest, shard_paths
from ..storage import location


@dataclass(frozen=True)
class Entry:
    """Where one sample lives: shard file, key, source, and its frame count from the manifest."""

    shard: str
    key: str
    source: str
    frames: int


class ShardIndex:
    """Samples of one or more shard directories, readable by position, grouped by `meta.source`."""

    def __init__(self, dirs: Sequence[str | os.PathLike]):
        if not dirs:
            raise GenomniError("no training data given (pass one or more shard directories)")
        self.entries: list[Entry] = []
        self._records: list[dict[str, Any]] = []
        self._paths: dict[str, Path] = {}
        for d in dirs:
            d = location(d)
            shard_paths(d)  # a clear error for a missing or empty directory
            for r in read_manifest(d):
                path = d / r["shard"]
                self._paths[str(path)] = path
                self.entries.append(Entry(str(path), r["key"], r["source"], int(r["frames"])))
                self._records.append(r)
        if not self.entries:
            raise GenomniError(f"{', '.join(map(str, dirs))}: the manifest lists no samples")
        self._offsets: dict[str, dict[str, dict[str, tuple[int, int]]]] = {}

    def by_source(self) -> dict[str, list[int]]:
        """Positions of the samples of each source."""
        groups: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.entries):
            groups[e.source].append(i)
        return dict(groups)

    def _members(self, shard: str) -> dict[str, dict[str, tuple[int, int]]]:
        if shard not in self._offsets:
            table: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
            try:
                with self._paths[shard].open("rb") as fh, tarfile.open(fileobj=fh, mode="r:") as tar:
                    for info in tar:
                        if info.isfile() and "." in info.name:
                            key, member = info.name.split(".", 1)
                            table[key][member] = (info.offset_data, info.size)
            except (OSError, EOFError, tarfile.TarError, UnicodeDecodeError) as exc:
                raise GenomniError(f"{shard}: unreadable shard ({exc})") from exc
            self._offsets[shard] = dict(table)
        return self._offsets[shard]

    def __len__(self) -> int:
        return len(self.entries)

    def read(self, i: int) -> Sample:
        """Decode sample i (validated against the data contract)."""
        e = self.entries[i]
        members = self._members(e.shard).get(e.key)
        if members is None:
            raise GenomniError(f"{e.shard}: sample {e.key} listed in the manifest is not in the shard")
        raw: dict[str, bytes] = {}
        try:
            with self._paths[e.shard].open("rb") as fh:
                for name, (offset, size) in members.items():
                    fh.seek(offset)
                    raw[name] = fh.read(size)
        except OSError as exc:
            raise GenomniError(f"{e.shard}: unreadable shard ({exc.strerror})") from exc
        check_members(e.shard, e.key, raw, self._records[i])
        return decode({"__key__": e.key, **raw})


class HFIndex:
    """Samples of a Hugging Face dataset in genomni's member layout (e.g. `genomni.shards.load_hf`)."""

    def __init__(self, dataset: Any):
        self.dataset = dataset
        missing = [m for m in ("meta.json", "caption.txt") if m not in dataset.column_names]
        if missing:
            raise GenomniError(f"Hugging Face dataset lacks columns {', '.join(missing)}; is it in genomni's layout?")
        self._sources = [_source_of(m) for m in dataset["meta.json"]]

    def by_source(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self._sources):
            groups[s].append(i)
        return dict(groups)

    def __len__(self) -> int:
        return len(self.dataset)

    def read(self, i: int) -> Sample:
        row = self.dataset[i]
        members = {k: (v["bytes"] if isinstance(v, dict) and "bytes" in v else v) for k, v in row.items()}
        return decode(members)


def open_index(dirs: Sequence[str | os.PathLike], hf: bool = False) -> ShardIndex | HFIndex:
    """A ShardIndex over shard dirs, or (hf) an HFIndex over the same dirs read by Hugging Face `datasets`:
    shard dirs through `load_dataset("webdataset")`, `save_to_disk` dirs through `load_from_disk`."""
    if not hf:
        return ShardIndex(dirs)
    import datasets

    from ..shards import load_hf

    parts = []
    for d in dirs:
        d = Path(d)
        if (d / "state.json").is_file() or (d / "dataset_dict.json").is_file():
            loaded = datasets.load_from_disk(str(d))
            parts.append(loaded["train"] if isinstance(loaded, datasets.DatasetDict) else loaded)
        else:
            parts.append(load_hf(d))
    return HFIndex(parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts))


def _source_of(meta: Any) -> str:
    """The `source` of a sample from its meta (a dict, or JSON bytes/str as HF keeps it)."""
    if isinstance(meta, (bytes, bytearray, str)):
        meta = json.loads(meta)
    return str(meta.get("source", "unknown"))
