"""Export shard samples as footage folders that `genomni remove` / `genomni decompose` read:

    OUT/<key>/input.mkv            the input video (FFV1, lossless)
    OUT/<key>/masks/objectNN/      one PNG mask folder per object (from the `instances` extra)
    OUT/<key>/target.mkv           the ground-truth target (for scoring)
    OUT/<key>/layers/objectNN/     each object's true omnimatte layer, RGBA PNGs (samples with a `layers` extra:
                                   `generate kubric --layers`), for `genomni eval --layers`
    OUT/<key>/quadmask.mkv         VOID's quadmask (samples that have one): eval scores its 63/127 pixels as "affected"
    OUT/<key>/caption.txt

Only samples with an `instances` extra (e.g. kubric) can be exported: the masks come from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import GenomniError
from ..layers import write_rgba_folder
from ..media import atomic_dir, write_video
from ..outdir import check_replaceable, locks
from ..sample import Sample
from ..shards import BadSample, iter_samples

FOOTAGE_ENTRIES = frozenset({"input.mkv", "target.mkv", "background.mkv", "quadmask.mkv", "masks", "layers", "caption.txt"})


@locks("out")
def export_footage(
    source: str | os.PathLike,
    out: str | os.PathLike,
    keys: list[str] | None = None,
    limit: int | None = None,
    benchmark: bool = False,
    skipped: list[BadSample] | None = None,
) -> list[Path]:
    """Write footage folders for the chosen samples (all, or `keys`, at most `limit`; with `benchmark` only
    those whose target is the clean background, written as `background.mkv`); returns the folders. With a
    `skipped` list, damaged samples are recorded there and skipped instead of stopping the export."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for s in chosen_samples(source, keys, limit, benchmark, skipped):
        if "instances" not in s.extras:
            raise GenomniError(f"sample {s.key} has no instances member to make object masks from")
        ids = [int(i) for i in s.meta.get("object_ids") or np.unique(s.extras["instances"]) if int(i) != 0]
        check_replaceable(out / s.key, FOOTAGE_ENTRIES)
        with atomic_dir(out / s.key) as tmp:
            write_video(tmp / "input.mkv", s.input, s.fps)
            write_video(tmp / ("background.mkv" if benchmark else "target.mkv"), s.target, s.fps)
            for i in ids:
                m = s.extras["instances"] == i
                if m.any():
                    write_video(tmp / "masks" / f"object{i:02d}", (m * 255).astype(np.uint8))
            if "quadmask" in s.extras:
                write_video(tmp / "quadmask.mkv", s.extras["quadmask"], s.fps)
            if "layers" in s.extras:
                for i, rgba in zip(s.meta["layer_ids"], s.extras["layers"]):
                    write_rgba_folder(tmp / "layers" / f"object{int(i):02d}", rgba)
            (tmp / "caption.txt").write_text(s.caption + "\n")
        written.append(out / s.key)
    return written


def chosen_samples(
    source: str | os.PathLike,
    keys: list[str] | None = None,
    limit: int | None = None,
    benchmark: bool = False,
    skipped: list[BadSample] | None = None,
) -> Iterator[Sample]:
    """The samples an export writes: all, or those named in `keys`, at most `limit`; with `benchmark` only those
    with every object removed. A key no sample has is an error once the shards are read (with no `limit`)."""
    if limit is not None and limit < 1:
        raise GenomniError(f"--limit must be >= 1, got {limit}")
    wanted = set(keys) if keys else None
    found: set[str] = set()
    for s in iter_samples(source, None if skipped is None else skipped.append):
        if (wanted is not None and s.key not in wanted) or (benchmark and s.meta.get("kept_ids")):
            continue
        if limit is not None and len(found) >= limit:
            return
        found.add(s.key)
        yield s
    if wanted is not None and limit is None and wanted - found:
        raise GenomniError(f"{source}: no sample(s) {', '.join(sorted(wanted - found))}")
