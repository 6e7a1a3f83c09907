"""The ``lht`` command line: the only wing that prints or chooses exit codes.

``lht.cli.output`` holds what the commands share, ``lht.cli.jobs`` the ``lht jobs`` group,
``lht.cli.login`` ``lht login`` and ``lht logout``, ``lht.cli.report`` ``lht report``, ``lht.cli.startup`` the console script's process set-up.
May import every wing; it must not import the local org at start-up (`lht devorg` loads it
when used), and nothing imports it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from lht import __version__
from lht.cli.jobs import jobs
from lht.cli.login import login, logout
from lht.cli.output import (
    accept_verbose_everywhere,
    configure_logging,
    emit,
    fail,
    guard,
    print_wide,
    share_group_options,
    stderr,
    stdout,
    target_options,
    wait_option,
)
from lht.cli.registry import COMMANDS as REGISTRY_COMMANDS
from lht.cli.report import report
from lht.cli.startup import arrow_without_pandas
from lht.commands import tables
from lht.commands.localorg import INSTALL, import_local_org
from lht.errors import LocalOrgMissingError


class _Commands(click.Group):
    """lht's commands; ``devorg`` (the local org) is imported only when it is used or listed."""

    _lazy = {"devorg": ("lht_devorg.cli", "devorg_command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module, attr = self._lazy[cmd_name]
            try:
                return getattr(import_local_org(module), attr)
            except LocalOrgMissingError as exc:
                return _missing(cmd_name, exc)
        return super().get_command(ctx, cmd_name)


def _missing(name: str, exc: LocalOrgMissingError) -> click.Command:
    """A stand-in for a command of the local org when it is not installed: says so, exit 2."""
    return click.Command(
        name,
        callback=lambda **_: fail(exc),
        add_help_option=False,
        help=f"Run the local Salesforce-compatible org (not installed: {INSTALL}).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lht")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
@target_options
@click.pass_context
def cli(ctx: click.Context, verbose: int, **shared: object) -> None:
    """lht keeps a warehouse in step with a Salesforce org, the dbt way.

    `lht sync` extracts Salesforce records into append-only staging tables; `dbt build`
    then merges staging into one main table per object. Salesforce credentials come from
    SF_* environment variables; the warehouse from the dbt profile.

    The options above are accepted before the command too (`lht -v sync`,
    `lht --project-dir dbt_project status`); after it they win.
    """
    configure_logging(verbose)
    share_group_options(ctx, shared)


@cli.command()
@click.argument("objects", nargs=-1)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Re-extract everything; records gone from Salesforce get delete markers.",
)
@click.option(
    "--refresh-formulas",
    is_flag=True,
    help="Also re-read formula fields (they change without SystemModstamp moving).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="Objects synced in parallel.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan per object (full or incremental, REST or Bulk, fields added or removed, "
    "the calls expected); only describe, count and limits calls; write nothing.",
)
@wait_option
@target_options
@guard
def sync(
    objects: tuple[str, ...],
    full_refresh: bool,
    refresh_formulas: bool,
    threads: int,
    dry_run: bool,
    wait_for_lock: bool,
    target: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
) -> None:
    """Extract OBJECTS (default: every registered object) from Salesforce into staging.

    Exits 0 only when every object synced; otherwise non-zero, with a per-object summary.
    """
    from lht.commands.progress import progress_reporter
    from lht.commands.runlog import refusals_recorded
    from lht.sync.run import SyncRequest, run_sync

    request = SyncRequest(
        objects=objects,
        full_refresh=full_refresh,
        refresh_formulas=refresh_formulas,
        threads=threads,
        target=target,
        profiles_dir=profiles_dir,
        project_dir=project_dir,
        wait_for_lock=wait_for_lock,
    )
    if dry_run:
        from lht.sync.dryrun import dry_run as plan_sync

        plan = plan_sync(request)
        emit(plan, as_json, tables.dry_run_table, tables.dry_run_lines, plan.exit_code)
    with (
        refusals_recorded(
            "sync", project_dir=project_dir, profiles_dir=profiles_dir, target=target
        ),
        progress_reporter(stderr, enabled=not as_json) as progress,
    ):
        report = run_sync(request, progress=progress)
    emit(report, as_json, tables.sync_table, tables.sync_lines, report.exit_code)


@cli.command()
@click.argument("objects", nargs=-1)
@target_options
@guard
def status(
    objects: tuple[str, ...],
    target: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
) -> None:
    """Show, per registered object, the last sync, watermark, main-table rows, unmerged staged rows,
    the last run's API calls and freshness. Reads the warehouse only (no Salesforce call) and
    writes nothing; while a sync runs, shows it and the state it keeps beside the DuckDB file.

    OBJECTS limits the report to those objects (default: every registered object).
    """
    from lht.commands.status import collect_status

    report = collect_status(
        objects, project_dir=project_dir, profiles_dir=profiles_dir, target=target
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    print_wide(tables.status_table(report))
    for line in tables.status_lines(report):
        stdout.print(line, highlight=False, soft_wrap=True)
    if report.last_runs:
        print_wide(tables.last_runs_table(report.last_runs))


@cli.command()
@click.argument("objects", nargs=-1)
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="Only rows extracted longer ago than this, with its unit: 30d, 12h, 2w (s, m, h, d, w).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@wait_option
@target_options
@guard
def prune(
    objects: tuple[str, ...],
    older_than: str,
    dry_run: bool,
    wait_for_lock: bool,
    target: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
) -> None:
    """Delete staged rows already merged into the main tables and older than AGE.

    OBJECTS are the objects to prune (default: every registered object). Never touches
    unmerged batches and keeps every Id's newest staged rows; objects with a history model
    are refused.
    """
    from lht.commands.prune import parse_age
    from lht.commands.prune import prune as run_prune

    results = run_prune(
        objects,
        older_than_seconds=parse_age(older_than),
        dry_run=dry_run,
        project_dir=project_dir,
        profiles_dir=profiles_dir,
        target=target,
        wait_for_lock=wait_for_lock,
    )
    if as_json:
        click.echo(
            json.dumps({"dry_run": dry_run, "results": [r.to_dict() for r in results]}, indent=2)
        )
        return
    print_wide(tables.prune_table(results, dry_run))


@cli.command()
@click.argument("names", nargs=-1)
@click.option(
    "--dry-run", is_flag=True, help="Count what would be sent; send nothing (no write call)."
)
@click.option("--full", is_flag=True, help="Send every row of the models, not only the changes.")
@wait_option
@target_options
@guard
def push(
    names: tuple[str, ...],
    dry_run: bool,
    full: bool,
    wait_for_lock: bool,
    target: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
) -> None:
    """Write dbt models back to Salesforce (run after `dbt build`): only the rows that changed.

    NAMES are push models (models with `meta: lht_push:`); default: every one, in the dbt
    DAG's order. Results land in salesforce.lht_push_results after the next `dbt build`.
    Exits 0 when every row was accepted, 1 when rows or a push failed, 2 when a push was
    refused (nothing of it was sent), 3 when another run holds the lock.
    """
    from lht.commands.runlog import refusals_recorded
    from lht.push.run import PushRequest, run_push

    with refusals_recorded(
        "push", project_dir=project_dir, profiles_dir=profiles_dir, target=target
    ):
        report = run_push(
            PushRequest(
                names=names,
                dry_run=dry_run,
                full=full,
                target=target,
                profiles_dir=profiles_dir,
                project_dir=project_dir,
                wait_for_lock=wait_for_lock,
            )
        )
    emit(report, as_json, tables.push_table, tables.push_lines, report.exit_code)


@cli.command()
@click.argument("names", nargs=-1)
@click.option(
    "--dry-run", is_flag=True, help="Validate and say what would be merged; send no merge."
)
@wait_option
@target_options
@guard
def merge(
    names: tuple[str, ...],
    dry_run: bool,
    wait_for_lock: bool,
    target: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
) -> None:
    """Merge duplicates inside Salesforce from the dbt merge models NAMES (default: all).

    A merge model sets `config.meta.lht_merge: {object: Account}` (Account, Contact or Lead)
    and returns MasterId and LoserId, one row per record to merge away; `dbt build` it first.
    Exits 0 when everything merged, 1 when Salesforce refused some, 2 when the rows were
    refused (nothing sent), 3 when another run holds the lock.
    """
    from lht.commands.runlog import refusals_recorded
    from lht.merge.run import MergeRequest, run_merge

    with refusals_recorded(
        "merge", project_dir=project_dir, profiles_dir=profiles_dir, target=target
    ):
        report = run_merge(
            MergeRequest(
                names=names,
                dry_run=dry_run,
                target=target,
                profiles_dir=profiles_dir,
                project_dir=project_dir,
                wait_for_lock=wait_for_lock,
            )
        )
    emit(report, as_json, tables.merge_table, tables.merge_lines, report.exit_code)


for command in REGISTRY_COMMANDS:
    cli.add_command(command)
cli.add_command(jobs)
cli.add_command(login)
cli.add_command(logout)
cli.add_command(report)
accept_verbose_everywhere(cli)


def main() -> None:
    """Entry point of the ``lht`` console script."""
    arrow_without_pandas()
    cli(prog_name="lht")


if __name__ == "__main__":  # pragma: no cover
    main()
