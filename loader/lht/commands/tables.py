"""The run reports of ``lht`` as Rich tables and message lines, ready for the CLI to print.

Each function takes a report and returns renderables; nothing here prints (``lht.cli`` does).
Message lines carry Rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lht.commands.history import one_line
from lht.sync.report import RunReport

if TYPE_CHECKING:
    from rich.table import Table

_STATUS_COLOURS = {
    "ok": "green",
    "pass": "green",
    "failed": "red",
    "error": "red",
    "refused": "yellow",
    "warn": "yellow",
}


def _coloured(status: str, default: str = "dim") -> str:
    return f"[{_STATUS_COLOURS.get(status, default)}]{status}[/]"


def _table(
    title: str, columns: Sequence[str], numeric: Iterable[str], rows: Iterable[Sequence[str]]
) -> Table:
    """A left-titled table whose ``numeric`` columns are right-aligned."""
    right = set(numeric)
    from rich.table import Table  # at the first table printed: `--json` runs never load rich

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _error_lines(results: Iterable[Any]) -> list[str]:
    """One red line per refusal and error of push or merge results."""
    return [
        f"[red]{r.name}:[/] {line}"
        for r in results
        for line in [*r.refusals, *([r.error] if r.error else []), *r.errors]
    ]


def sync_table(report: RunReport) -> Table:
    """Per object: outcome, mode, engine, rows staged, of them records marked deleted
    (IsDeleted), delete markers (records gone from Salesforce), whole API calls, seconds."""
    numbers = ("rows staged", "marked deleted", "delete markers", "API calls", "seconds")
    rows = [
        (
            r.object_name,
            _coloured(r.status, "yellow"),
            r.mode,
            r.engine or "-",
            f"{r.rows_written:,}",
            f"{r.records_marked_deleted:,}",
            f"{r.delete_markers:,}",
            str(r.api_calls),
            f"{r.duration_seconds:.1f}",
        )
        for r in report.results
    ]
    return _table(
        f"lht sync ({report.target})",
        ("object", "outcome", "mode", "engine", *numbers),
        numbers,
        rows,
    )


def sync_lines(report: RunReport) -> list[str]:
    """The run's totals and API calls, each object's error, field changes and notes, then the next step."""
    results = report.results
    rows = sum(r.rows_written for r in results)
    marked = sum(r.records_marked_deleted for r in results)
    markers = sum(r.delete_markers for r in results)
    lines = [
        f"Total: {len(results)} object{'s' if len(results) != 1 else ''}, {rows:,} rows staged "
        f"({marked:,} marked deleted), {markers:,} delete markers, {report.api_calls} API calls, "
        f"{report.seconds:.1f} s."
    ]
    shared = sum(r.api_calls_shared for r in results)
    usage = (
        f"; the org has used {report.api_usage[0]:,} of its {report.api_usage[1]:,} daily API requests"
        if report.api_usage
        else ""
    )
    split = f"{report.api_calls - report.run_api_calls} by the objects + {report.run_api_calls} by the run itself"
    grouped = (
        f"; {shared} Composite change check{'s' if shared != 1 else ''} each counted on the first "
        "object it served"
        if shared
        else ""
    )
    lines.append(f"API calls: {split}{grouped}{usage}.")
    for r in report.results:
        if r.error:
            lines.append(f"[red]{r.object_name}:[/] {r.error}")
        if r.fields_added:
            lines.append(f"{r.object_name}: new fields backfilled: {', '.join(r.fields_added)}")
        if r.fields_removed:
            lines.append(
                f"[yellow]{r.object_name}:[/] no longer in describe (columns and last values kept): "
                f"{', '.join(r.fields_removed)}"
            )
        lines.extend(f"{r.object_name}: {note}" for note in r.notes)
    if report.ok:
        lines.append("Every object synced. Next: `dbt build` merges staging into the main tables.")
    return lines


def status_table(report: Any) -> Table:
    """Per object: last success, watermark, main rows, unmerged rows, API calls, freshness
    (and, while a sync runs, what each object is doing)."""
    title = (
        f"lht status ({report.target}; stale after {report.warn_after_hours:g} h, "
        f"error after {report.error_after_hours:g} h)"
    )
    if report.as_of is not None:
        title += f", as of {report.as_of.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    live = any(o.activity for o in report.objects)
    rows = []
    for o in report.objects:
        known = o.freshness != "unknown"
        when = (
            o.last_success_at.strftime("%Y-%m-%d %H:%M:%S")
            if o.last_success_at
            else "never"
            if known
            else "?"
        )
        freshness = o.freshness if o.age_hours is None else f"{o.freshness} ({o.age_hours:g} h)"
        colour = _STATUS_COLOURS.get(o.freshness, "dim")
        main = ("not built" if o.main_rows is None else f"{o.main_rows:,}") if known else "?"
        row = [
            o.object_name + (" (+history)" if o.history else ""),
            when,
            o.watermark.isoformat(timespec="seconds") if o.watermark else "-",
            main,
            f"{o.unmerged_rows:,}" if known else "?",
            "-" if o.last_run_api_calls is None else str(o.last_run_api_calls),
            f"[{colour}]{freshness}[/]",
        ]
        rows.append((*row, o.activity or "-") if live else tuple(row))
    columns = (
        "object",
        "last success (UTC)",
        "watermark",
        "main rows",
        "unmerged",
        "API calls",
        "freshness",
    )
    return _table(
        title, (*columns, "now") if live else columns, ("main rows", "unmerged", "API calls"), rows
    )


def status_lines(report: Any) -> list[str]:
    """Who is running when the warehouse was busy, and where the figures come from."""
    if report.busy is None:
        return []
    running = report.running
    if running:
        who = (
            f"[bold]lht sync is running[/]: {running.get('owner')}@{running.get('host')} "
            f"(pid {running.get('pid')}) since {running.get('acquired_at')}."
        )
    else:
        from rich.markup import escape

        holder = escape(report.holder) if report.holder else "another process (a dbt build?)"
        who = f"[bold]The warehouse is busy[/]: {holder} has the DuckDB file open."
    source = (
        f"Figures as of {report.as_of.strftime('%Y-%m-%d %H:%M:%S')} UTC, from the snapshot lht sync keeps "
        "beside the file."
        if report.as_of
        else "No snapshot of the warehouse is known yet."
    )
    return [who, source]


def objects_table(report: Any) -> Table:
    """The org's objects: name, label, registered, queryable, replicateable."""

    def flag(value: bool | None) -> str:
        return "?" if value is None else "yes" if value else "no"

    rows = [
        (o.name, o.label, flag(report.is_registered(o)), flag(o.queryable), flag(o.replicateable))
        for o in report.objects
    ]
    title = f"Objects of the org ({len(rows)})"
    return _table(title, ("name", "label", "registered", "queryable", "replicateable"), (), rows)


