"""What every ``lht`` command shares: the consoles, the common options, logging, the error
guard (a typed error becomes one paragraph and its exit code) and report printing."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from lht.errors import LhtError

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


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = RichHandler(console=stderr, show_path=False, show_time=verbosity > 1, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    for noisy in ("snowflake.connector", "urllib3", "botocore", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def fail(exc: BaseException) -> None:
    """Print a user-facing error (no traceback for LhtError) and exit with its code."""
    if isinstance(exc, LhtError):
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    raise exc


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn LhtError into a one-paragraph message and its exit code."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LhtError as exc:
            fail(exc)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def print_wide(table: Table) -> None:
    """A table at the terminal's width, or unwrapped when piped (logs, grep)."""
    (stdout if stdout.is_terminal else Console(width=200)).print(table)


def emit(report: Any, as_json: bool, table: Callable[[Any], Table], lines: Callable[[Any], list[str]],
          exit_code: int) -> None:
    """Print a run report (JSON, or its table and message lines) and exit with ``exit_code``."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_wide(table(report))
        for line in lines(report):
            stdout.print(line, highlight=False, soft_wrap=True)
    sys.exit(exit_code)
