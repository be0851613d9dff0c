"""WebDataset shards of Samples: atomic shard files, `manifest.jsonl`, `dataset.json`, two readers.

A shard is `<prefix>-%06d.tar`, written under a temporary name and renamed once complete, with a
fixed mtime/owner so identical samples give byte-identical tars. `manifest.jsonl` lists every sample
(with its shard, QC figures and the sha256 and size of each of its members) and `dataset.json` is the
card (totals, per-source counts, resolution, frames, each shard file's sha256 and size, the command and
versions). Both `webdataset.WebDataset` and Hugging Face `datasets.load_dataset("webdataset", ...)` read
the shards (see `load_hf`); genomni's own readers check every member against the manifest, so a damaged
shard is an error naming the shard, the sample and the member, never a silently dropped sample.
Every reader and `write_index` also take fsspec URLs (`s3://...`, `memory://...`; see `storage`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from . import __version__
from .errors import GenomniError
from .sample import Sample, decode, encode
from .storage import location, write_bytes

SHARD_RE = re.compile(r"^(?P<prefix>.+)-(?P<index>\d{6})\.tar$")
MANIFEST = "manifest.jsonl"
CARD = "dataset.json"
VIDEO_MEMBER_EXTS = ("mkv", "mp4")


def shard_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:06d}.tar"


def digest(data: bytes) -> dict[str, Any]:
    """What the manifest records of a member (and the card of a shard file): sha256 and size."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def manifest_record(sample: Sample, shard: str, members: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest line for one sample: where it is, what it holds, and (given its encoded members) the
    sha256 and size of every member."""
    t, h, w = sample.trimask.shape
    meta = sample.meta
    return {
        "key": sample.key,
        "shard": shard,
        "source": meta.get("source", "unknown"),
        "scene": meta.get("scene_index"),
        "scenario": meta.get("scenario"),
        "frames": t,
        "height": h,
        "width": w,
        "removed": meta.get("removed_ids", []),
        "kept": meta.get("kept_ids", []),
        "caption": sample.caption,
        "qc": meta.get("qc", {}),
        **({"members": {n: digest(b) for n, b in sorted(members.items()) if not n.startswith("__")}} if members else {}),
    }


def write_shard(path: str | os.PathLike, samples: Iterable[Sample], video_codec: Literal["ffv1", "h264"] = "ffv1") -> list[dict[str, Any]]:
    """Write samples to one shard atomically (a temporary name, renamed when complete) and return their manifest
    records (key, members with sha256 and size, caption, QC); `write_index` turns records into manifest.jsonl and
    dataset.json.

    Args:
        path: the shard file, e.g. `out/kubric-000000.tar`.
        samples: checked `Sample`s (the data contract: trimask values, shapes, caption).
        video_codec: input/target videos as FFV1 (lossless .mkv) or H.264 (.mp4); trimasks are always lossless.

    Example:
        >>> records = write_shard("out/mine-000000.tar", [sample])  # doctest: +SKIP
        >>> write_index("out", records, {"source": "mine"})  # doctest: +SKIP
    """
    path = Path(path)
    records = []

    def encoded() -> Iterator[dict[str, bytes]]:
        for sample in samples:
            members = encode(sample, video_codec)
            records.append(manifest_record(sample, path.name, members))
            yield members

    write_tar(path, encoded())
    return records


def write_tar(path: str | os.PathLike, samples: Iterable[dict[str, Any]]) -> None:
    """Write encoded samples ({"__key__": key, member name: bytes}) to one shard atomically: a temporary name,
    renamed when complete; on any failure nothing is left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = None
    try:
        with open(tmp, "wb") as fh:
            import webdataset as wds  # imports torch: not at start-up, so --help stays fast

            writer = wds.TarWriter(fh, encoder=False, mtime=0.0, user="genomni", group="genomni", mode=0o444)
            for members in samples:
                writer.write(members)
            writer.close()
        os.replace(tmp, path)
    except BaseException:
        # a failed write's tar stream is abandoned: left open, tarfile flushes it into the closed file when it is
        # collected, a second traceback ("write to closed file") after the one-line error (a full disk)
        stream = getattr(getattr(writer, "tarstream", None), "fileobj", None)
        if stream is not None:
            stream.closed = True
        tmp.unlink(missing_ok=True)
        raise


