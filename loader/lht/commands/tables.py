"""The run reports of ``lht`` as Rich tables and message lines, ready for the CLI to print.

Each function takes a report and returns renderables; nothing here prints (``lht.cli`` does).
Message lines carry Rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.table import Table

from lht.commands.history import one_line
from lht.sync.report import RunReport

_STATUS_COLOURS = {"ok": "green", "pass": "green", "failed": "red", "error": "red",
                   "refused": "yellow", "warn": "yellow"}


def _coloured(status: str, default: str = "dim") -> str:
    return f"[{_STATUS_COLOURS.get(status, default)}]{status}[/]"


def _table(title: str, columns: Sequence[str], numeric: Iterable[str], rows: Iterable[Sequence[str]]) -> Table:
    """A left-titled table whose ``numeric`` columns are right-aligned."""
    right = set(numeric)
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _error_lines(results: Iterable[Any]) -> list[str]:
    """One red line per refusal and error of push or merge results."""
    return [f"[red]{r.name}:[/] {line}" for r in results
            for line in [*r.refusals, *([r.error] if r.error else []), *r.errors]]


def sync_table(report: RunReport) -> Table:
    """Per object: outcome, mode, engine, rows staged, of them records marked deleted
    (IsDeleted), delete markers (records gone from Salesforce), whole API calls, seconds."""
    numbers = ("rows staged", "marked deleted", "delete markers", "API calls", "seconds")
    rows = [(r.object_name, _coloured(r.status, "yellow"), r.mode, r.engine or "-", f"{r.rows_written:,}",
             f"{r.records_marked_deleted:,}", f"{r.delete_markers:,}", str(r.api_calls),
             f"{r.duration_seconds:.1f}") for r in report.results]
    return _table(f"lht sync ({report.target})", ("object", "outcome", "mode", "engine", *numbers), numbers, rows)


def sync_lines(report: RunReport) -> list[str]:
    """The run's totals and API calls, each object's error, field changes and notes, then the next step."""
    results = report.results
    rows = sum(r.rows_written for r in results)
    marked = sum(r.records_marked_deleted for r in results)
    markers = sum(r.delete_markers for r in results)
    lines = [f"Total: {len(results)} object{'s' if len(results) != 1 else ''}, {rows:,} rows staged "
             f"({marked:,} marked deleted), {markers:,} delete markers, {report.api_calls} API calls, "
             f"{report.seconds:.1f} s."]
    shared = sum(r.api_calls_shared for r in results)
    usage = (f"; the org has used {report.api_usage[0]:,} of its {report.api_usage[1]:,} daily API requests"
             if report.api_usage else "")
    split = f"{report.api_calls - report.run_api_calls} by the objects + {report.run_api_calls} by the run itself"
    grouped = (f"; {shared} Composite change check{'s' if shared != 1 else ''} each counted on the first "
               "object it served" if shared else "")
    lines.append(f"API calls: {split}{grouped}{usage}.")
    for r in report.results:
        if r.error:
            lines.append(f"[red]{r.object_name}:[/] {r.error}")
        if r.fields_added:
            lines.append(f"{r.object_name}: new fields backfilled: {', '.join(r.fields_added)}")
        if r.fields_removed:
            lines.append(f"[yellow]{r.object_name}:[/] no longer in describe (columns and last values kept): "
                         f"{', '.join(r.fields_removed)}")
        lines.extend(f"{r.object_name}: {note}" for note in r.notes)
    if report.ok:
        lines.append("Every object synced. Next: `dbt build` merges staging into the main tables.")
    return lines


def status_table(report: Any) -> Table:
    """Per object: last success, watermark, main rows, unmerged rows, API calls, freshness."""
    title = (f"lht status ({report.target}; stale after {report.warn_after_hours:g} h, "
             f"error after {report.error_after_hours:g} h)")
    rows = []
    for o in report.objects:
        when = o.last_success_at.strftime("%Y-%m-%d %H:%M:%S") if o.last_success_at else "never"
        freshness = o.freshness if o.age_hours is None else f"{o.freshness} ({o.age_hours:g} h)"
        colour = _STATUS_COLOURS.get(o.freshness, "dim")
        rows.append((o.object_name + (" (+history)" if o.history else ""), when,
                     o.watermark.isoformat(timespec="seconds") if o.watermark else "-",
                     "not built" if o.main_rows is None else f"{o.main_rows:,}", f"{o.unmerged_rows:,}",
                     "-" if o.last_run_api_calls is None else str(o.last_run_api_calls),
                     f"[{colour}]{freshness}[/]"))
    columns = ("object", "last success (UTC)", "watermark", "main rows", "unmerged", "API calls", "freshness")
    return _table(title, columns, ("main rows", "unmerged", "API calls"), rows)


def last_runs_table(runs: Sequence[Any]) -> Table:
    """The newest runs (``lht status``): when, command, outcome, objects or models, rows,
    API calls, seconds, and what failed."""
    numbers = ("objects/models", "rows written", "API calls", "seconds")
    rows = []
    for run in runs:
        problem = ", ".join(run.failed) if run.failed else ""
        if run.error:
            problem = one_line(run.error, 100) if not problem else f"{problem}: {one_line(run.error, 80)}"
        rows.append((run.started_at.strftime("%Y-%m-%d %H:%M:%S"), run.command, _coloured(run.outcome, "yellow"),
                     f"{run.items:,}", f"{run.rows_written:,}", str(run.api_calls),
                     "-" if run.seconds is None else f"{run.seconds:.1f}", problem or "-"))
    columns = ("started (UTC)", "command", "outcome", *numbers, "failed")
    return _table("last runs", columns, numbers, rows)


def prune_table(results: Sequence[Any], dry_run: bool) -> Table:
    """Per object: outcome, rows deleted, batches emptied, rows kept."""
    numbers = ("rows deleted", "batches emptied", "rows kept")
    rows = [(r.object_name, r.outcome, f"{r.rows_deleted:,}", f"{r.batches_emptied:,}", f"{r.rows_kept:,}")
            for r in results]
    title = "lht prune" + (" --dry-run (nothing deleted)" if dry_run else "")
    return _table(title, ("object", "outcome", *numbers), numbers, rows)


def push_table(report: Any) -> Table:
    """Per push: the row counts (or, dry, what would be sent), API calls and seconds."""
    if report.dry_run:
        numbers = ("considered", "would insert", "would update", "would delete", "unchanged", "API calls", "seconds")
    else:
        numbers = ("considered", "sent", "created", "updated", "deleted", "failed", "unchanged", "API calls", "seconds")
    rows = []
    for r in report.results:
        if report.dry_run:
            counts = [r.considered, r.would.get("insert", 0), r.would.get("update", 0), r.would.get("delete", 0),
                      r.unchanged]
        else:
            counts = [r.considered, r.sent, r.created, r.updated, r.deleted, r.failed, r.unchanged]
        rows.append((r.name, r.object_name, _coloured(r.status), r.engine or "-",
                     *(f"{n:,}" for n in counts), str(r.api_calls), f"{r.seconds:.1f}"))
    title = f"lht push ({report.target})" + (" --dry-run: nothing sent" if report.dry_run else "")
    return _table(title, ("push", "object", "outcome", "engine", *numbers), numbers, rows)


def push_lines(report: Any) -> list[str]:
    """The run's API calls, every refusal and error, then the next step."""
    lines = [f"API calls this run: {report.api_calls}", *_error_lines(report.results)]
    if report.ok and not report.dry_run:
        lines.append("Every row was accepted. `dbt build` brings the results into salesforce.lht_push_results.")
    return lines


def merge_table(report: Any) -> Table:
    """Per merge model: rows, already merged, sent, merged, failed, API calls."""
    numbers = ("rows", "already merged", "sent", "merged", "failed", "API calls")
    rows = []
    for r in report.results:
        sent = str(r.would.get("merge", 0)) + " (would)" if report.dry_run and r.would else str(r.sent)
        rows.append((r.name, r.object_name, r.status, f"{r.considered:,}", f"{r.already_merged:,}", sent,
                     f"{r.merged:,}", f"{r.failed:,}", str(r.api_calls)))
    title = f"lht merge ({report.target})" + (" --dry-run (nothing sent)" if report.dry_run else "")
    return _table(title, ("model", "object", "outcome", *numbers), numbers, rows)


def merge_lines(report: Any) -> list[str]:
    """Every refusal and error of the merge models."""
    return _error_lines(report.results)


def jobs_table(found: Sequence[dict[str, Any]], fields: Sequence[str]) -> Table:
    """Bulk API 2.0 jobs, one row each, with ``fields`` as columns."""
    rows = [[str(job.get(c, "")) for c in fields] for job in found]
    return _table(f"Bulk API 2.0 jobs ({len(found)})", fields, (), rows)
