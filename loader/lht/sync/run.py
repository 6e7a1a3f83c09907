"""`lht sync`: extract the registered objects into staging, in parallel, under one run lock."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lht.config import credentials_from_env, settings_from_env
from lht.errors import ApiLimitError, ConfigError
from lht.warehouse.lock import run_lock
from lht.warehouse.runs import record_run
from lht.sync.objectsync import Progress, RunContext, deleted_window, sync_object, utcnow
from lht.sync.prefetch import Prefetcher, candidate
from lht.project import Project, load_project
from lht.sync.report import SKIPPED, ObjectResult, RunReport
from lht.salesforce.client import connect as connect_salesforce
from lht.warehouse.state import StateStore
from lht.warehouse.connection import Warehouse, load_target
from lht.warehouse.connection import connect as connect_warehouse

logger = logging.getLogger(__name__)

DEFAULT_THREADS = 4


@dataclass(frozen=True)
class SyncRequest:
    """What the user asked ``lht sync`` to do."""

    objects: Sequence[str] = ()
    full_refresh: bool = False
    refresh_formulas: bool = False
    threads: int = DEFAULT_THREADS
    target: str | None = None
    profiles_dir: Path | None = None
    project_dir: Path | None = None
    wait_for_lock: bool = False


def run_sync(
    request: SyncRequest,
    *,
    env: Mapping[str, str] = os.environ,
    progress: Progress | None = None,
) -> RunReport:
    """Run one sync and return its report.

    Configuration problems (project, credentials, profile, login, lock) raise before anything
    is written: Salesforce is logged in to before the warehouse is touched. Per-object
    failures are reported in the returned report, never raised.
    """
    if request.threads < 1:
        raise ConfigError("--threads must be at least 1.")
    project = load_project(request.project_dir)
    names = _objects_to_sync(project, request.objects)
    settings = settings_from_env(env)
    credentials = credentials_from_env(env)
    target = load_target(project.project_dir, request.profiles_dir, request.target)
    report = RunReport(started_at=utcnow(), target=target.name)
    client = connect_salesforce(credentials, settings)
    with run_lock(target, wait=request.wait_for_lock):
        warehouse = connect_warehouse(target)
        try:
            ctx = RunContext(client=client, warehouse=warehouse, settings=settings, progress=progress)
            ctx.describe_stale = _describe_stale(ctx, warehouse, names)
            ctx.prefetcher = _prefetch(ctx, warehouse, project, names, request)
            report.results = _sync_all(ctx, project, names, request)
            report.finish(client.total_calls, client.api_usage, utcnow())
            record_run(warehouse, report.run_rows())  # the run history (_lht_runs)
        finally:
            warehouse.close()
            report.finished_at = report.finished_at or utcnow()
    return report


def _objects_to_sync(project: Project, requested: Sequence[str]) -> list[str]:
    if requested:
        return project.resolve(requested)
    if not project.objects:
        raise ConfigError(
            f"No objects are registered in {project.project_dir}. Register one with "
            "`lht add Account` (it writes the dbt model), then run `lht sync`."
        )
    return list(project.objects)


def _describe_stale(ctx: RunContext, warehouse: Warehouse, names: Sequence[str]) -> bool:
    """One describeGlobal If-Modified-Since call tells whether cached describes are stale.

    Skipped (no call spent) when some object has no cached describe yet: it will be described
    anyway, and the others' cache ages still apply.
    """
    store = StateStore(warehouse)
    fetched = [store.get_describe(name) for name in names]
    if any(entry is None for entry in fetched):
        return False
    oldest = min(entry[0] for entry in fetched if entry is not None)
    changed = ctx.client.describe_global_changed_since(oldest)
    if changed:
        logger.info("Salesforce metadata changed since %s: re-describing", oldest.isoformat())
    return changed


def _prefetch(ctx: RunContext, warehouse: Warehouse, project: Project, names: Sequence[str],
              request: SyncRequest) -> Prefetcher:
    """Ask the change checks of every incremental object in grouped Composite calls."""
    prefetcher = Prefetcher(ctx.client, enabled=ctx.settings.composite)
    if not prefetcher.enabled or request.full_refresh:
        return prefetcher
    store = StateStore(warehouse)
    taken_at = ctx.client.server_now()  # Salesforce's clock: the objects' windows start here
    found = []
    for name in names:
        options = project.objects[name]
        cand = candidate(store, name, options, describe_fresh=not ctx.describe_stale,
                         max_age=ctx.settings.describe_max_age_seconds, now=utcnow(),
                         deleted_window=lambda state, opts: deleted_window(state, opts, ctx.settings, taken_at))
        if cand is not None:
            found.append(cand)
    try:
        prefetcher.run(found, taken_at)
    except ApiLimitError as exc:
        logger.error("%s", exc)
        ctx.stop.set()  # no object starts: the budget or the org's quota is spent
        ctx.stop_reason = str(exc)
    return prefetcher


def _sync_all(ctx: RunContext, project: Project, names: list[str], request: SyncRequest) -> list[ObjectResult]:
    def one(name: str) -> ObjectResult:
        if ctx.stop.is_set():
            return ObjectResult(object_name=name, status=SKIPPED,
                                error=f"not started: {ctx.stop_reason or 'the API budget was reached'}")
        result = sync_object(
            ctx,
            name,
            project.objects[name],
            full_refresh=request.full_refresh,
            refresh_formulas=request.refresh_formulas,
        )
        return result

    workers = max(1, min(request.threads, len(names)))
    if workers == 1:
        return [one(name) for name in names]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lht-sync") as pool:
        return list(pool.map(one, names))