def shard_paths(source: str | os.PathLike) -> list[Path]:
    """Complete shard files in a directory or at a URL (sorted), or the single shard file given."""
    source = location(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise GenomniError(f"{source}: no such shard file or directory")
    paths = sorted(p for p in source.iterdir() if SHARD_RE.match(p.name))
    if not paths:
        raise GenomniError(f"{source}: no shards (<prefix>-NNNNNN.tar) found")
    odd = next((p for p in paths if not p.is_file()), None)
    if odd is not None:  # a device, pipe or socket (or a link to one) would be read forever
        raise GenomniError(f"{odd}: not a regular file (a device, pipe, socket or folder); a shard is a tar file")
    return paths


@dataclass
class BadSample:
    """A sample a reader could not use: its shard, key ('*' for the shard itself) and why."""

    shard: str
    key: str
    reason: str


def read_members(shard: str | os.PathLike) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {member name: bytes}) for each sample of a shard, in tar order.

    Hand-written over tarfile rather than webdataset's iterator: after a damaged header tarfile (and so
    webdataset) stops as if the archive had ended, silently dropping the samples behind it; here any bytes
    left after the last readable member must be the end-of-archive zeros, else it is an error.
    """
    shard = location(shard)
    try:
        fh = shard.open("rb")
    except OSError as exc:
        raise GenomniError(f"{shard}: unreadable ({exc})") from exc
    with fh:
        yield from _tar_members(shard, fh)


def _tar_members(shard: Path, fh: Any) -> Iterator[tuple[str, dict[str, bytes]]]:
    try:
        with tarfile.open(fileobj=fh, mode="r:") as tar:
            key, members = None, {}
            for info in tar:
                if not info.isfile():
                    raise GenomniError(f"{shard}: damaged shard (a {info.type!r} entry {info.name!r})")
                stem, dot, member = info.name.partition(".")
                if not dot or not stem or not member:
                    raise GenomniError(f"{shard}: damaged shard (member name {info.name!r} is not KEY.MEMBER)")
                data = tar.extractfile(info).read()
                if len(data) != info.size:
                    raise GenomniError(f"{shard}: truncated in {info.name}")
                if stem != key:
                    if key is not None:
                        yield key, members
                    key, members = stem, {}
                if member in members:
                    raise GenomniError(f"{shard}: member {info.name} appears twice")
                members[member] = data
            end = tar.offset
        if key is not None:
            yield key, members
    except (OSError, EOFError, tarfile.TarError, UnicodeDecodeError) as exc:
        raise GenomniError(f"{shard}: damaged shard ({exc})") from exc
    fh.seek(end)
    rest = fh.read()
    if rest.strip(b"\0"):
        raise GenomniError(
            f"{shard}: damaged shard ({len(rest)} bytes after byte {end} are not a readable member or the end-of-archive marker)"
        )


def check_members(shard: str | os.PathLike, key: str, members: dict[str, bytes], record: dict[str, Any] | None) -> None:
    """Compare a sample's members with its manifest record: the same member names, each with the recorded
    sha256 and size (records from genomni < 0.2 carry no digests; only the names are compared then)."""
    if record is None:
        raise GenomniError(f"{shard}: sample {key} is not in manifest.jsonl")
    expected = record.get("members")
    if expected is None:
        return
    if sorted(members) != sorted(expected):
        raise GenomniError(
            f"{shard}: sample {key} has members {', '.join(sorted(members))}, the manifest lists {', '.join(sorted(expected))}"
        )
    for name, data in members.items():
        if digest(data) != expected[name]:
            raise GenomniError(f"{shard}: sample {key}: member {name} does not match its manifest checksum (damaged)")


def manifest_by_shard(directory: Path) -> dict[str, dict[str, dict[str, Any]]] | None:
    """{shard name: {key: record}} from the directory's manifest, or None where there is no manifest."""
    if not (directory / MANIFEST).is_file():
        return None
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for r in read_manifest(directory):
        table.setdefault(r["shard"], {})[r["key"]] = r
    return table


def iter_samples(source: str | os.PathLike | list[Path], handler: Callable[[BadSample], None] | None = None) -> Iterator[Sample]:
    """Yield decoded, contract-checked Samples from shards in order, each member checked against the manifest
    (when the directory has one).

    Args:
        source: a shard directory (local or an fsspec URL) or a list of shard files.
        handler: what to do with a damaged sample (or the unreadable rest of a shard), as webdataset's `handler=`:
            called with a `BadSample` naming shard, sample and reason, after which reading goes on (`list.append`
            collects them). Without one, damage is a GenomniError naming shard, sample and member.

    Example:
        >>> bad = []
        >>> for sample in iter_samples("data/kubric", handler=bad.append):  # doctest: +SKIP
        ...     print(sample.key, sample.input.shape, sample.caption)
    """
    for path, key, members, _ in iter_members(source, handler):
        try:
            sample = decode({"__key__": key, **members})
        except GenomniError as exc:
            if handler is None:
                raise
            handler(BadSample(path.name, key, str(exc)))
            continue
        yield sample


def iter_members(
    source: str | os.PathLike | list[Path], handler: Callable[[BadSample], None] | None = None
) -> Iterator[tuple[Path, str, dict[str, bytes], dict[str, Any] | None]]:
    """(shard, key, raw members, manifest record or None) for each sample, in order, the members checked against
    the manifest (when the directory has one); damage as in `iter_samples`. For copying samples unchanged."""
    paths = source if isinstance(source, list) else shard_paths(source)
    manifests: dict[Path, Any] = {}
    for path in paths:
        if path.parent not in manifests:
            manifests[path.parent] = manifest_by_shard(path.parent)
        table = manifests[path.parent]
        listed = table.get(path.name, {}) if table is not None else None
        seen: set[str] = set()
        try:
            for key, members in read_members(path):
                seen.add(key)
                if listed is not None:
                    try:
                        check_members(path, key, members, listed.get(key))
                    except GenomniError as exc:
                        if handler is None:
                            raise
                        handler(BadSample(path.name, key, str(exc)))
                        continue
                yield path, key, members, None if listed is None else listed.get(key)
        except GenomniError as exc:
            if handler is None:
                raise
            handler(BadSample(path.name, "*", str(exc)))
        missing = sorted(set(listed or {}) - seen)
        if missing:
            message = f"{path}: sample(s) {', '.join(missing)} listed in manifest.jsonl are not in the shard"
            if handler is None:
                raise GenomniError(message)
            for k in missing:
                handler(BadSample(path.name, k, "listed in manifest.jsonl but not readable from the shard"))


