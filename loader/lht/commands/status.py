"""`lht status`: where each registered object stands, read from the warehouse alone.

Per object: the last successful sync and its watermark (``_lht_state``), the rows in the
main table, the staged rows not merged yet (batch id after the main table's newest), the
last run's API calls, and freshness: the age of the last successful sync against the
source freshness thresholds of the dbt project (vars ``lht_freshness_warn_hours`` and
``lht_freshness_error_hours``). No Salesforce call is made, and nothing is written: a
DuckDB file is opened read-only, found as :mod:`lht.warehouse.reader` says, never created. Then the last runs of sync, push
and merge, from the run history (``_lht_runs``).

While a sync (or a ``dbt build``) has the DuckDB file open, it cannot be read: the report
then comes from the snapshot the sync keeps beside it (:mod:`lht.warehouse.snapshot`),
saying who runs since when and what each object is doing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lht.clock import utcnow
from lht.commands.history import RunSummary
from lht.commands.history import summarize as summarize_runs
from lht.config import settings_from_env
from lht.dbtfiles import project_vars
from lht.errors import ConfigError, WarehouseBusyError
from lht.project import Project, load_project
from lht.warehouse.connection import load_target
from lht.warehouse.lock import lock_holder
from lht.warehouse.reader import open_for_reading, reader_target
from lht.warehouse.runs import read_runs
from lht.warehouse.snapshot import TableSummary, main_table_summary, read_snapshot, summarize

__all__ = ["ObjectStatus", "StatusReport", "collect_status", "main_table_summary"]

logger = logging.getLogger(__name__)

DEFAULT_WARN_HOURS = 12.0
DEFAULT_ERROR_HOURS = 24.0

FRESH, WARN, ERROR, NEVER, UNKNOWN = "pass", "warn", "error", "never synced", "unknown"
#: Runs shown under "last runs".
LAST_RUNS = 10


@dataclass
class ObjectStatus:
    """One object's line of ``lht status`` (times UTC; ``main_rows`` None: not built yet)."""

    object_name: str
    history: bool = False
    last_success_at: datetime | None = None
    watermark_field: str | None = None
    watermark: datetime | None = None
    main_rows: int | None = None
    unmerged_rows: int = 0
    last_run_status: str | None = None
    last_run_rows: int | None = None
    last_run_api_calls: int | None = None
    age_hours: float | None = None
    freshness: str = NEVER
    #: while a sync runs: what this object is doing (rows written so far, a Bulk job's state)
    activity: str | None = None


@dataclass
class StatusReport:
    """``lht status`` for one target.

    ``as_of`` is None when the warehouse was read now; else the time of the snapshot the
    report comes from (the warehouse was busy), and ``busy`` says with what: ``running`` is
    the sync holding the run lock (owner, host, pid, acquired_at), when one does.
    """

    target: str
    checked_at: datetime
    warn_after_hours: float
    error_after_hours: float
    objects: list[ObjectStatus] = field(default_factory=list)
    as_of: datetime | None = None
    busy: str | None = None
    #: the program holding the DuckDB file and its pid, when DuckDB says (``dbt build ... (pid 123)``)
    holder: str | None = None
    running: dict[str, Any] | None = None
    #: the newest runs of lht sync, push and merge on this target (``_lht_runs``), newest first
    last_runs: list[RunSummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC strings)."""

        def clean(value: Any) -> Any:
            return value.isoformat() if isinstance(value, datetime) else value

        data = {k: clean(v) for k, v in asdict(self).items() if k not in ("objects", "last_runs")}
        data["objects"] = [{k: clean(v) for k, v in asdict(o).items()} for o in self.objects]
        data["last_runs"] = [run.to_dict() for run in self.last_runs]
        return data


def freshness_thresholds(project: Project) -> tuple[float, float]:
    """(warn, error) hours from the dbt project's vars, else 12 and 24 as shipped."""
    variables = project_vars(project.project_dir)

    def hours(name: str, default: float) -> float:
        value = variables.get(name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"dbt_project.yml: vars.{name} must be a number of hours, not {value!r}."
            ) from None

    return hours("lht_freshness_warn_hours", DEFAULT_WARN_HOURS), hours(
        "lht_freshness_error_hours", DEFAULT_ERROR_HOURS
    )


def object_status(
    summary: TableSummary, *, now: datetime, warn_hours: float, error_hours: float
) -> ObjectStatus:
    """The status line of one object, from its summary."""
    status = ObjectStatus(
        object_name=summary.object_name,
        main_rows=summary.main_rows,
        unmerged_rows=summary.unmerged_rows,
    )
    state = summary.state
    if state is not None:
        status.last_success_at = state.last_success_at
        status.watermark_field, status.watermark = state.watermark_field, state.watermark
        status.last_run_status = state.last_run_status
        status.last_run_rows, status.last_run_api_calls = (
            state.last_run_rows,
            state.last_run_api_calls,
        )
    if status.last_success_at is not None:
        status.age_hours = round((now - status.last_success_at).total_seconds() / 3600, 2)
        status.freshness = (
            ERROR
            if status.age_hours >= error_hours
            else WARN
            if status.age_hours >= warn_hours
            else FRESH
        )
    return status


def collect_status(
    objects: Sequence[str] = (),
    *,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target: str | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> StatusReport:
    """The status of the registered objects (or of ``objects``) on the profile's target.

    Raises WarehouseMissingError (exit 2) when there is no warehouse to read yet.
    """
    project = load_project(project_dir)
    names = project.resolve(objects) if objects else list(project.objects)
    if not names:
        raise ConfigError(
            f"No objects are registered in {project.project_dir}: is it lht's dbt project? "
            "Register one with `lht add Account`, or point --project-dir at lht's project."
        )
    warn_hours, error_hours = freshness_thresholds(project)
    settings = settings_from_env(env)
    where = reader_target(
        load_target(project.project_dir, profiles_dir, target, settings), project.project_dir
    )
    now = now or utcnow()
    report = StatusReport(
        target=where.name,
        checked_at=now,
        warn_after_hours=warn_hours,
        error_after_hours=error_hours,
    )
    activity: dict[str, str] = {}
    try:
        wh = open_for_reading(where)
    except WarehouseBusyError as exc:
        report.holder = f"{exc.holder} (pid {exc.pid})" if exc.holder and exc.pid else exc.holder
        summaries, activity = _from_snapshot(report, where, names, str(exc))
    else:
        try:
            summaries = summarize(wh, names, settings.schema)
            report.last_runs = summarize_runs(read_runs(wh, last=LAST_RUNS))
        finally:
            wh.close()
    for name in names:
        known = summaries.get(name.lower())
        summary = known or TableSummary(object_name=name)
        summary.object_name = name
        line = object_status(summary, now=now, warn_hours=warn_hours, error_hours=error_hours)
        line.history = project.objects[name].history
        line.activity = activity.get(name.lower())
        if known is None and report.busy:
            line.freshness = UNKNOWN  # the warehouse is busy and no snapshot knows this object
        report.objects.append(line)
    return report


def _from_snapshot(
    report: StatusReport, where: Any, names: Sequence[str], busy: str
) -> tuple[dict[str, TableSummary], dict[str, str]]:
    """The summaries and activity of the snapshot a running sync keeps (the warehouse is busy)."""
    report.running = lock_holder(where)
    report.busy = busy
    snapshot = read_snapshot(where)
    if snapshot is None:
        logger.warning(
            "%s; no status snapshot beside it yet, so only what is running is known.", busy
        )
        return {}, {}
    report.as_of = snapshot.taken_at
    return snapshot.objects, (snapshot.activity if report.running else {})
