"""Progress bars for long syncs: shown on a terminal, silent otherwise (cron, CI, pipes).

One line per object from its first second: rows written of rows expected, time, and what it
is doing (describing, querying, a Bulk job's state and the rows it has processed so far)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lht.sync.objectsync import Progress as ProgressCallback

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def progress_reporter(
    console: Console, *, enabled: bool = True
) -> Iterator[ProgressCallback | None]:
    """Yield a thread-safe progress callback, or None when the console is not a terminal."""
    if not (enabled and console.is_terminal):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    lock = threading.Lock()
    tasks: dict[str, TaskID] = {}
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[phase]}", style="dim"),
    )
    with Progress(*columns, console=console, transient=True) as bars:

        def update(name: str, rows: int, expected: int | None, phase: str | None = None) -> None:
            with lock:
                if name not in tasks:
                    tasks[name] = bars.add_task(name, total=expected, phase="")
                bars.update(
                    tasks[name],
                    completed=rows,
                    total=max(expected or 0, rows) or None,
                    phase=phase or "",
                )

        yield update
