"""``lht jobs``: list, show, read the results of, abort and delete Bulk API 2.0 jobs."""

from __future__ import annotations

import json
import sys

import click

from lht.cli.output import guard, json_option, print_wide, stdout, target_options
from lht.commands import tables


@click.group()
def jobs() -> None:
    """Bulk API 2.0 query and ingest jobs in the org. lht deletes its query jobs once their rows
    are written (a job a killed sync left is reused by the next sync: `lht jobs history`); its
    push ingest jobs stay until Salesforce removes them (7 days), so `lht jobs results` reads
    the job ids that lht_push_results records."""


def _salesforce():
    from lht.config import credentials_from_env, settings_from_env
    from lht.salesforce.client import connect

    return connect(credentials_from_env(), settings_from_env())


@jobs.command("list")
@click.option(
    "--state", default=None, help="Only jobs in this state (e.g. InProgress, JobComplete)."
)
@click.option("--object", "object_name", default=None, help="Only jobs on this object.")
@json_option
@guard
def jobs_list(state: str | None, object_name: str | None, as_json: bool) -> None:
    """List the query and ingest jobs the user can see."""
    from lht.salesforce.jobs import LIST_FIELDS, list_jobs

    found = list_jobs(_salesforce(), state=state, object_name=object_name)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    print_wide(tables.jobs_table(found, LIST_FIELDS))


@jobs.command("history")
@click.option("--object", "object_name", default=None, help="Only jobs on this object.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="The newest N jobs.",
)
@target_options
@guard
def jobs_history(
    object_name: str | None,
    limit: int,
    target: str | None,
    profiles_dir,
    project_dir,
    as_json: bool,
) -> None:
    """The Bulk query jobs lht's syncs started, and which runs reused them after a crash.

    Read from the warehouse (no Salesforce call): a job stays `open` until its rows are
    written; a run killed mid-download leaves it open and the next run reuses it.
    """
    from lht.commands.jobhistory import job_history

    rows = job_history(
        object_name, limit=limit, project_dir=project_dir, profiles_dir=profiles_dir, target=target
    )
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    print_wide(tables.job_history_table(rows))


@jobs.command("show")
@click.argument("job_id")
@guard
def jobs_show(job_id: str) -> None:
    """Print one job's full info as JSON."""
    from lht.salesforce.jobs import show_job

    click.echo(json.dumps(show_job(_salesforce(), job_id), indent=2))


@jobs.command("results")
@click.argument("job_id")
@click.option(
    "--successful",
    "which",
    flag_value="successful",
    default=True,
    help="The rows Salesforce accepted (default).",
)
@click.option(
    "--failed", "which", flag_value="failed", help="The rows it rejected, with sf__Error."
)
@click.option(
    "--unprocessed",
    "which",
    flag_value="unprocessed",
    help="The rows it never processed (aborted or failed job).",
)
@guard
def jobs_results(job_id: str, which: str) -> None:
    """Print an ingest job's result CSV on stdout."""
    from lht.salesforce.jobs import job_results

    out = sys.stdout.buffer
    for chunk in job_results(_salesforce(), job_id, which):
        out.write(chunk)
    out.flush()


@jobs.command("abort")
@click.argument("job_ids", nargs=-1, required=True)
@guard
def jobs_abort(job_ids: tuple[str, ...]) -> None:
    """Abort running jobs."""
    from lht.salesforce.jobs import abort_job

    client = _salesforce()
    for job_id in job_ids:
        info = abort_job(client, job_id)
        stdout.print(f"{job_id}: {info.get('state', 'Aborted')}")


@jobs.command("delete")
@click.argument("job_ids", nargs=-1)
@click.option(
    "--finished",
    is_flag=True,
    help="Delete every finished job the user can see (their results are lost).",
)
@click.option(
    "--object", "object_name", default=None, help="With --finished: only jobs on this object."
)
@guard
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
