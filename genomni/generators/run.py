"""Fan-out of a generator over scenes: workers, partitions, resume, QC accounting and shard writing.

Output directory layout (a local folder or an fsspec URL such as s3://bucket/ds; see `storage`):
  <prefix>-NNNNNN.tar      complete shards (scene s lives in shard s // scenes_per_shard)
  manifest.jsonl           every sample: key, shard, source, shape, ids, caption, QC
  dataset.json             the card: totals, per-source counts, resolution, command, config
  .genomni/config.json     what made this directory; a run with another config is refused
  .genomni/scenes/         finished scenes waiting for the rest of their shard (tar + json)
  .genomni/shards/         per-shard records, written once the shard is complete

Scenes are committed one at a time (tar, then json), shards are assembled in scene order once all
their scenes exist, so a killed run resumes with nothing lost or duplicated, and the output is the
same whatever the executor (`executors`: local processes or Ray tasks), the number of workers or
partitions. At a URL (no rename on object stores) each shard is uploaded under its final name once
complete, then its record; the manifest and card come last; a resumed run lists what is there. The
scenes waiting for their shard stay in a local staging folder (`storage.staging_dir`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from .. import __version__
from ..errors import GenomniError
from ..options import check_output_dir, option, require
from ..outdir import exclusive
from ..progress import progress_bar, showing_steps
from ..sample import Sample
from ..shards import shard_name, write_index, write_shard
from ..storage import is_remote, location, put_file, staging_dir, write_bytes
from .executors import local_results, ray_results

MAX_SCENES = 10_000_000  # scenes (or samples) one run may plan: its bookkeeping is a list of them, made before any work
STATE = ".genomni"


@dataclass
class RunOptions:
    """How to execute a run (none of this changes what the run produces)."""

    out_dir: Path = option(
        help="Output shard directory or URL (s3://, gs://, memory://; created; an interrupted run resumes here).", flag="out"
    )
    workers: int = option(
        1, "Render processes (kubric: each takes ~300 MB); with --executor ray and no --ray-address, the CPUs of the local Ray."
    )
    executor: Literal["local", "ray"] = option("local", "local (processes on this machine) or ray (Ray tasks; pip install 'genomni[ray]').")
    ray_address: str | None = option(
        None, "Ray cluster to use with --executor ray (e.g. ray://head:10001 or auto).", show_default="start a local Ray"
    )
    task_cpus: float = option(1.0, "CPUs per scene task with --executor ray.")
    task_retries: int = option(3, "Retries of a scene whose Ray worker died, whose node was lost or that ran over --scene-timeout.")
    scene_timeout: float = option(0.0, "With --executor ray: seconds after which a scene's task is cancelled and retried (0 = none).")
    scenes_per_process: int = option(
        0, "Start a fresh worker process after this many scenes (bpy leaks memory across scenes; 0 = never). Local pools and Ray workers."
    )
    num_shards: int = option(1, "Split the run into this many independent jobs (e.g. machines).")
    shard_index: int = option(0, "Which job this is: makes output shards j with j % num-shards == index.")
    scenes_per_shard: int = option(16, "Scenes per output shard (fixes the shard layout of the run).")
    video_codec: Literal["ffv1", "h264"] = option(
        "ffv1", "Input/target video codec: ffv1 (lossless) or h264 (lossy); trimasks are always lossless."
    )
    command: str = ""
    progress: bool = option(True, "Show a progress bar.")

    def __post_init__(self) -> None:
        self.out_dir = location(self.out_dir)
        if not is_remote(self.out_dir):
            check_output_dir("--out", self.out_dir)
        require(
            [
                (self.workers >= 1, f"--workers must be >= 1, got {self.workers}"),
                (
                    self.num_shards >= 1 and 0 <= self.shard_index < self.num_shards,
                    f"need 0 <= --shard-index < --num-shards, got {self.shard_index} of {self.num_shards}",
                ),
                (self.scenes_per_shard >= 1, f"--scenes-per-shard must be >= 1, got {self.scenes_per_shard}"),
            ]
        )
        require(
            [
                (
                    self.task_cpus > 0 and self.task_retries >= 0 and self.scene_timeout >= 0 and self.scenes_per_process >= 0,
                    "--task-cpus must be > 0; --task-retries, --scene-timeout and --scenes-per-process >= 0",
                ),
                (
                    self.executor == "ray" or (self.ray_address is None and self.scene_timeout == 0),
                    "--ray-address and --scene-timeout go with --executor ray",
                ),
            ]
        )


@dataclass
class SceneResult:
    """What a generator job returns for one scene: its samples, or why it was dropped, plus figures."""

    index: int
    samples: list[Sample]
    attempts: int = 1
    dropped: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    out_dir: Path
    scenes_done: int
    samples: int
    dropped: list[dict[str, Any]] = field(default_factory=list)
    shards_written: int = 0
    complete: bool = False
    card: dict[str, Any] = field(default_factory=dict)


def _timed(job: Callable[[int], SceneResult], index: int) -> SceneResult:
    """Run `job(index)` and record its wall time as `stats["seconds"]` where the job did not (the card's mean)."""
    start = time.perf_counter()
    result = job(index)
    result.stats.setdefault("seconds", round(time.perf_counter() - start, 3))
    return result


def skipping_bad(job: Callable[[int], SceneResult], index: int) -> SceneResult:
    """Run `job(index)`; a bad input (GenomniError) becomes a dropped scene with its message (--skip-bad)."""
    try:
        return job(index)
    except GenomniError as exc:
        return SceneResult(index, [], 1, f"bad input: {exc}")


def _write_json(path: Path, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def _check_identity(out_dir: Path, identity: dict[str, Any]) -> None:
    """Record what makes this directory, or refuse to mix it with a different configuration."""
    path = out_dir / STATE / "config.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != identity:
            diffs = _diff(old, identity)
            raise GenomniError(
                f"{out_dir} was made with a different configuration ({'; '.join(diffs[:3])}); "
                "use another --out directory or the same options"
            )
        return
    if out_dir.exists() and any(p.name.endswith(".tar") for p in out_dir.iterdir()):
        raise GenomniError(f"{out_dir} holds shards from something else; use an empty --out directory")
    _write_json(path, identity)


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _diff(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} != {new!r}"]


def _concat_tars(parts: list[Path], dest: Path) -> None:
    """Copy members of per-scene tars into one shard tar, in order, via a temporary name."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        # tarfile copies members byte for byte; webdataset's writer would re-encode headers the same way
        with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as out:
            for part in parts:
                with tarfile.open(part, "r") as src:
                    for info in src.getmembers():
                        out.addfile(info, src.extractfile(info))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def run_generator(
    name: str,
    identity: dict[str, Any],
    num_scenes: int,
    job: Callable[[int], Any],
    opts: RunOptions,
    card_extra: dict[str, Any] | None = None,
    console: Console | None = None,
) -> RunSummary:
    """Run `job(scene_index) -> SceneResult` over this partition's scenes and write shards, holding the output
    folder's lock (one writer per --out).

    `job` must be picklable (a module-level function or partial) when `opts.workers > 1`.
    """
    lock = "lock" if opts.num_shards == 1 else f"lock-{opts.shard_index}-of-{opts.num_shards}"  # partitions share --out
    with exclusive(opts.out_dir, lock):
        return _run_locked(name, identity, num_scenes, job, opts, card_extra, console)


def _run_locked(
    name: str,
    identity: dict[str, Any],
    num_scenes: int,
    job: Callable[[int], Any],
    opts: RunOptions,
    card_extra: dict[str, Any] | None,
    console: Console | None,
) -> RunSummary:
    out = location(opts.out_dir)
    work = staging_dir(out) if is_remote(out) else out  # where scenes wait for their shard (local disk)
    state = work / STATE
    (state / "scenes").mkdir(parents=True, exist_ok=True)
    (state / "shards").mkdir(parents=True, exist_ok=True)
    identity = {
        **identity,
        "generator": name,
        "genomni_version": __version__,
        "scenes_per_shard": opts.scenes_per_shard,
        "video_codec": opts.video_codec,
    }
    _check_identity(out, identity)
    per = opts.scenes_per_shard
    n_shards = (num_scenes + per - 1) // per
    mine = range(opts.shard_index, n_shards, opts.num_shards)

    def partition_of(tmp_name: str) -> int | None:
        """The shard a partial file belongs to (shard tars and scene files carry their index), or None."""
        if (m := re.search(rf"{re.escape(name)}-(\d{{6}})\.tar", tmp_name)) is not None:
            return int(m.group(1))
        if (m := re.match(r"\.(\d{7})\.", tmp_name)) is not None:
            return int(m.group(1)) // per
        return None

    for stale in list(work.glob(".*.tmp")) + list(state.rglob(".*.tmp")):  # a killed run's partial files (this partition's)
        j = partition_of(stale.name)
        if j is not None and j in mine:
            stale.unlink(missing_ok=True)
    records_at = out / STATE / "shards"  # a shard's record is written after the shard: it marks the shard done
    listed = {p.name for p in records_at.iterdir()} if records_at.exists() else set()
    done_shards = {j for j in mine if f"{shard_name(name, j)}.json" in listed}
    scene_done = lambda s: (state / "scenes" / f"{s:07d}.json").exists()  # noqa: E731
    todo_shards = [j for j in mine if j not in done_shards]
    todo = set(todo_shards)
    pending = [s for j in todo_shards for s in range(j * per, min(num_scenes, (j + 1) * per)) if not scene_done(s)]
    total = sum(min(num_scenes, (j + 1) * per) - j * per for j in mine)
    summary = RunSummary(out, 0, 0)

    def commit_scene(result) -> None:
        tar = state / "scenes" / f"{result.index:07d}.tar"
        records = write_shard(tar, result.samples, opts.video_codec)
        _write_json(
            state / "scenes" / f"{result.index:07d}.json",
            {
                "index": result.index,
                "attempts": result.attempts,
                "dropped": result.dropped,
                "stats": result.stats,
                "records": records,
            },
        )

    def finish_ready_shards(only: int | None = None) -> None:
        """Assemble every finished shard of this partition (`only`: the one shard a scene just finished)."""
        for j in [only] if only is not None else sorted(todo):
            if j not in todo:
                continue
            scenes = range(j * per, min(num_scenes, (j + 1) * per))
            if not all(scene_done(s) for s in scenes):
                continue
            shard = shard_name(name, j)
            statuses = [json.loads((state / "scenes" / f"{s:07d}.json").read_text()) for s in scenes]
            _concat_tars([state / "scenes" / f"{s:07d}.tar" for s in scenes], work / shard)
            if work != out:
                put_file(work / shard, out / shard)
            records = [{**r, "shard": shard} for st in statuses for r in st["records"]]
            scene_stats = [{k: st[k] for k in ("index", "attempts", "dropped", "stats")} for st in statuses]
            _write_json(records_at / f"{shard}.json", {"records": records, "scenes": scene_stats})
            for s in scenes:
                (state / "scenes" / f"{s:07d}.tar").unlink(missing_ok=True)
                (state / "scenes" / f"{s:07d}.json").unlink(missing_ok=True)
            todo.discard(j)
            summary.shards_written += 1

    finish_ready_shards()  # shards whose scenes all finished before an interruption
    console = console or Console(stderr=True)
    retries: dict[int, int] = {}
    with progress_bar(opts.progress, unit="scenes", console=console) as progress:
        task = progress.add_task(name, total=total, completed=total - len(pending))
        timed_job = partial(_timed, job)
        inside = lambda text: progress.update(task, description=f"{name} ({text})")  # noqa: E731
        with showing_steps(inside):  # scenes run in this process (one worker) say where they stand
            for result in _results(timed_job, pending, opts, lambda s, reason: retries.__setitem__(s, retries.get(s, 0) + 1)):
                result.stats["retries"] = retries.get(result.index, 0)
                commit_scene(result)
                finish_ready_shards(result.index // per)
                progress.update(task, description=name)
                progress.advance(task)
    return _finalize(out, name, n_shards, num_scenes, summary, {**(card_extra or {}), "command": opts.command})


def _results(
    job: Callable[[int], Any], pending: list[int], opts: RunOptions, on_retry: Callable[[int, str], None]
) -> Iterator[SceneResult]:
    if opts.executor == "ray":
        return ray_results(
            job,
            pending,
            opts.ray_address,
            opts.workers,
            opts.task_cpus,
            opts.task_retries,
            opts.scene_timeout,
            opts.scenes_per_process,
            on_retry,
        )
    return local_results(job, pending, opts.workers, opts.scenes_per_process)


def _finalize(out: Path, name: str, n_shards: int, num_scenes: int, summary: RunSummary, card_extra: dict[str, Any]) -> RunSummary:
    """Rebuild manifest.jsonl and dataset.json from every finished shard (of any partition). Partitions finishing
    at the same time each rewrite the index; whoever writes it checks afterwards that no shard record appeared
    meanwhile, else writes it again, so the last writer leaves every finished shard listed."""
    while True:
        before = _finished(out, name, n_shards)
        _write_index(out, name, n_shards, num_scenes, summary, card_extra)
        if _finished(out, name, n_shards) == before:
            return summary


def _finished(out: Path, name: str, n_shards: int) -> set[str]:
    folder = out / STATE / "shards"
    names = {p.name for p in folder.iterdir()} if folder.exists() else set()
    return {f"{shard_name(name, j)}.json" for j in range(n_shards)} & names


def _write_index(out: Path, name: str, n_shards: int, num_scenes: int, summary: RunSummary, card_extra: dict[str, Any]) -> None:
    state = out / STATE
    records, scenes = [], []
    for j in range(n_shards):
        path = state / "shards" / f"{shard_name(name, j)}.json"
        if path.exists():
            data = json.loads(path.read_text())
            records += data["records"]
            scenes += data["scenes"]
    dropped = [{"index": s["index"], "reason": s["dropped"]} for s in scenes if s["dropped"]]
    seconds = [s["stats"].get("seconds", 0.0) for s in scenes]
    complete = len(scenes) == num_scenes
    card = write_index(
        out,
        records,
        {
            **card_extra,
            "generator": name,
            "scenes": {
                "requested": num_scenes,
                "done": len(scenes),
                "dropped": len(dropped),
                "resampled": sum(1 for s in scenes if s["attempts"] > 1 and not s["dropped"]),
                "retried": sum(1 for s in scenes if s["stats"].get("retries")),
            },
            "dropped_scenes": dropped,
            "complete": complete,
            "mean_seconds_per_scene": round(sum(seconds) / len(seconds), 3) if seconds else None,
        },
    )
    summary.scenes_done, summary.samples = len(scenes), len(records)
    summary.dropped, summary.complete, summary.card = dropped, complete, card


def command_line(argv: list[str]) -> str:
    """A shell-quoted command line, for the dataset card."""
    return " ".join(shlex.quote(a) for a in argv)
