"""`genomni data validate`: decode every sample of a shard directory and check the data contract.

Checks per sample: the members decode (videos, caption, meta), shapes and dtypes match, trimask
values are exactly {0,128,255}, the caption is non-empty, meta has `source`, and the manifest
agrees with the shards (every listed sample present, frame counts and sizes as listed).
"""

from __future__ import annotations

import os
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GenomniError
from ..sample import decode
from ..shards import read_manifest, shard_paths


@dataclass
class ValidationReport:
    """Samples found, samples that pass, and each bad sample as {'key', 'shard', 'reason'}."""

    samples: int
    ok: int
    bad: list[dict[str, str]] = field(default_factory=list)


def validate_dir(directory: str | os.PathLike) -> ValidationReport:
    """Check every sample in the shards and the manifest against the data contract."""
    directory = Path(directory)
    listed = {r["key"]: r for r in read_manifest(directory)}
    seen: set[str] = set()
    bad: list[dict[str, str]] = []
    count = 0
    for shard in shard_paths(directory):
        members: dict[str, dict[str, bytes]] = defaultdict(dict)
        try:
            with tarfile.open(shard, "r:") as tar:
                for info in tar:
                    if info.isfile() and "." in info.name:
                        key, name = info.name.split(".", 1)
                        members[key][name] = tar.extractfile(info).read()
        except (OSError, tarfile.TarError) as exc:
            bad.append({"key": "*", "shard": shard.name, "reason": f"unreadable shard ({exc})"})
            continue
        for key, raw in members.items():
            count += 1
            seen.add(key)
            try:
                s = decode({"__key__": key, **raw})
                reasons = []
                if not s.caption.strip():
                    reasons.append("empty caption")
                if "source" not in s.meta:
                    reasons.append("meta has no source")
                rec = listed.get(key)
                if rec is None:
                    reasons.append("not in manifest.jsonl")
                elif (rec.get("frames"), rec.get("height"), rec.get("width")) != s.trimask.shape:
                    reasons.append(f"manifest says {rec.get('frames')}x{rec.get('height')}x{rec.get('width')}, "
                                   f"the sample is {'x'.join(map(str, s.trimask.shape))}")
                elif rec.get("shard") != shard.name:
                    reasons.append(f"manifest places it in {rec.get('shard')}")
                if reasons:
                    raise GenomniError("; ".join(reasons))
            except GenomniError as exc:
                bad.append({"key": key, "shard": shard.name, "reason": str(exc)})
    for key in sorted(set(listed) - seen):
        bad.append({"key": key, "shard": listed[key].get("shard", "?"), "reason": "listed in manifest.jsonl but not in any shard"})
    return ValidationReport(count, count - len({b["key"] for b in bad if b["key"] in seen}), bad)
