"""The ``lht`` command line. The only module that prints or chooses exit codes."""

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
from rich.table import Table

from lht import __version__
from lht.errors import LhtError
from lht.report import RunReport

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


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = RichHandler(console=stderr, show_path=False, show_time=verbosity > 1, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    for noisy in ("snowflake.connector", "urllib3", "botocore", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _fail(exc: BaseException) -> None:
    """Print a user-facing error (no traceback for LhtError) and exit with its code."""
    if isinstance(exc, LhtError):
        stderr.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    raise exc


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn LhtError into a one-paragraph message and its exit code."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LhtError as exc:
            _fail(exc)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lht")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """lht keeps a warehouse in step with a Salesforce org, the dbt way.

    `lht sync` extracts Salesforce records into append-only staging tables; `dbt build`
    then merges staging into one main table per object. Salesforce credentials come from
    SF_* environment variables; the warehouse from the dbt profile.
    """
    _configure_logging(verbose)


@cli.command()
@click.argument("objects", nargs=-1)
@click.option("--full-refresh", is_flag=True, help="Re-extract everything; records gone from Salesforce get delete markers.")
@click.option("--refresh-formulas", is_flag=True, help="Also re-read formula fields (they change without SystemModstamp moving).")
@click.option("--threads", type=click.IntRange(1, 32), default=4, show_default=True, help="Objects synced in parallel.")
@click.option("--wait", "wait_for_lock", is_flag=True, help="Wait for another running sync on this target instead of refusing.")
@target_option
@profiles_dir_option
@project_dir_option
@json_option
@_guard
def sync(objects: tuple[str, ...], full_refresh: bool, refresh_formulas: bool, threads: int,
         wait_for_lock: bool, target: str | None, profiles_dir: Path | None, project_dir: Path | None,
         as_json: bool) -> None:
    """Extract OBJECTS (default: every registered object) from Salesforce into staging.

    Exits 0 only when every object synced; otherwise non-zero, with a per-object summary.
    """
    from lht.progress import progress_reporter
    from lht.sync import SyncRequest, run_sync

    request = SyncRequest(objects=objects, full_refresh=full_refresh, refresh_formulas=refresh_formulas,
                          threads=threads, target=target, profiles_dir=profiles_dir,
                          project_dir=project_dir, wait_for_lock=wait_for_lock)
    with progress_reporter(stderr, enabled=not as_json) as progress:
        report = run_sync(request, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


def _print_report(report: RunReport) -> None:
    table = Table(title=f"lht sync ({report.target})", title_justify="left")
    for column in ("object", "outcome", "mode", "engine", "rows", "deleted", "API calls", "seconds"):
        table.add_column(column, justify="right" if column in {"rows", "deleted", "API calls", "seconds"} else "left")
    for r in report.results:
        outcome = {"ok": "[green]ok[/]", "failed": "[red]failed[/]"}.get(r.status, f"[yellow]{r.status}[/]")
        table.add_row(r.object_name, outcome, r.mode, r.engine or "-", f"{r.rows_written:,}",
                      f"{r.deleted_markers:,}", str(r.api_calls), f"{r.duration_seconds:.1f}")
    stdout.print(table)
    usage = f"; org usage {report.api_usage[0]:,}/{report.api_usage[1]:,}" if report.api_usage else ""
    stdout.print(f"API calls this run: {report.api_calls}{usage}")
    for r in report.results:
        if r.error:
            stdout.print(f"[red]{r.object_name}:[/] {r.error}", highlight=False, soft_wrap=True)
    if report.ok:
        stdout.print("Every object synced. Next: `dbt build` merges staging into the main tables.")


@cli.command()
@click.argument("objects", nargs=-1, required=True)
@project_dir_option
@_guard
def add(objects: tuple[str, ...], project_dir: Path | None) -> None:
    """Register OBJECTS (standard or custom, e.g. Invoice__c) so lht loads them and dbt builds their main tables.

    Writes models/salesforce/<object>.sql and its entries in the sources and models YAML.
    """
    from lht.scaffold import add_objects

    for path in add_objects(objects, project_dir):
        stdout.print(f"wrote {path}")


def _register_optional_commands() -> None:
    from lht_devorg.cli import devorg_command

    cli.add_command(devorg_command, name="devorg")


def main() -> None:
    """Entry point of the ``lht`` console script."""
    _register_optional_commands()
    cli(prog_name="lht")


if __name__ == "__main__":  # pragma: no cover
    main()
