"""The studio's long work (masks for a clip, a decomposition) as background jobs: each runs in its own thread
through the library functions the CLI calls, reports its progress bars (`genomni.progress.reporting`) and ends
done, with the item it made, or failed, with a one-line reason. Jobs live as long as the server, so a page that is
reloaded finds its job where it stands."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import GenomniError
from ..progress import reporting

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """One background job: what it does, for which item, where it stands, and the item it made."""

    id: int
    what: str
    item: int
    state: str = "running"  # running, done or failed
    step: str = ""
    done: float = 0.0
    total: float | None = None
    error: str = ""
    result: int | None = None
    started: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Jobs:
    """The server's jobs, by id."""

    def __init__(self) -> None:
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()

    def start(self, what: str, item: int, work: Callable[[Callable[[str, float, float | None], None]], int]) -> Job:
        """Run `work(report)` in a thread; it returns the id of the item it made. `report(step, done, total)` and
        every progress bar inside it move the job's progress."""
        with self._lock:
            job = Job(len(self._jobs), what, item)
            self._jobs[job.id] = job

        def report(step: str, done: float, total: float | None) -> None:
            job.step, job.done, job.total = step, done, total

        def run() -> None:
            try:
                with reporting(report):
                    job.result = work(report)
                job.state = "done"
            except GenomniError as exc:
                job.error, job.state = str(exc), "failed"
            except Exception as exc:  # noqa: BLE001 (the page gets one line; the log the traceback)
                logger.exception("studio job %s failed", what)
                job.error, job.state = f"{type(exc).__name__}: {exc}".splitlines()[0], "failed"

        threading.Thread(target=run, name=f"studio-{what}-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: int) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise GenomniError(f"no job {job_id}")
            return self._jobs[job_id]

    def of_item(self, item: int) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.item == item]
