"""Samples in Netflix VOID's training layout (Video Object and Interaction Deletion; its
`videox_fun/data/dataset_image_video.py` reads them as `video_mask_tuple` entries):

    OUT/<key>/rgb_full.mp4                       the input (pass A)
    OUT/<key>/rgb_removed.mp4                    the target (pass B: the removed objects gone, physics simulated again)
    OUT/<key>/mask.mp4                           the quadmask, 0/63/127/255 (`genomni.quadmask`)
    OUT/<key>/rgb_removed_objects_invisible.mp4  pass C, for samples that have it (interaction scenes)
    OUT/<key>/metadata.json                      what VOID's Kubric generator records, plus genomni's meta
    OUT/<key>/caption.txt                        the target's caption
    OUT/void_train_data.json                     the annotation list VOID's trainer takes (file_path, text, type),
                                                 rewritten to list every sample folder in OUT

Every video is lossless H.264 (`media.encode_lossless_mp4`): VOID needs .mp4 names and exact mask values.
A sample without a quadmask (one made before quadmasks, or imported from a trimask) gets `quadmask.from_trimask`
and says so in metadata.json (`quadmask_from`). Import reads these folders, and VOID's own Kubric output
(`rgb_altered_physics.mp4` as the target).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import quadmask as qm
from ..errors import GenomniError
from ..media import atomic_dir, atomic_write_bytes, encode_lossless_mp4, read_video
from ..outdir import check_replaceable, locks
from ..sample import Sample
from ..shards import BadSample
from .export import chosen_samples

ANNOTATIONS = "void_train_data.json"
HIDDEN = "rgb_removed_objects_invisible.mp4"
TARGETS = ("rgb_removed.mp4", "rgb_altered_physics.mp4")  # training folders; VOID's Kubric generator's own name
ENTRIES = frozenset({"rgb_full.mp4", "rgb_removed.mp4", "mask.mp4", HIDDEN, "metadata.json", "caption.txt"})
MASK_VALUES = {
    "0": "removed object, nothing changed under it",
    "63": "removed object, and the scene changed under it",
    "127": "the scene changed here because the objects are gone",
    "255": "keep as it is",
}


def sample_quadmask(sample: Sample) -> tuple[np.ndarray, str]:
    """(the sample's quadmask, where it came from: "passes" or "trimask")."""
    if "quadmask" in sample.extras:
        return sample.extras["quadmask"], "passes"
    return qm.from_trimask(sample.trimask), "trimask"


def metadata(sample: Sample, source: str) -> dict[str, Any]:
    """metadata.json: the fields VOID's Kubric generator writes, then genomni's meta under `genomni`."""
    meta = sample.meta
    removed, ids = meta.get("removed_ids", []), meta.get("object_ids", [])
    return {
        "num_objects": len(ids),
        "num_removed": len(removed),
        "removed_indices": [ids.index(i) for i in removed if i in ids],
        "camera_motion": "moving" if (meta.get("scene", {}).get("camera", {}) or {}).get("moving") else "static",
        "videos": {
            "rgb_full.mp4": "Pass A: all objects visible, original physics",
            "rgb_removed.mp4": "Pass B: removed objects gone, physics simulated again",
            "mask.mp4": "Quadmask of the removal and what it changed",
            **({HIDDEN: "Pass C: removed objects hidden, original physics"} if "hidden" in sample.extras else {}),
        },
        "mask_values": MASK_VALUES,
        "mask_encoding": "Lossless H.264 (qp 0, full-range yuv444p): exact values read as gray or RGB",
        "quadmask_from": source,
        "genomni": {"key": sample.key, **meta},
    }


@locks("out")
def export_void(
    source: str | os.PathLike,
    out: str | os.PathLike,
    keys: list[str] | None = None,
    limit: int | None = None,
    benchmark: bool = False,
    skipped: list[BadSample] | None = None,
) -> list[Path]:
    """Write the chosen samples (`export.chosen_samples`) as VOID training folders and rewrite the annotation list;
    returns the folders."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in chosen_samples(source, keys, limit, benchmark, skipped):
        check_replaceable(out / s.key, ENTRIES)
        mask, came_from = sample_quadmask(s)
        with atomic_dir(out / s.key) as tmp:
            atomic_write_bytes(tmp / "rgb_full.mp4", encode_lossless_mp4(s.input, s.fps))
            atomic_write_bytes(tmp / "rgb_removed.mp4", encode_lossless_mp4(s.target, s.fps))
            atomic_write_bytes(tmp / "mask.mp4", encode_lossless_mp4(mask, s.fps))
            if "hidden" in s.extras:
                atomic_write_bytes(tmp / HIDDEN, encode_lossless_mp4(s.extras["hidden"], s.fps))
            (tmp / "metadata.json").write_text(json.dumps(metadata(s, came_from), indent=1, sort_keys=True))
            (tmp / "caption.txt").write_text(s.caption + "\n")
        written.append(out / s.key)
    write_annotations(out)
    return written


def write_annotations(out: Path) -> None:
    """`void_train_data.json`: one `video_mask_tuple` entry per VOID folder in `out` (path relative to `out`, as
    VOID's trainer joins it to its data root), with the folder's caption as its text."""
    entries = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and (p / "mask.mp4").is_file() and (p / "metadata.json").is_file()):
        text = (folder / "caption.txt").read_text().strip() if (folder / "caption.txt").is_file() else ""
        entries.append({"file_path": folder.name, "text": text, "type": "video_mask_tuple"})
    atomic_write_bytes(out / ANNOTATIONS, (json.dumps(entries, indent=1) + "\n").encode())


def is_void_folder(folder: Path) -> bool:
    """A VOID folder: rgb_full.mp4 beside metadata.json (gen-omnimatte tuples have no metadata.json)."""
    return (folder / "rgb_full.mp4").is_file() and (folder / "metadata.json").is_file()


def void_target(folder: Path) -> Path:
    """The target video of a VOID folder, after checking it holds every file a VOID folder needs (one line naming
    what is missing)."""
    target = next((folder / n for n in TARGETS if (folder / n).is_file()), None)
    missing = [n for n in ("mask.mp4",) if not (folder / n).is_file()] + ([] if target else [" or ".join(TARGETS)])
    if target is None or missing:
        needs = f"rgb_full.mp4, {' or '.join(TARGETS)}, mask.mp4 and metadata.json"
        raise GenomniError(f"{folder}: a VOID folder needs {needs}; missing {', '.join(missing)}")
    return target


def read_void_folder(folder: Path, key: str, source: str, caption: str) -> Sample:
    """One sample from a VOID folder: input rgb_full.mp4, target rgb_removed.mp4 (or rgb_altered_physics.mp4),
    quadmask mask.mp4 (exactly 0/63/127/255), trimask `quadmask.to_trimask`, pass C when present."""
    target_path = void_target(folder)
    try:
        void_meta = json.loads((folder / "metadata.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GenomniError(f"{folder}/metadata.json: not readable JSON ({exc})") from exc
    if not isinstance(void_meta, dict):
        raise GenomniError(f"{folder}/metadata.json: expected a JSON object")
    inp, fps = read_video(folder / "rgb_full.mp4")
    target, _ = read_video(target_path)
    mask = qm.validate(read_video(folder / "mask.mp4", gray=True)[0], f"{folder}/mask.mp4")
    for name, video in ((target_path.name, target), ("mask.mp4", mask)):
        if video.shape[:3] != inp.shape[:3]:
            got, want = f"{video.shape[0]} frames of {video.shape[2]}x{video.shape[1]}", f"{inp.shape[0]} of {inp.shape[2]}x{inp.shape[1]}"
            raise GenomniError(f"{folder}/{name}: {got}, rgb_full.mp4 has {want}")
    meta = dict(void_meta.get("genomni") or {})
    meta.update({"source": source, "format": "void", "folder": folder.name, "fps": fps or meta.get("fps") or 12.0})
    meta.setdefault("void_metadata", {k: v for k, v in void_meta.items() if k != "genomni"})
    extras: dict[str, np.ndarray] = {"quadmask": mask}
    if (folder / HIDDEN).is_file():
        extras["hidden"] = read_video(folder / HIDDEN)[0]
        if extras["hidden"].shape != inp.shape:
            raise GenomniError(f"{folder}/{HIDDEN}: its frames do not match rgb_full.mp4's {inp.shape[:3]}")
    return Sample(key, inp, target, qm.to_trimask(mask), caption, meta, extras).validate()
