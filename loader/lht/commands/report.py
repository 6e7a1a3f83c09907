"""`lht report`: one self-contained HTML page from the run history (``_lht_runs``).

Reads the warehouse only (no Salesforce call, no dbt build needed): the runs of the last
``days`` days, each registered object's last successful sync (however old) and the
freshness thresholds of the dbt project. The page (:mod:`lht.commands.reportpage`) needs
no network when it is opened: its charts are drawn by plotly.js, embedded whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lht.clock import utcnow
from lht.commands.history import RunSummary, summarize
from lht.commands.status import freshness_thresholds
from lht.config import settings_from_env
from lht.errors import ConfigError
from lht.project import load_project
from lht.warehouse.connection import connect, load_target
from lht.warehouse.runs import last_successes, read_runs

DEFAULT_DAYS = 30


@dataclass
class ReportData:
    """What the page shows (times UTC)."""

    target: str
    generated_at: datetime
    since: datetime
    warn_hours: float
    error_hours: float
    #: every ``_lht_runs`` row of the runs started since ``since``, newest run first
    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: list[RunSummary] = field(default_factory=list)
    #: each registered object (and each object synced) -> its last successful sync, or None
    last_success: dict[str, datetime | None] = field(default_factory=dict)


def collect_report(
    *,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target: str | None = None,
    days: int = DEFAULT_DAYS,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ReportData:
    """The run history of the profile's target over the last ``days`` days."""
    if days < 1:
        raise ConfigError(f"--days must be at least 1, not {days}.")
    project = load_project(project_dir)
    warn_hours, error_hours = freshness_thresholds(project)
    where = load_target(project.project_dir, profiles_dir, target, settings_from_env(env))
    now = now or utcnow()
    since = now - timedelta(days=days)
    rows: list[dict[str, Any]] = []
    synced: dict[str, datetime] = {}
    if where.kind != "duckdb" or (
        where.path is not None and where.path.is_file()
    ):  # never create one
        wh = connect(where, read_only=True)
        try:
            rows = read_runs(wh, since=since)
            synced = last_successes(wh)
        finally:
            wh.close()
    by_lower = {name.lower(): when for name, when in synced.items()}
    last_success: dict[str, datetime | None] = {
        name: by_lower.pop(name.lower(), None) for name in project.objects
    }
    last_success.update({name: when for name, when in synced.items() if name.lower() in by_lower})
    return ReportData(
        target=where.name,
        generated_at=now,
        since=since,
        warn_hours=warn_hours,
        error_hours=error_hours,
        rows=rows,
        runs=summarize(rows),
        last_success=last_success,
    )


def write_report(data: ReportData, output: Path) -> Path:
    """Write the page to ``output`` (parent folders created); return its absolute path."""
    from lht.commands.reportpage import render

    output = Path(output)
    if output.is_dir():
        raise ConfigError(
            f"{output} is a folder: give --output a file name, e.g. {output / 'lht-report.html'}."
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(data), encoding="utf-8")
    return output.resolve()
