"""The ``lht`` command line. The only module that prints or chooses exit codes."""

from __future__ import annotations

import importlib
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
from lht.sync.report import RunReport

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


class _Commands(click.Group):
    """lht's commands; ``devorg`` (the local org) is imported only when it is used or listed."""

    _lazy = {"devorg": ("lht_devorg.cli", "devorg_command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module, attr = self._lazy[cmd_name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    from lht.commands.progress import progress_reporter
    from lht.sync.run import SyncRequest, run_sync

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
                      f"{r.deleted_markers:,}", f"{r.api_calls:g}", f"{r.duration_seconds:.1f}")
    stdout.print(table)
    usage = f"; org usage {report.api_usage[0]:,}/{report.api_usage[1]:,}" if report.api_usage else ""
    stdout.print(f"API calls this run: {report.api_calls}{usage}")
    for r in report.results:
        if r.error:
            stdout.print(f"[red]{r.object_name}:[/] {r.error}", highlight=False, soft_wrap=True)
        if r.fields_added:
            stdout.print(f"{r.object_name}: new fields backfilled: {', '.join(r.fields_added)}", highlight=False)
        if r.fields_removed:
            stdout.print(f"[yellow]{r.object_name}:[/] no longer in describe (columns and last values kept): "
                         f"{', '.join(r.fields_removed)}", highlight=False, soft_wrap=True)
        for note in r.notes:
            stdout.print(f"{r.object_name}: {note}", highlight=False)
    if report.ok:
        stdout.print("Every object synced. Next: `dbt build` merges staging into the main tables.")


@cli.command()
@click.argument("objects", nargs=-1, required=True)
@click.option("--history", is_flag=True, help="Also build <object>_history: one row per version (valid_from, valid_to).")
@project_dir_option
@_guard
def add(objects: tuple[str, ...], history: bool, project_dir: Path | None) -> None:
    """Register OBJECTS so lht loads them and dbt builds their main tables.

    OBJECTS are API names of standard or custom objects (Account, Invoice__c).

    Writes models/salesforce/<object>.sql and its entries in the sources and models YAML;
    with --history also <object>_history.sql (works for objects already registered too).
    """
    from lht.commands.scaffold import add_objects

    for path in add_objects(objects, project_dir, history=history):
        stdout.print(f"wrote {path}")


def _print_wide(table: Table) -> None:
    """A table at the terminal's width, or unwrapped when piped (logs, grep)."""
    (stdout if stdout.is_terminal else Console(width=200)).print(table)


@cli.command()
@click.argument("objects", nargs=-1)
@target_option
@profiles_dir_option
@project_dir_option
@json_option
@_guard
def status(objects: tuple[str, ...], target: str | None, profiles_dir: Path | None, project_dir: Path | None,
           as_json: bool) -> None:
    """Show, per registered object, the last sync, watermark, main-table rows, unmerged staged rows,
    the last run's API calls and freshness. Reads the warehouse only (no Salesforce call)."""
    from lht.commands.status import collect_status

    report = collect_status(objects, project_dir=project_dir, profiles_dir=profiles_dir, target=target)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    table = Table(title=f"lht status ({report.target}; stale after {report.warn_after_hours:g} h, "
                        f"error after {report.error_after_hours:g} h)", title_justify="left")
    for column in ("object", "last success (UTC)", "watermark", "main rows", "unmerged", "API calls", "freshness"):
        table.add_column(column, justify="right" if column in {"main rows", "unmerged", "API calls"} else "left")
    colours = {"pass": "green", "warn": "yellow", "error": "red"}
    for o in report.objects:
        when = o.last_success_at.strftime("%Y-%m-%d %H:%M:%S") if o.last_success_at else "never"
        freshness = o.freshness if o.age_hours is None else f"{o.freshness} ({o.age_hours:g} h)"
        table.add_row(o.object_name + (" (+history)" if o.history else ""), when,
                      o.watermark.isoformat(timespec="seconds") if o.watermark else "-",
                      "not built" if o.main_rows is None else f"{o.main_rows:,}", f"{o.unmerged_rows:,}",
                      "-" if o.last_run_api_calls is None else str(o.last_run_api_calls),
                      f"[{colours.get(o.freshness, 'dim')}]{freshness}[/]")
    _print_wide(table)


@cli.command()
@click.argument("objects", nargs=-1)
@click.option("--older-than", required=True, metavar="AGE",
              help="Only rows extracted longer ago than this (e.g. 30d, 12h, 2w).")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--wait", "wait_for_lock", is_flag=True, help="Wait for a running sync instead of refusing.")
@target_option
@profiles_dir_option
@project_dir_option
@json_option
@_guard
def prune(objects: tuple[str, ...], older_than: str, dry_run: bool, wait_for_lock: bool, target: str | None,
          profiles_dir: Path | None, project_dir: Path | None, as_json: bool) -> None:
    """Delete staged rows already merged into the main tables and older than AGE.

    Never touches unmerged batches and keeps every Id's newest staged rows; objects with a
    history model are refused.
    """
    from lht.project import parse_duration
    from lht.commands.prune import prune as run_prune

    results = run_prune(objects, older_than_seconds=parse_duration(older_than, "--older-than"), dry_run=dry_run,
                        project_dir=project_dir, profiles_dir=profiles_dir, target=target,
                        wait_for_lock=wait_for_lock)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "results": [r.to_dict() for r in results]}, indent=2))
        return
    table = Table(title="lht prune" + (" --dry-run (nothing deleted)" if dry_run else ""), title_justify="left")
    for column in ("object", "outcome", "rows deleted", "batches emptied", "rows kept"):
        table.add_column(column, justify="left" if column in {"object", "outcome"} else "right")
    for r in results:
        table.add_row(r.object_name, r.outcome, f"{r.rows_deleted:,}", f"{r.batches_emptied:,}", f"{r.rows_kept:,}")
    _print_wide(table)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Count what would be sent; send nothing (no write call).")
