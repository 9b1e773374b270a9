"""Progress display: rich bars on a terminal, plain lines (every 10% and at the end) elsewhere, such as CI logs.

Text from models, files and servers is data, never console markup: an answer holding `[/INST]` or an error
holding `[redacted]` is printed as it is. `plain` makes such text a rich Text (which is not parsed); lines go
out with `markup=False`. (rich's `escape` is not enough: it loses backslashes before brackets.)
"""

from __future__ import annotations

import time
from typing import Any


class LineProgress:
    """The subset of rich.progress.Progress the runner uses, printing a line per 10% of each task."""

    def __init__(self, console):
        self.console = console
        self.tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description: str, total: int, completed: int = 0) -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = {"description": description, "total": total, "completed": completed,
                               "started": time.perf_counter(), "step": -1}
        self._report(task_id)
        return task_id

    def advance(self, task_id: int, amount: int = 1) -> None:
        self.tasks[task_id]["completed"] += amount
        self._report(task_id)

    def _report(self, task_id: int) -> None:
        task = self.tasks[task_id]
        total, done = task["total"], task["completed"]
        step = 10 if total == 0 else int(10 * done / total)
        if step == task["step"]:
            return
        task["step"] = step
        elapsed = time.perf_counter() - task["started"]
        self.console.print(f"{task['description']:<12} {done}/{total} ({elapsed:.0f}s)", markup=False, highlight=False)


def plain(value: Any, style: str = "") -> Any:
    """`value` as a rich Text, shown exactly as written (no markup, no highlighting)."""
    from rich.text import Text

    return Text(str(value), style=style)


def make_progress(console):
    if console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn
        return Progress(TextColumn("{task.description:<12}", markup=False), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)
    return LineProgress(console)
