"""`lht status`: where each registered object stands, read from the warehouse alone.

Per object: the last successful sync and its watermark (``_lht_state``), the rows in the
main table, the staged rows not merged yet (batch id after the main table's newest), the
last run's API calls, and freshness: the age of the last successful sync against the
source freshness thresholds of the dbt project (vars ``lht_freshness_warn_hours`` and
``lht_freshness_error_hours``). Then the last runs of sync, push and merge, from the run
history (``_lht_runs``). No Salesforce call is made.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lht.constants import BATCH_ID_COLUMN, DEFAULT_SCHEMA, STATE_TABLE
from lht.commands.history import RunSummary, summarize
from lht.errors import ConfigError
from lht.project import Project, load_project
from lht.warehouse.runs import read_runs
from lht.warehouse.staging import staged_rows_after
from lht.warehouse.state import ObjectState, StateStore
from lht.names import check_identifier
from lht.warehouse.connection import Warehouse, connect, load_target

logger = logging.getLogger(__name__)

DEFAULT_WARN_HOURS = 12.0
DEFAULT_ERROR_HOURS = 24.0

FRESH, WARN, ERROR, NEVER = "pass", "warn", "error", "never synced"
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


@dataclass
class StatusReport:
    """``lht status`` for one target."""

    target: str
    checked_at: datetime
    warn_after_hours: float
    error_after_hours: float
    objects: list[ObjectStatus] = field(default_factory=list)
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
    try:
        config = yaml.safe_load((project.project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{project.project_dir / 'dbt_project.yml'} is not valid YAML: {exc}") from None
    variables = config.get("vars") or {}

    def hours(name: str, default: float) -> float:
        value = variables.get(name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"dbt_project.yml: vars.{name} must be a number of hours, not {value!r}.") from None

    return hours("lht_freshness_warn_hours", DEFAULT_WARN_HOURS), hours("lht_freshness_error_hours", DEFAULT_ERROR_HOURS)


def main_schema(env: Mapping[str, str] = os.environ) -> str:
    """The schema of the main tables: env ``LHT_SCHEMA``, else ``salesforce``."""
    return check_identifier(env.get("LHT_SCHEMA") or DEFAULT_SCHEMA, "main schema")


def main_table_summary(wh: Warehouse, object_name: str, schema: str) -> tuple[int, str | None] | None:
    """(rows, newest merged batch id) of an object's main table, or None when it is not built."""
    table = object_name.lower()
    if not wh.columns(table, schema):
        return None
    rows = wh.execute(f"SELECT count(*), max({wh.quote(BATCH_ID_COLUMN)}) FROM {wh.table(table, schema)}")
    count, newest = rows[0]
    return int(count), (str(newest) if newest is not None else None)


def object_status(wh: Warehouse, name: str, state: ObjectState | None, schema: str, *,
                  now: datetime, warn_hours: float, error_hours: float) -> ObjectStatus:
    """The status line of one object."""
    status = ObjectStatus(object_name=name)
    summary = main_table_summary(wh, name, schema)
    newest_merged = None
    if summary is not None:
        status.main_rows, newest_merged = summary
    status.unmerged_rows = staged_rows_after(wh, name, newest_merged)
    if state is not None:
        status.last_success_at = state.last_success_at
        status.watermark_field, status.watermark = state.watermark_field, state.watermark
        status.last_run_status = state.last_run_status
        status.last_run_rows, status.last_run_api_calls = state.last_run_rows, state.last_run_api_calls
    if status.last_success_at is not None:
        status.age_hours = round((now - status.last_success_at).total_seconds() / 3600, 2)
        status.freshness = (ERROR if status.age_hours >= error_hours
                            else WARN if status.age_hours >= warn_hours else FRESH)
    return status


def collect_status(objects: Sequence[str] = (), *, project_dir: Path | None = None,
                   profiles_dir: Path | None = None, target: str | None = None,
                   env: Mapping[str, str] = os.environ, now: datetime | None = None) -> StatusReport:
    """The status of the registered objects (or of ``objects``) on the profile's target."""
    project = load_project(project_dir)
    names = project.resolve(objects) if objects else list(project.objects)
    warn_hours, error_hours = freshness_thresholds(project)
    schema = main_schema(env)
    where = load_target(project.project_dir, profiles_dir, target)
    now = now or datetime.now(UTC)
    report = StatusReport(target=where.name, checked_at=now, warn_after_hours=warn_hours,
                          error_after_hours=error_hours)
    wh = connect(where, env.get("LHT_STAGING_SCHEMA") or None)
    try:
        states = _states(wh)
        for name in names:
            line = object_status(wh, name, states.get(name.lower()), schema, now=now,
                                 warn_hours=warn_hours, error_hours=error_hours)
            line.history = project.objects[name].history
            report.objects.append(line)
        report.last_runs = summarize(read_runs(wh, last=LAST_RUNS))
    finally:
        wh.close()
    return report


def _states(wh: Warehouse) -> dict[str, ObjectState]:
    """Every object's saved state by lower-case name; nothing (and nothing created) on a new warehouse."""
    if not wh.columns(STATE_TABLE):
        return {}
    return {s.object_name.lower(): s for s in StateStore(wh).all()}
