"""Where a generator's scenes run: in this process, in a pool of local processes, or as Ray tasks.

Every executor takes the same picklable `job(scene_index) -> SceneResult` and yields results as scenes
finish; the driver (`run.run_generator`) commits each one and assembles shards in scene order, so the
output does not depend on the executor, the number of workers or the order scenes finish in.

The Ray executor (`--executor ray`) schedules one task per scene with `--task-cpus` CPUs, keeps twice
as many tasks in flight as the cluster has slots (so a slot never waits for the driver), restarts a
worker process after `--scenes-per-process` scenes (bpy leaks memory across scenes), and retries a scene
whose worker died, whose node was lost or which ran longer than `--scene-timeout` seconds, up to
`--task-retries` times (counted in the scene's record). A scene that raises (bad input, a bug) is not
retried: the error stops the run as it would locally.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

from ..errors import GenomniError
from ..outdir import die_with_parent

log = logging.getLogger(__name__)


def local_results(job: Callable[[int], Any], pending: list[int], workers: int, scenes_per_process: int) -> Iterator[Any]:
    """Scenes in this process (one worker) or in a pool of spawned processes, at most 2 per worker in flight."""
    if workers == 1:
        for s in pending:
            yield job(s)
        return
    if not pending:
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=die_with_parent, max_tasks_per_child=scenes_per_process or None
    ) as pool:
        try:
            queue = iter(pending)
            running = {pool.submit(job, s) for s in itertools.islice(queue, 2 * workers)}
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        running.add(pool.submit(job, nxt))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise GenomniError("--executor ray needs Ray: pip install 'genomni[ray]'") from exc
    return ray


def _run_scene(job: Callable[[int], Any], index: int) -> Any:
    return job(index)


def ray_results(
    job: Callable[[int], Any],
    pending: list[int],
    address: str | None,
    workers: int,
    task_cpus: float,
    retries: int,
    timeout: float,
    scenes_per_process: int,
    on_retry: Callable[[int, str], None],
) -> Iterator[Any]:
    """Scenes as Ray tasks on the cluster at `address` (None: a local Ray with `workers` CPUs, started and stopped
    here). `on_retry(scene, reason)` is called for each retried scene."""
    if not pending:
        return
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    try:
        slots = max(1, int(ray.cluster_resources().get("CPU", workers) // task_cpus))
        remote = ray.remote(num_cpus=task_cpus, max_retries=0, max_calls=scenes_per_process or 0)(_run_scene)
        job_ref = ray.put(job)
        queue = iter(pending)
        running: dict[Any, int] = {}  # in submission order: Ray starts queued tasks roughly first in, first out
        began: dict[Any, float] = {}  # when a task got a slot (the oldest `slots` in flight run), for --scene-timeout
        attempts: dict[int, int] = {}

        def submit(s: int) -> None:
            running[remote.remote(job_ref, s)] = s

        def clock() -> None:
            now = time.monotonic()
            for ref in itertools.islice(running, slots):
                began.setdefault(ref, now)

        for s in itertools.islice(queue, 2 * slots):
            submit(s)
        clock()
        lost = (
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.ObjectLostError,
            ray.exceptions.TaskCancelledError,
            ray.exceptions.LocalRayletDiedError,
        )
        while running:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0 if timeout else None)
            retry: list[tuple[int, str]] = []
            for ref in ready:
                s = running.pop(ref)
                began.pop(ref, None)
                try:
                    result = ray.get(ref)
                except lost as exc:
                    retry.append((s, f"{type(exc).__name__}"))
                    continue
                except ray.exceptions.RayTaskError as exc:
                    raise exc.cause if isinstance(exc.cause, BaseException) else exc
                yield result
                nxt = next(queue, None)
                if nxt is not None:
                    submit(nxt)
            if timeout:
                now = time.monotonic()
                for ref, start in list(began.items()):
                    if now - start > timeout:
                        ray.cancel(ref, force=True)
                        retry.append((running.pop(ref), f"ran over --scene-timeout {timeout:g} s"))
                        began.pop(ref)
            for s, reason in retry:
                attempts[s] = attempts.get(s, 0) + 1
                if attempts[s] > retries:
                    raise GenomniError(
                        f"scene {s} failed {attempts[s]} times (last: {reason}); rerun to resume, or raise --task-retries / --scene-timeout"
                    )
                log.warning("scene %d: %s; retrying (%d of %d)", s, reason, attempts[s], retries)
                on_retry(s, reason)
                submit(s)
            clock()
    finally:
        if started:
            ray.shutdown()
