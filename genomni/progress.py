"""One progress bar for every long job (rich): what it is doing, the bar, done/total, the rate in the job's own
unit, time elapsed and, once the rate is known, time remaining; extra text columns for live figures (the loss).
Inside `reporting(callback)` every bar's progress also goes to the callback, drawn or not (the studio's jobs);
inside `showing_steps(callback)` a job's `say_step(text)` says where it stands within one long scene."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text


class _RateColumn(ProgressColumn):
    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f} {self.unit}/s" if speed else f"-- {self.unit}/s")


def progress_bar(enabled: bool, unit: str = "", fields: tuple[str, ...] = (), console: Console | None = None) -> Progress:
    """A rich Progress with genomni's columns; `unit` adds a rate column ("scenes"), `fields` text columns showing
    task fields ("loss" shows `loss {task.fields[loss]}`). Disabled: nothing is drawn."""
    columns: list[ProgressColumn] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TextColumn(f"{f} {{task.fields[{f}]}}") for f in fields]
    columns += [_RateColumn(unit)] if unit else []
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    return _Reporting(*columns, console=console, disable=not enabled)


Report = Callable[[str, float, float | None], None]  # (what, done, total)
_REPORT: ContextVar[Report | None] = ContextVar("genomni_progress_report", default=None)


class _Reporting(Progress):
    """A rich Progress that also tells `reporting`'s callback, in this thread, where each task stands."""

    def update(self, task_id: Any, **kwargs: Any) -> None:
        super().update(task_id, **kwargs)
        self._report(task_id)

    def advance(self, task_id: Any, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._report(task_id)

    def _report(self, task_id: Any) -> None:
        callback = _REPORT.get()
        if callback is not None:
            task = self._tasks[task_id]
            callback(task.description, task.completed, task.total)


@contextmanager
def reporting(callback: Report) -> Iterator[None]:
    """Within the block, in this thread, every progress bar reports (what, done, total) to `callback`."""
    token = _REPORT.set(callback)
    try:
        yield
    finally:
        _REPORT.reset(token)


_STEP: ContextVar[Callable[[str], None] | None] = ContextVar("genomni_progress_step", default=None)


@contextmanager
def showing_steps(callback: Callable[[str], None]) -> Iterator[None]:
    """Within the block, in this thread, `say_step(text)` calls go to `callback` (a run's bar shows where inside a long
    scene it is; jobs in other processes report nothing)."""
    token = _STEP.set(callback)
    try:
        yield
    finally:
        _STEP.reset(token)


def say_step(text: str) -> None:
    """Say where a long piece of work stands (e.g. "plate rows 120/384"); a no-op outside `showing_steps`."""
    callback = _STEP.get()
    if callback is not None:
        callback(text)