def write_index(out_dir: str | os.PathLike, records: list[dict[str, Any]], card_extra: dict[str, Any]) -> dict[str, Any]:
    """Write `manifest.jsonl` and then the `dataset.json` card, each complete (renamed locally, one PUT at a URL),
    from manifest records."""
    out_dir = location(out_dir)
    lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_bytes(out_dir / MANIFEST, lines.encode("utf-8"))
    card = {
        "genomni_version": __version__,
        "samples": len(records),
        "shards": sorted({r["shard"] for r in records}),
        "per_source": dict(sorted(Counter(r["source"] for r in records).items())),
        "resolutions": sorted({f"{r['height']}x{r['width']}" for r in records}),
        "frames": sorted({r["frames"] for r in records}),
        "members": ["input", "target", "trimask.mkv", "caption.txt", "meta.json"],
        "shard_files": {name: file_digest(out_dir / name) for name in sorted({r["shard"] for r in records})},
        **card_extra,
    }
    write_bytes(out_dir / CARD, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return card


def file_digest(path: Path) -> dict[str, Any]:
    """sha256 and size of a file, read in 1 MiB blocks."""
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            size += len(block)
    return {"sha256": h.hexdigest(), "size": size}


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GenomniError(f"{path}: not UTF-8 text (damaged?)") from exc
    except OSError as exc:
        raise GenomniError(f"{path}: unreadable ({exc.strerror})") from exc


def parse_manifest_line(path: Path, n: int, line: str) -> dict[str, Any]:
    """One manifest line as a record; anything else is an error naming the file and line."""
    try:
        r = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GenomniError(f"{path}:{n}: not a JSON line ({exc.msg})") from exc
    if (
        not isinstance(r, dict)
        or not all(isinstance(r.get(k), str) for k in ("key", "shard", "source"))
        or not all(isinstance(r.get(k), int) for k in ("frames", "height", "width"))
    ):
        raise GenomniError(f"{path}:{n}: not a manifest record (needs key, shard, source, frames, height, width)")
    return r


def manifest_lines(out_dir: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, text) of the non-empty lines of a directory's manifest."""
    path = location(out_dir) / MANIFEST
    if not path.exists():
        raise GenomniError(f"{out_dir}: no {MANIFEST}; is this a genomni shard directory?")
    return [(n, line) for n, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]


def read_manifest(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every manifest record; a line that is not one, or that lists a key again, is an error naming the line."""
    path = location(out_dir) / MANIFEST
    records, first = [], {}
    for n, line in manifest_lines(out_dir):
        r = parse_manifest_line(path, n, line)
        if r["key"] in first:
            raise GenomniError(
                f"{path}: line {n} lists {r['key']} again (first on line {first[r['key']]}); `genomni data validate` lists all"
            )
        first[r["key"]] = n
        records.append(r)
    return records


def read_card(out_dir: str | os.PathLike) -> dict[str, Any]:
    """The dataset card (`dataset.json`); a card that is not a JSON object is an error."""
    path = location(out_dir) / CARD
    if not path.exists():
        raise GenomniError(f"{out_dir}: no {CARD}; is this a genomni shard directory?")
    try:
        card = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise GenomniError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(card, dict):
        raise GenomniError(f"{path}: not a dataset card (a JSON object)")
    return card


def load_hf(source: str | os.PathLike, split: str = "train") -> Any:
    """Load shards with Hugging Face `datasets` (a `datasets.Dataset`); video members stay as raw bytes.

    Args:
        source: a shard directory (local or an fsspec URL).
        split: the split name `datasets` gives it.

    HF infers `.mkv`/`.mp4` members as `Video`, whose decoder needs torchcodec (not usable with the
    CPU torch build), so video columns are cast to `Video(decode=False)`: each cell is
    `{"path", "bytes"}`, decodable with `genomni.media.decode_video(cell["bytes"])`.
    """
    import datasets

    paths = [str(p) for p in shard_paths(source)]
    try:
        ds = datasets.load_dataset("webdataset", data_files={split: paths}, split=split)
    except Exception as exc:  # datasets wraps a damaged tar in several exception types; one line names the folder
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise GenomniError(
            f"{source}: Hugging Face datasets could not read the shards ({type(exc).__name__}: {cause}); "
            f"run `genomni data validate {source}`"
        ) from exc
    for column, feature in ds.features.items():
        if column.rsplit(".", 1)[-1] in VIDEO_MEMBER_EXTS:
            ds = ds.cast_column(column, datasets.Video(decode=False))
    return ds
