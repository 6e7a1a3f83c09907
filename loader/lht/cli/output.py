"""What every ``lht`` command shares: the consoles, the common options, logging, the error
guard (a typed error becomes one paragraph and its exit code; with ``--wait``, a DuckDB file
another program holds is waited for) and report printing. Every message and log line shows
URLs without their userinfo (:func:`lht.errors.redact_urls`)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.logging import RichHandler
from rich.table import Table

from lht.errors import LhtError, WarehouseBusyError, redact_urls

stdout = Console()
stderr = Console(stderr=True)

PATH = click.Path(file_okay=False, path_type=Path)
project_dir_option = click.option(
    "--project-dir", type=PATH, default=None,
    help="The dbt project (default: the current directory, or ./dbt_project).",
)
profiles_dir_option = click.option(
    "--profiles-dir", type=PATH, default=None,
    help="Where profiles.yml is (default: $DBT_PROFILES_DIR, the project, then ~/.dbt), as for dbt.",
)
target_option = click.option("--target", default=None, help="The dbt profile target (default: the profile's own).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
wait_option = click.option("--wait", "wait_for_lock", is_flag=True,
                           help="Wait for another lht run on this target to finish instead of refusing.")


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--target``, ``--profiles-dir``, ``--project-dir`` and ``--json``, in that order: the
    options of every command that reads the dbt profile's warehouse."""
    for option in (json_option, project_dir_option, profiles_dir_option, target_option):
        func = option(func)
    return func


class _RedactUrls(logging.Filter):
    """Log records show URLs without userinfo (``https://***@host``), whichever library logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = RichHandler(console=stderr, show_path=False, show_time=verbosity > 1, markup=False)
    handler.addFilter(_RedactUrls())
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    for noisy in ("snowflake.connector", "urllib3", "botocore", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def fail(exc: BaseException) -> None:
    """Print a user-facing error (no traceback for LhtError) and exit with its code."""
    if isinstance(exc, LhtError):
        stderr.print(f"[bold red]error:[/] {rich_escape(redact_urls(str(exc)))}", markup=True, highlight=False,
                     soft_wrap=True)
        sys.exit(exc.exit_code)
    raise exc


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn LhtError into a one-paragraph message and its exit code.

    A DuckDB file held by another program (:class:`WarehouseBusyError`, raised when the
    command opens the warehouse, before it writes anything) is waited for when the command
    runs with ``--wait``, up to ``LHT_WAREHOUSE_WAIT_SECONDS``; then the command starts again.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        deadline: float | None = None
        while True:
            try:
                return func(*args, **kwargs)
            except WarehouseBusyError as exc:
                if not kwargs.get("wait_for_lock"):
                    fail(exc)
                deadline = deadline if deadline is not None else time.monotonic() + _wait_seconds()
                _wait_for_warehouse(exc, deadline)
            except LhtError as exc:
                fail(exc)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _wait_seconds() -> float:
    from lht.config import settings_from_env

    try:
        return float(settings_from_env().warehouse_wait_seconds)
    except LhtError as exc:
        fail(exc)
        raise  # pragma: no cover - fail exits


def _wait_for_warehouse(busy: WarehouseBusyError, deadline: float) -> None:
    """Wait until ``busy``'s file is free (progress on a terminal), or fail (exit 3) at ``deadline``."""
    from lht.warehouse.duckfile import wait_for_release

    who = f"{busy.holder} (pid {busy.pid})" if busy.pid else (busy.holder or "another program")
    left = max(0.0, deadline - time.monotonic())
    text = f"waiting for {who} to close {busy.path} (up to {left:.0f} s more)"
    if stderr.is_terminal:
        with stderr.status(rich_escape(text)) as status:
            free = wait_for_release(busy, left, lambda waited: status.update(
                rich_escape(f"{text}: {waited:.0f} s")))
    else:
        stderr.print(rich_escape(text), highlight=False, soft_wrap=True)
        free = wait_for_release(busy, left)
    if not free:
        fail(WarehouseBusyError(f"{busy} Waited {left:.0f} s (LHT_WAREHOUSE_WAIT_SECONDS) and it is still open.",
                                path=busy.path, pid=busy.pid, holder=busy.holder))


def print_wide(table: Table) -> None:
    """A table at the terminal's width, or unwrapped when piped (logs, grep)."""
    (stdout if stdout.is_terminal else Console(width=200)).print(table)


def emit(report: Any, as_json: bool, table: Callable[[Any], Table], lines: Callable[[Any], list[str]],
          exit_code: int) -> None:
    """Print a run report (JSON, or its table and message lines) and exit with ``exit_code``."""
    if as_json:
        click.echo(redact_urls(json.dumps(report.to_dict(), indent=2)))
    else:
        print_wide(table(report))
        for line in lines(report):
            stdout.print(redact_urls(line), highlight=False, soft_wrap=True)
    sys.exit(exit_code)