@click.option("--full", is_flag=True, help="Send every row of the models, not only the changes.")
@click.option("--wait", "wait_for_lock", is_flag=True, help="Wait for another running lht run on this target instead of refusing.")
@target_option
@profiles_dir_option
@project_dir_option
@json_option
@_guard
def push(names: tuple[str, ...], dry_run: bool, full: bool, wait_for_lock: bool, target: str | None,
         profiles_dir: Path | None, project_dir: Path | None, as_json: bool) -> None:
    """Write dbt models back to Salesforce (run after `dbt build`): only the rows that changed.

    NAMES are push models (models with `meta: lht_push:`); default: every one, in the dbt
    DAG's order. Results land in salesforce.lht_push_results after the next `dbt build`.
    Exits 0 when every row was accepted, 1 when rows or a push failed, 2 when a push was
    refused (nothing of it was sent), 3 when another run holds the lock.
    """
    from lht.push.run import PushRequest, run_push

    report = run_push(PushRequest(names=names, dry_run=dry_run, full=full, target=target,
                                  profiles_dir=profiles_dir, project_dir=project_dir,
                                  wait_for_lock=wait_for_lock))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_push(report)
    sys.exit(report.exit_code)


def _print_push(report: Any) -> None:
    title = f"lht push ({report.target})" + (" --dry-run: nothing sent" if report.dry_run else "")
    table = Table(title=title, title_justify="left")
    numbers = ("considered", "sent", "created", "updated", "deleted", "failed", "unchanged", "API calls", "seconds")
    if report.dry_run:
        numbers = ("considered", "would insert", "would update", "would delete", "unchanged", "API calls", "seconds")
    for column in ("push", "object", "outcome", "engine", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left")
    colours = {"ok": "green", "failed": "red", "refused": "yellow"}
    for r in report.results:
        if report.dry_run:
            counts = [r.considered, r.would.get("insert", 0), r.would.get("update", 0), r.would.get("delete", 0),
                      r.unchanged]
        else:
            counts = [r.considered, r.sent, r.created, r.updated, r.deleted, r.failed, r.unchanged]
        table.add_row(r.name, r.object_name, f"[{colours.get(r.status, 'dim')}]{r.status}[/]", r.engine or "-",
                      *(f"{n:,}" for n in counts), str(r.api_calls), f"{r.seconds:.1f}")
    _print_wide(table)
    stdout.print(f"API calls this run: {report.api_calls}")
    for r in report.results:
        for line in [*r.refusals, *([r.error] if r.error else []), *r.errors]:
            stdout.print(f"[red]{r.name}:[/] {line}", highlight=False, soft_wrap=True)
    if report.ok and not report.dry_run:
        stdout.print("Every row was accepted. `dbt build` brings the results into salesforce.lht_push_results.")


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Validate and say what would be merged; send no merge.")
@click.option("--wait", "wait_for_lock", is_flag=True, help="Wait for a running sync instead of refusing.")
@target_option
@profiles_dir_option
@project_dir_option
@json_option
@_guard
def merge(names: tuple[str, ...], dry_run: bool, wait_for_lock: bool, target: str | None,
          profiles_dir: Path | None, project_dir: Path | None, as_json: bool) -> None:
    """Merge duplicates inside Salesforce from the dbt merge models NAMES (default: all).

    A merge model sets `config.meta.lht_merge: {object: Account}` (Account, Contact or Lead)
    and returns MasterId and LoserId, one row per record to merge away; `dbt build` it first.
    Exits 0 when everything merged, 1 when Salesforce refused some, 2 when the rows were
    refused (nothing sent), 3 when another run holds the lock.
    """
    from lht.merge.run import MergeRequest, run_merge

    report = run_merge(MergeRequest(names=names, dry_run=dry_run, target=target, profiles_dir=profiles_dir,
                                    project_dir=project_dir, wait_for_lock=wait_for_lock))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_merge_report(report)
    sys.exit(report.exit_code)


def _print_merge_report(report: Any) -> None:
    title = f"lht merge ({report.target})" + (" --dry-run (nothing sent)" if report.dry_run else "")
    table = Table(title=title, title_justify="left")
    for column in ("model", "object", "outcome", "rows", "already merged", "sent", "merged", "failed", "API calls"):
        table.add_column(column, justify="left" if column in {"model", "object", "outcome"} else "right")
    for r in report.results:
        sent = str(r.would.get("merge", 0)) + " (would)" if report.dry_run and r.would else str(r.sent)
        table.add_row(r.name, r.object_name, r.status, f"{r.considered:,}", f"{r.already_merged:,}", sent,
                      f"{r.merged:,}", f"{r.failed:,}", str(r.api_calls))
    _print_wide(table)
    for r in report.results:
        for line in [*r.refusals, *r.errors, *([r.error] if r.error else [])]:
            stdout.print(f"[red]{r.name}:[/] {line}", highlight=False, soft_wrap=True)


@cli.group()
def jobs() -> None:
    """Bulk API 2.0 query and ingest jobs in the org (lht deletes its own once it has read them)."""


def _salesforce():
    from lht.config import credentials_from_env, settings_from_env
    from lht.salesforce.client import connect

    return connect(credentials_from_env(), settings_from_env())


@jobs.command("list")
@click.option("--state", default=None, help="Only jobs in this state (e.g. InProgress, JobComplete).")
@click.option("--object", "object_name", default=None, help="Only jobs on this object.")
@json_option
@_guard
def jobs_list(state: str | None, object_name: str | None, as_json: bool) -> None:
    """List the query and ingest jobs the user can see."""
    from lht.salesforce.jobs import LIST_FIELDS, list_jobs

    found = list_jobs(_salesforce(), state=state, object_name=object_name)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    table = Table(title=f"Bulk API 2.0 jobs ({len(found)})", title_justify="left")
    for column in LIST_FIELDS:
        table.add_column(column)
    for job in found:
        table.add_row(*(str(job.get(c, "")) for c in LIST_FIELDS))
    _print_wide(table)


@jobs.command("show")
@click.argument("job_id")
@_guard
def jobs_show(job_id: str) -> None:
    """Print one job's full info as JSON."""
    from lht.salesforce.jobs import show_job

    click.echo(json.dumps(show_job(_salesforce(), job_id), indent=2))


@jobs.command("results")
@click.argument("job_id")
@click.option("--successful", "which", flag_value="successful", default=True, help="The rows Salesforce accepted (default).")
@click.option("--failed", "which", flag_value="failed", help="The rows it rejected, with sf__Error.")
@click.option("--unprocessed", "which", flag_value="unprocessed", help="The rows it never processed (aborted or failed job).")
@_guard
def jobs_results(job_id: str, which: str) -> None:
    """Print an ingest job's result CSV on stdout."""
    from lht.salesforce.jobs import job_results

    out = sys.stdout.buffer
    for chunk in job_results(_salesforce(), job_id, which):
        out.write(chunk)
    out.flush()


@jobs.command("abort")
@click.argument("job_ids", nargs=-1, required=True)
@_guard
def jobs_abort(job_ids: tuple[str, ...]) -> None:
    """Abort running jobs."""
    from lht.salesforce.jobs import abort_job

    client = _salesforce()
    for job_id in job_ids:
        info = abort_job(client, job_id)
        stdout.print(f"{job_id}: {info.get('state', 'Aborted')}")


@jobs.command("delete")
@click.argument("job_ids", nargs=-1)
@click.option("--finished", is_flag=True, help="Delete every finished job the user can see (their results are lost).")
@click.option("--object", "object_name", default=None, help="With --finished: only jobs on this object.")
@_guard
def jobs_delete(job_ids: tuple[str, ...], finished: bool, object_name: str | None) -> None:
    """Delete finished jobs (by id, or all finished ones with --finished) and their results."""
    from lht.errors import ConfigError
    from lht.salesforce.jobs import delete_finished, delete_job

    if bool(job_ids) == finished:
        raise ConfigError("Name the jobs to delete, or pass --finished (not both).")
    client = _salesforce()
    deleted = delete_finished(client, object_name=object_name) if finished else list(job_ids)
    if not finished:
        for job_id in job_ids:
            delete_job(client, job_id)
    for job_id in deleted:
        stdout.print(f"deleted {job_id}")
    if not deleted:
        stdout.print("no finished jobs to delete")


def main() -> None:
    """Entry point of the ``lht`` console script."""
    cli(prog_name="lht")


if __name__ == "__main__":  # pragma: no cover
    main()
