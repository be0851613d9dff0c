"""One progress bar for every long job (rich): what it is doing, the bar, done/total, the rate in the job's own
unit, time elapsed and, once the rate is known, time remaining; extra text columns for live figures (the loss)."""

from __future__ import annotations

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
    return Progress(*columns, console=console, disable=not enabled)