def docs_lines(report: Any) -> list[str]:
    """What ``lht docs`` wrote (or would write), then its notes."""
    verb = "would update" if report.check else "updated"
    lines = [f"{verb} {path}" for path in report.files]
    if report.models:
        lines.append(f"Models described: {', '.join(report.models)}.")
    elif not report.files:
        lines.append("The models' YAML is up to date.")
    lines += [f"[yellow]{note}[/]" for note in report.notes]
    if report.check and report.files:
        lines.append("[red]Not up to date[/]: run `lht docs` to write the descriptions.")
    return lines


def last_runs_table(runs: Sequence[Any]) -> Table:
    """The newest runs (``lht status``): when, command, outcome, objects or models, rows,
    API calls, seconds, and what failed."""
    numbers = ("objects/models", "rows written", "API calls", "seconds")
    rows = []
    for run in runs:
        problem = ", ".join(run.failed) if run.failed else ""
        if run.error:
            problem = (
                one_line(run.error, 100) if not problem else f"{problem}: {one_line(run.error, 80)}"
            )
        rows.append(
            (
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                run.command,
                _coloured(run.outcome, "yellow"),
                f"{run.items:,}",
                f"{run.rows_written:,}",
                str(run.api_calls),
                "-" if run.seconds is None else f"{run.seconds:.1f}",
                problem or "-",
            )
        )
    columns = ("started (UTC)", "command", "outcome", *numbers, "failed")
    return _table("last runs", columns, numbers, rows)


