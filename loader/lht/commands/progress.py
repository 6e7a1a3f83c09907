"""Progress bars for long syncs: shown on a terminal, silent otherwise (cron, CI, pipes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lht.sync.objectsync import Progress as ProgressCallback


@contextmanager
def progress_reporter(console: Console, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a thread-safe progress callback, or None when the console is not a terminal."""
    if not (enabled and console.is_terminal):
        yield None
        return
    lock = threading.Lock()
    tasks: dict[str, int] = {}
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bars:

        def update(name: str, rows: int, expected: int | None) -> None:
            with lock:
                if name not in tasks:
                    tasks[name] = bars.add_task(name, total=expected)
                bars.update(tasks[name], completed=rows, total=max(expected or 0, rows) or None)

        yield update
