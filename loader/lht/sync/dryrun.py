"""`lht sync --dry-run`: the plan of a sync, per object, at the cost of describe and count calls.

For each object: full or incremental (from ``_lht_state``, read-only), REST or Bulk API 2.0
(the rule of :mod:`lht.salesforce.extract`: Bulk above ``LHT_REST_MAX_ROWS``, or for a query
too long for REST; REST for what Bulk cannot read or when the org's daily Bulk query jobs
are spent), the fields a fresh describe adds or removes against the one cached at the last
sync, and the calls the sync expects to spend. Salesforce sees describe calls, one
``SELECT COUNT()`` per object (two when new fields need a backfill) and one ``limits``
call; the warehouse is opened read-only (a warehouse never synced counts as empty) and
nothing is written anywhere; no run lock is taken.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from math import ceil
from typing import Any

from lht.catalog import Catalog
from lht.clock import utcnow
from lht.config import Settings, credentials_from_env, settings_from_env
from lht.errors import LhtError, WarehouseMissingError
from lht.project import ObjectOptions, load_project
from lht.salesforce.client import SalesforceClient
from lht.salesforce.client import connect as connect_salesforce
from lht.salesforce.describe import ObjectPlan, plan_object
from lht.salesforce.extract import MAX_URI_BYTES, REST_PAGE_ROWS, rest_uri_bytes
from lht.salesforce.queryjobs import operation_of, soql_digest
from lht.salesforce.soql import build_count_soql, build_soql
from lht.sync.objectsync import deleted_window
from lht.sync.run import SyncRequest, objects_to_sync
from lht.warehouse.bulkjobs import BulkJobStore
from lht.warehouse.connection import Warehouse, load_target
from lht.warehouse.reader import open_for_reading, reader_target
from lht.warehouse.state import ObjectState, StateStore

logger = logging.getLogger(__name__)

#: Polls of a Bulk job counted in the estimate (a job of a few minutes takes about 10).
BULK_POLLS = 5


@dataclass
class PlannedObject:
    """One object's line of the plan."""

    object_name: str
    mode: str = "full"  # full | incremental
    engine: str | None = None  # rest | bulk
    #: rows the records query matches now (its COUNT())
    rows: int | None = None
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)
    #: calls the sync is expected to spend on this object, and on what
    expected_calls: int | None = None
    calls: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class DryRunReport:
    """The plan of one ``lht sync``: nothing was extracted nor written."""

    started_at: datetime
    target: str | None = None
    objects: list[PlannedObject] = field(default_factory=list)
    #: calls the dry run itself spent (describe, count, limits)
    api_calls: int = 0
    bulk_query_jobs_remaining: int | None = None

    @property
    def exit_code(self) -> int:
        """0 when every object could be planned, else 1."""
        return 0 if all(o.error is None for o in self.objects) else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["dry_run"] = True
        data["expected_calls"] = sum(o.expected_calls or 0 for o in self.objects)
        data["exit_code"] = self.exit_code
        return data


def dry_run(request: SyncRequest, *, env: Mapping[str, str] | None = None) -> DryRunReport:
    """The plan of ``lht sync`` for ``request`` (see the module docstring)."""
    project = load_project(request.project_dir)
    names = objects_to_sync(project, request.objects)
    settings = settings_from_env(env)
    credentials = credentials_from_env(settings.environ)
    target = load_target(project.project_dir, request.profiles_dir, request.target, settings)
    report = DryRunReport(started_at=utcnow(), target=target.name)
    client = connect_salesforce(credentials, settings)
    wh = _open(target, project.project_dir)
    try:
        states, cached, open_jobs = _read_warehouse(wh, names)
        catalog = Catalog(cached, settings.describe_max_age_seconds, report.started_at)
        remaining = client.limits().get("DailyBulkV2QueryJobs", {}).get("Remaining")
        report.bulk_query_jobs_remaining = None if remaining is None else int(remaining)
        for name in names:
            line = PlannedObject(object_name=name)
            try:
                _plan_one(
                    line,
                    client.for_object(name),
                    settings,
                    project.objects[name],
                    states.get(name.lower()),
                    catalog,
                    request,
                    report.bulk_query_jobs_remaining,
                    open_jobs,
                )
            except LhtError as exc:
                line.error = str(exc)
            report.objects.append(line)
    finally:
        if wh is not None:
            wh.close()
    report.api_calls = client.total_calls
    return report


def _open(target: Any, project_dir: Any) -> Warehouse | None:
    try:
        return open_for_reading(reader_target(target, project_dir))
    except WarehouseMissingError:
        return None  # never synced: every object is a full load