def prune_table(results: Sequence[Any], dry_run: bool) -> Table:
    """Per object: outcome, rows deleted, batches emptied, rows kept."""
    numbers = ("rows deleted", "batches emptied", "rows kept")
    rows = [
        (
            r.object_name,
            r.outcome,
            f"{r.rows_deleted:,}",
            f"{r.batches_emptied:,}",
            f"{r.rows_kept:,}",
        )
        for r in results
    ]
    title = "lht prune" + (" --dry-run (nothing deleted)" if dry_run else "")
    return _table(title, ("object", "outcome", *numbers), numbers, rows)


def push_table(report: Any) -> Table:
    """Per push: the row counts (or, dry, what would be sent), API calls and seconds."""
    if report.dry_run:
        numbers: tuple[str, ...] = (
            "considered",
            "would insert",
            "would update",
            "would delete",
            "unchanged",
            "API calls",
            "seconds",
        )
    else:
        numbers = (
            "considered",
            "sent",
            "created",
            "updated",
            "deleted",
            "failed",
            "unchanged",
            "API calls",
            "seconds",
        )
    rows = []
    for r in report.results:
        if report.dry_run:
            counts = [
                r.considered,
                r.would.get("insert", 0),
                r.would.get("update", 0),
                r.would.get("delete", 0),
                r.unchanged,
            ]
        else:
            counts = [r.considered, r.sent, r.created, r.updated, r.deleted, r.failed, r.unchanged]
        rows.append(
            (
                r.name,
                r.object_name,
                _coloured(r.status),
                r.engine or "-",
                *(f"{n:,}" for n in counts),
                str(r.api_calls),
                f"{r.seconds:.1f}",
            )
        )
    title = f"lht push ({report.target})" + (" --dry-run: nothing sent" if report.dry_run else "")
    return _table(title, ("push", "object", "outcome", "engine", *numbers), numbers, rows)


def push_lines(report: Any) -> list[str]:
    """The run's API calls, every refusal and error, then the next step."""
    lines = [f"API calls this run: {report.api_calls}", *_error_lines(report.results)]
    lines += [f"{r.name}: {note}" for r in report.results for note in r.notes]
    batches = sum(r.bulk_batches for r in report.results)
    if batches:
        lines.append(f"Bulk API batches used: {batches:,} (of the org's daily 15,000).")
    sent = sum(r.sent for r in report.results)
    if report.ok and not report.dry_run and sent:
        lines.append(
            f"Every row sent ({sent:,}) was accepted. `dbt build` brings the results into "
            "salesforce.lht_push_results."
        )
    elif report.ok and not report.dry_run:
        lines.append("Nothing to send: every row is as Salesforce last accepted it.")
    return lines


def merge_table(report: Any) -> Table:
    """Per merge model: rows, already merged, sent (or, dry, to merge), merged, failed, API calls."""
    if report.dry_run:
        numbers: tuple[str, ...] = ("rows", "already merged", "to merge", "requests", "API calls")
        rows = [
            (
                r.name,
                r.object_name,
                r.status,
                *(
                    f"{n:,}"
                    for n in (r.considered, r.already_merged, len(r.pairs), r.requests, r.api_calls)
                ),
            )
            for r in report.results
        ]
    else:
        numbers = ("rows", "already merged", "sent", "merged", "failed", "API calls")
        rows = [
            (
                r.name,
                r.object_name,
                r.status,
                *(
                    f"{n:,}"
                    for n in (
                        r.considered,
                        r.already_merged,
                        r.sent,
                        r.merged,
                        r.failed,
                        r.api_calls,
                    )
                ),
            )
            for r in report.results
        ]
    title = f"lht merge ({report.target})" + (" --dry-run (nothing sent)" if report.dry_run else "")
    return _table(title, ("model", "object", "outcome", *numbers), numbers, rows)


