"""What every ``lht`` command shares: the consoles, the common options, logging, the error
guard (a typed error becomes one paragraph and its exit code; with ``--wait``, a DuckDB file
another program holds is waited for) and report printing. Every message and log line shows
URLs without their userinfo (:func:`lht.errors.redact_urls`).

Rich is imported when something is printed through it (a table, an error, a log line, a
progress bar): ``lht sync --json`` with nothing to report never loads it."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lht.errors import LhtError, WarehouseBusyError, redact_urls

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


class _LazyConsole:
    """A rich ``Console`` made at its first use (rich's import is a tenth of a second)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The console itself."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)

    def __enter__(self) -> Console:  # rich's Live and Progress enter the console
        return self.console.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.console.__exit__(*exc)


stdout: Console = _LazyConsole()  # type: ignore[assignment]
stderr: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def escape(text: str) -> str:
    """``text`` with rich markup escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


PATH = click.Path(file_okay=False, path_type=Path)
project_dir_option = click.option(
    "--project-dir",
    type=PATH,
    default=None,
    help="The dbt project (default: the current directory, or ./dbt_project).",
)
profiles_dir_option = click.option(
    "--profiles-dir",
    type=PATH,
    default=None,
    help="Where profiles.yml is (default: $DBT_PROFILES_DIR, the project, then ~/.dbt), as for dbt.",
)
target_option = click.option(
    "--target", default=None, help="The dbt profile target (default: the profile's own)."
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
)
wait_option = click.option(
    "--wait",
    "wait_for_lock",
    is_flag=True,
    help="Wait for another lht run on this target to finish instead of refusing.",
)


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--target``, ``--profiles-dir``, ``--project-dir`` and ``--json``, in that order: the
    options of every command that reads the dbt profile's warehouse."""
    for option in (json_option, project_dir_option, profiles_dir_option, target_option):
        func = option(func)
    return func


#: Options of the ``lht`` group that every subcommand having them takes as its default.
SHARED_OPTIONS = ("project_dir", "profiles_dir", "target", "as_json")


def share_group_options(ctx: click.Context, values: dict[str, Any]) -> None:
    """Options given before the subcommand (``lht --project-dir D status``) become the
    defaults of the subcommand's own (``lht status --project-dir D``), through click's
    ``default_map``; an option given after the subcommand wins."""
    given = {k: v for k, v in values.items() if v not in (None, False)}
    if not given or not isinstance(ctx.command, click.Group):
        return

    def defaults(command: click.Command) -> dict[str, Any]:
        if isinstance(command, click.Group):
            return {name: defaults(sub) for name, sub in command.commands.items()}
        names = {p.name for p in command.params}
        return {k: v for k, v in given.items() if k in names}

    ctx.default_map = {name: defaults(command) for name, command in ctx.command.commands.items()}


def _more_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        configure_logging((ctx.find_root().params.get("verbose") or 0) + value)


def accept_verbose_everywhere(group: click.Group) -> None:
    """Give every subcommand (and those of subgroups) ``-v``, as the group has it: ``lht sync -v``
    works like ``lht -v sync`` (the counts add up)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_verbose_everywhere(command)
        elif not any(p.name == "verbose" for p in command.params):
            command.params.append(
                click.Option(
                    ["-v", "--verbose"],
                    count=True,
                    expose_value=False,
                    callback=_more_verbose,
                    help="More log output on stderr (-v info, -vv debug); also before the command.",
                )
            )


class _RedactUrls(logging.Filter):
    """Log records show URLs without userinfo (``https://***@host``), whichever library logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _FirstRecordHandler(logging.Handler):
    """Chooses the real handler (:func:`_stderr_handler`) at the first record: a run that
    logs nothing never asks whether stderr is a terminal (which loads rich)."""

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.verbosity = verbosity
        self.chosen: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.chosen is None:
            self.chosen = _stderr_handler(self.verbosity)
        self.chosen.handle(record)


def _stderr_handler(verbosity: int) -> logging.Handler:
    if stderr.is_terminal:
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(
            console=stderr, show_path=False, show_time=verbosity > 1, markup=False
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter(
                ("%(asctime)s " if verbosity > 1 else "") + "%(levelname)-8s %(message)s"
            )
        )
    return handler


def configure_logging(verbosity: int) -> None:
    """Log on stderr: through Rich on a terminal; one plain line per message otherwise (cron and
    CI logs: no wrapping at 80 columns, no padding), with the time from -vv."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = _FirstRecordHandler(verbosity)
    handler.addFilter(_RedactUrls())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("snowflake.connector", "urllib3", "botocore", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def fail(exc: BaseException, command: str | None = None, as_json: bool = False) -> None:
    """Print a user-facing error (no traceback for LhtError) and exit with its code; with
    ``as_json`` also a JSON object on stdout (``ok``, ``command``, ``error``, ``error_type``,
    ``exit_code``), so a scheduler reading stdout learns why."""
    if isinstance(exc, LhtError):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "ok": False,
                        "command": command,
                        "error": redact_urls(str(exc)),
                        "error_type": type(exc).__name__,
                        "exit_code": exc.exit_code,
                    },
                    indent=2,
                )
            )
        stderr.print(
            f"[bold red]error:[/] {escape(redact_urls(str(exc)))}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(exc.exit_code)
    raise exc


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn LhtError into a one-paragraph message and its exit code (and, under ``--json``,
    a JSON error object on stdout).

    A DuckDB file held by another program (:class:`WarehouseBusyError`, raised when the
    command opens the warehouse, before it writes anything) is waited for when the command
    runs with ``--wait``, up to ``LHT_WAREHOUSE_WAIT_SECONDS``; then the command starts again.
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        deadline: float | None = None
        command, as_json = func.__name__.removeprefix("jobs_"), bool(kwargs.get("as_json"))
        while True:
            try:
                return func(*args, **kwargs)
            except WarehouseBusyError as exc:
                if not kwargs.get("wait_for_lock"):
                    fail(exc, command, as_json)
                deadline = deadline if deadline is not None else time.monotonic() + _wait_seconds()
                _wait_for_warehouse(exc, deadline)
            except LhtError as exc:
                fail(exc, command, as_json)

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
        with stderr.status(escape(text)) as status:
            free = wait_for_release(
                busy, left, lambda waited: status.update(escape(f"{text}: {waited:.0f} s"))
            )
    else:
        stderr.print(escape(text), highlight=False, soft_wrap=True)
        free = wait_for_release(busy, left)
    if not free:
        fail(
            WarehouseBusyError(
                f"{busy} Waited {left:.0f} s (LHT_WAREHOUSE_WAIT_SECONDS) and it is still open.",
                path=busy.path,
                pid=busy.pid,
                holder=busy.holder,
            )
        )


def print_wide(table: Table) -> None:
    """A table at the terminal's width, or unwrapped when piped (logs, grep)."""
    from rich.console import Console

    (stdout if stdout.is_terminal else Console(width=200)).print(table)


def emit(
    report: Any,
    as_json: bool,
    table: Callable[[Any], Table],
    lines: Callable[[Any], list[str]],
    exit_code: int,
) -> None:
    """Print a run report (JSON, or its table and message lines) and exit with ``exit_code``."""
    if as_json:
        click.echo(redact_urls(json.dumps(report.to_dict(), indent=2)))
    else:
        print_wide(table(report))
        for line in lines(report):
            stdout.print(redact_urls(line), highlight=False, soft_wrap=True)
    sys.exit(exit_code)