def _read_warehouse(
    wh: Warehouse | None, names: list[str]
) -> tuple[dict[str, ObjectState], dict[str, tuple[datetime, dict]], dict[str, str]]:
    """Each object's state, its cached describe, and the open Bulk jobs (digest -> job id)."""
    if wh is None:
        return {}, {}, {}
    store = StateStore(wh, create=False)
    has_state, has_describes = store.exists()
    states = {s.object_name.lower(): s for s in store.all()} if has_state else {}
    cached = store.get_describes(names) if has_describes else {}
    jobs = BulkJobStore(wh, create=False)
    open_jobs = {}
    if jobs.exists():
        open_jobs = {
            f"{r.object_name.lower()}:{r.operation}:{r.soql_digest}": r.job_id
            for r in jobs.rows(limit=10_000)
            if r.status == "open"
        }
    return states, cached, open_jobs


def _plan_one(
    line: PlannedObject,
    client: SalesforceClient,
    settings: Settings,
    options: ObjectOptions,
    state: ObjectState | None,
    catalog: Catalog,
    request: SyncRequest,
    bulk_left: int | None,
    open_jobs: dict[str, str],
) -> None:
    describe = client.describe(line.object_name)
    plan = plan_object(describe)
    line.object_name = plan.object_name
    line.calls["describe"] = 0 if catalog.fresh(plan.object_name) is not None else 1
    cached = catalog.cached(plan.object_name)
    if cached is not None:
        old = {f.name.lower(): f.name for f in plan_object(cached).fields if f.loadable}
        new = {f.name.lower(): f.name for f in plan.fields if f.loadable}
        line.fields_added = [new[k] for k in new if k not in old]
        line.fields_removed = [old[k] for k in old if k not in new]
    full = (
        request.full_refresh
        or state is None
        or state.watermark is None
        or plan.watermark_field is None
    )
    line.mode = "full" if full else "incremental"
    since = None if full else state.watermark  # type: ignore[union-attr]
    line.rows = _count(client, plan, since, options.where)
    soql = build_soql(plan, since=since, where=options.where)
    too_long = rest_uri_bytes(soql, True) > MAX_URI_BYTES
    bulk_ok = plan.bulk_supported and not plan.rest_only
    if full:
        line.calls["count"] = 1
    wants_bulk = bulk_ok and (too_long or line.rows > settings.rest_max_rows)
    reuse = open_jobs.get(f"{plan.object_name.lower()}:{operation_of(True)}:{soql_digest(soql)}")
    if wants_bulk and reuse is not None:
        line.engine = "bulk"
        line.notes.append(
            f"an open Bulk job of this query ({reuse}) is reused if Salesforce still has it"
        )
        line.calls.update(
            check_job=1,
            poll=1,
            results_pages=_pages(line.rows, settings.bulk_page_records),
            delete=1,
        )
    elif wants_bulk and bulk_left == 0:
        line.engine = "rest"
        line.notes.append(
            "the org's daily Bulk query jobs are spent (DailyBulkV2QueryJobs): read by REST"
        )
        line.calls["rest_pages"] = _pages(line.rows, REST_PAGE_ROWS)
    elif wants_bulk:
        line.engine = "bulk"
        line.calls.update(
            create_job=1,
            poll=BULK_POLLS,
            results_pages=_pages(line.rows, settings.bulk_page_records),
            delete=1,
        )
        if not full:
            line.calls["first_rest_page"] = 1
    else:
        line.engine = "rest"
        line.calls["rest_pages"] = _pages(line.rows, REST_PAGE_ROWS)
        if not bulk_ok and line.rows > settings.rest_max_rows:
            line.notes.append("Bulk API 2.0 cannot read it: read by REST")
    if not full and state is not None and plan.delete_strategy == "getdeleted":
        window = deleted_window(state, options, settings, client.server_now())
        if window is not None:
            line.calls["get_deleted"] = 1
    if line.fields_added and not full:
        rows = _count(client, plan, None, options.where)
        line.calls["backfill"] = _pages(
            rows, REST_PAGE_ROWS if rows <= settings.rest_max_rows else settings.bulk_page_records
        )
        line.notes.append(f"new fields backfilled for all {rows:,} records")
    line.expected_calls = sum(line.calls.values())


def _count(
    client: SalesforceClient, plan: ObjectPlan, since: datetime | None, where: str | None
) -> int:
    soql = build_count_soql(plan, since=since, where=where)
    return int(
        client.query(soql, include_deleted=True, what=f"Counting {plan.object_name}").get(
            "totalSize"
        )
        or 0
    )


def _pages(rows: int, per_page: int) -> int:
    return max(1, ceil(rows / max(per_page, 1)))
