"""`genomni data validate`: read every byte of a shard directory and check it against the data contract.

Checks: each shard file against the sha256 and size in `dataset.json`; each tar header (a damaged
header is reported, not taken as the end of the archive); each sample's members against the sha256
and size in `manifest.jsonl`; a full decode of every video (frame counts and sizes as listed, trimask
values exactly {0,128,255}, a quadmask's exactly {0,63,127,255}, input/target/trimask shapes agreeing);
a non-empty UTF-8 caption; meta.json an object with `source`; and the manifest itself: every line a record,
no key listed twice, every listed sample present in the shard it names and no sample in a shard that the
manifest does not list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import GenomniError
from ..sample import decode
from ..shards import (
    MANIFEST,
    check_members,
    file_digest,
    manifest_lines,
    parse_manifest_line,
    read_card,
    read_members,
    shard_paths,
)
from ..storage import location


@dataclass
class ValidationReport:
    """Samples found, samples that pass, and each problem as {'key', 'shard', 'reason'} ('*' = not one sample)."""

    samples: int
    ok: int
    bad: list[dict[str, str]] = field(default_factory=list)


def validate_dir(directory: str | os.PathLike) -> ValidationReport:
    """Check every shard, sample and manifest line of a shard directory."""
    directory = location(directory)
    bad: list[dict[str, str]] = []

    def problem(key: str, shard: str, reason: str) -> None:
        bad.append({"key": key, "shard": shard, "reason": reason})

    listed: dict[str, dict] = {}
    for n, line in manifest_lines(directory):
        try:
            r = parse_manifest_line(directory / MANIFEST, n, line)
        except GenomniError as exc:
            problem("*", MANIFEST, str(exc))
            continue
        if r["key"] in listed:
            problem(r["key"], MANIFEST, f"line {n} lists key {r['key']} again")
            continue
        listed[r["key"]] = r
    try:
        files = read_card(directory).get("shard_files")
    except GenomniError as exc:
        problem("*", "dataset.json", str(exc))
        files = None
    shards = shard_paths(directory)
    if isinstance(files, dict):
        for name in sorted(set(files) - {p.name for p in shards}):
            problem("*", name, "listed in dataset.json but missing")
    seen: dict[str, str] = {}
    failed: set[str] = set()
    for shard in shards:
        if isinstance(files, dict):
            if shard.name not in files:
                problem("*", shard.name, "not listed in dataset.json")
            elif file_digest(shard) != files[shard.name]:
                problem("*", shard.name, "shard file does not match its dataset.json checksum (damaged or changed)")
        try:
            for key, members in read_members(shard):
                if key in seen:
                    problem(key, shard.name, f"sample also in {seen[key]}")
                    failed.add(key)
                    continue
                seen[key] = shard.name
                try:
                    rec = listed.get(key)
                    check_members(shard, key, members, rec)
                    if rec["shard"] != shard.name:
                        raise GenomniError(f"manifest places it in {rec['shard']}")
                    s = decode({"__key__": key, **members})
                    reasons = []
                    if not s.caption.strip():
                        reasons.append("empty caption")
                    if "source" not in s.meta:
                        reasons.append("meta has no source")
                    if (rec["frames"], rec["height"], rec["width"]) != s.trimask.shape:
                        reasons.append(
                            f"manifest says {rec['frames']}x{rec['height']}x{rec['width']}, "
                            f"the sample is {'x'.join(map(str, s.trimask.shape))}"
                        )
                    if reasons:
                        raise GenomniError("; ".join(reasons))
                except GenomniError as exc:
                    problem(key, shard.name, str(exc))
                    failed.add(key)
        except GenomniError as exc:
            problem("*", shard.name, str(exc))
    for key in sorted(set(listed) - set(seen)):
        problem(key, listed[key]["shard"], "listed in manifest.jsonl but not readable from any shard")
    return ValidationReport(len(seen), len(seen) - len(failed), bad)