#: Masters listed per model by `lht merge --dry-run` on a terminal (--json lists every pair).
DRY_RUN_MASTERS_SHOWN = 50


def merge_lines(report: Any) -> list[str]:
    """Every refusal and error of the merge models; in a dry run, the pairs each would send,
    one line per master (``MASTER <- LOSER, LOSER``)."""
    lines = _error_lines(report.results)
    for r in report.results if report.dry_run else ():
        by_master: dict[str, list[str]] = {}
        for pair in r.pairs:
            by_master.setdefault(pair["master_id"], []).append(pair["loser_id"])
        if not by_master:
            continue
        lines.append(f"[bold]{r.name}[/] would merge ({r.object_name}, master <- losers):")
        for master, losers in list(by_master.items())[:DRY_RUN_MASTERS_SHOWN]:
            lines.append(f"  {master} <- {', '.join(losers)}")
        if len(by_master) > DRY_RUN_MASTERS_SHOWN:
            lines.append(
                f"  ... and {len(by_master) - DRY_RUN_MASTERS_SHOWN:,} more masters (`--json` lists every pair)"
            )
    return lines


def dry_run_table(report: Any) -> Table:
    """``lht sync --dry-run``: one row per object."""

    def fields(names: Sequence[str]) -> str:
        return ", ".join(names) if names else ""

    rows = [
        [
            o.object_name,
            o.mode,
            o.engine or "",
            "" if o.rows is None else f"{o.rows:,}",
            "" if o.expected_calls is None else f"{o.expected_calls:,}",
            fields(o.fields_added),
            fields(o.fields_removed),
        ]
        for o in report.objects
    ]
    return _table(
        "lht sync --dry-run: the plan (nothing extracted or written)",
        ("object", "mode", "engine", "rows", "expected calls", "fields added", "fields removed"),
        ("rows", "expected calls"),
        rows,
    )


def dry_run_lines(report: Any) -> list[str]:
    """Each object's calls by kind, notes and errors, then what the plan cost."""
    lines = []
    for o in report.objects:
        if o.error:
            lines.append(f"[red]{o.object_name}:[/] {o.error}")
            continue
        if o.calls:
            lines.append(
                f"{o.object_name}: calls "
                + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in o.calls.items())
            )
        lines.extend(f"{o.object_name}: {note}" for note in o.notes)
    total = sum(o.expected_calls or 0 for o in report.objects)
    lines.append(
        f"Expected about {total:,} API calls. This plan spent {report.api_calls:,} "
        "(describe, count, limits); nothing was written."
    )
    return lines


def job_history_table(rows: Sequence[Any]) -> Table:
    """The syncs' Bulk query jobs (``lht jobs history``): who started each, who reused it."""

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""

    body = [
        [
            r.job_id,
            r.object_name,
            r.operation,
            when(r.created_at),
            r.run_id or "",
            r.reused_by or "",
            _coloured(r.status, "yellow" if r.status == "open" else "dim"),
            r.note or "",
        ]
        for r in rows
    ]
    return _table(
        f"Bulk query jobs of the syncs ({len(rows)})",
        (
            "id",
            "object",
            "operation",
            "created (UTC)",
            "started by run",
            "reused by run",
            "status",
            "note",
        ),
        (),
        body,
    )


def jobs_table(found: Sequence[dict[str, Any]], fields: Sequence[str]) -> Table:
    """Bulk API 2.0 jobs, one row each, with ``fields`` as columns."""
    rows = [[str(job.get(c, "")) for c in fields] for job in found]
    return _table(f"Bulk API 2.0 jobs ({len(found)})", fields, (), rows)
