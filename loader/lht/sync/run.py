"""`lht sync`: extract the registered objects into staging, in parallel, under one run lock."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lht.catalog import Catalog
from lht.clock import utcnow
from lht.config import credentials_from_env, settings_from_env
from lht.constants import DESCRIBE_TABLE, PUSH_RESULTS_TABLE, RUNS_TABLE, STATE_TABLE
from lht.errors import ApiLimitError, ConfigError, LhtError, WarehouseError
from lht.project import Project, load_project
from lht.salesforce.client import connect as connect_salesforce
from lht.sync.objectsync import Progress, RunContext, deleted_window, sync_object
from lht.sync.prefetch import Prefetcher, candidate
from lht.sync.report import FAILED, SKIPPED, ObjectResult, RunReport
from lht.warehouse.bulkjobs import BulkJobStore
from lht.warehouse.connection import Warehouse, load_target
from lht.warehouse.connection import connect as connect_warehouse
from lht.warehouse.lock import run_lock
from lht.warehouse.results import ensure_push_results
from lht.warehouse.runs import record_run
from lht.warehouse.snapshot import SnapshotKeeper
from lht.warehouse.state import Loaded, StateStore

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
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Run one sync and return its report. Every setting, credential and profile
    ``env_var()`` is read from ``env`` (default: the process environment).

    Configuration problems (project, credentials, profile, login, lock) raise before anything
    is written: Salesforce is logged in to before the warehouse is touched. Per-object
    failures are reported in the returned report, never raised.
    """
    if request.threads < 1:
        raise ConfigError("--threads must be at least 1.")
    project = load_project(request.project_dir)
    names = objects_to_sync(project, request.objects)
    settings = settings_from_env(env)
    credentials = credentials_from_env(settings.environ)
    target = load_target(project.project_dir, request.profiles_dir, request.target, settings)
    report = RunReport(started_at=utcnow(), target=target.name)
    client = connect_salesforce(credentials, settings)
    # Snowflake: the run lock is a row claimed on the run's own session (one login, not two);
    # DuckDB: the lock file is taken before the database file is opened.
    shared = connect_warehouse(target) if target.kind == "snowflake" else None
    try:
        with run_lock(shared or target, wait=request.wait_for_lock):
            warehouse = shared or connect_warehouse(target)
            keeper = SnapshotKeeper(
                warehouse, project.objects
            )  # `lht status` reads it while the file is busy
            try:
                store = StateStore(warehouse, create=False)
                loaded = _load_state(warehouse, store, names)
                catalog = Catalog(
                    loaded.describes, settings.describe_max_age_seconds, report.started_at
                )
                catalog.check_metadata(client, names)
                ctx = RunContext(
                    client=client,
                    warehouse=warehouse,
                    settings=settings,
                    catalog=catalog,
                    progress=keeper.watch(progress),
                    states=loaded.states,
                    run_id=report.run_id,
                    open_bulk_jobs=loaded.open_bulk_jobs,
                )
                ctx.prefetcher = _prefetch(ctx, project, names, request)
                report.results = _sync_all(ctx, project, names, request)
                _save_settled(store, ctx, report.results)
                report.finish(client.total_calls, client.api_usage, utcnow())
                newest = (
                    {"newest_batch": loaded.newest_batch[RUNS_TABLE]}
                    if RUNS_TABLE in loaded.newest_batch
                    else {}
                )
                record_run(warehouse, report.run_rows(), **newest)  # the run history (_lht_runs)
            finally:
                keeper.close()
                if shared is None:
                    warehouse.close()
                report.finished_at = report.finished_at or utcnow()
    finally:
        if shared is not None:
            shared.close()
    return report


def objects_to_sync(project: Project, requested: Sequence[str]) -> list[str]:
    """The objects a run syncs: those ``requested`` (resolved), else every registered one."""
    if requested:
        return project.resolve(requested)
    if not project.objects:
        raise ConfigError(
            f"No objects are registered in {project.project_dir}. Register one with "
            "`lht add Account` (it writes the dbt model), then run `lht sync`."
        )
    return list(project.objects)


def _save_settled(store: StateStore, ctx: RunContext, results: list[ObjectResult]) -> None:
    """Save the states of the objects that wrote nothing, in one statement; if the warehouse
    refuses, those objects failed (their next run checks the same window again)."""
    try:
        store.save_all(ctx.settled)
    except LhtError as exc:
        logger.error("Saving the state of %d object(s) failed: %s", len(ctx.settled), exc)
        names = {state.object_name.lower() for state in ctx.settled}
        for result in results:
            if result.object_name.lower() in names:
                result.status, result.error = FAILED, f"saving its state failed: {exc}"


def _load_state(warehouse: Warehouse, store: StateStore, names: Sequence[str]) -> Loaded:
    """Every object's state, the cached describes of ``names``, the run history's newest
    batch and the objects with Bulk jobs a killed run left open, in one statement, which also
    finds the push results table; on a warehouse that
    lacks one of the loader's tables (a first run), create them and read again."""
    try:
        return store.load(
            names, newest_batch_of=[RUNS_TABLE], require=[PUSH_RESULTS_TABLE], open_bulk_jobs=True
        )
    except WarehouseError as exc:
        logger.debug("Creating the loader's tables (%s)", exc)
    present = {table for _, table in warehouse.table_names([warehouse.staging_schema])}
    # the push change-set views read it live: it exists before the first `dbt build`
    ensure_push_results(warehouse)
    BulkJobStore(warehouse)  # the Bulk jobs the objects start, which a killed run leaves open
    store.create()
    if STATE_TABLE in present or DESCRIBE_TABLE in present:
        return store.load(names, open_bulk_jobs=True)
    return Loaded()  # tables just created: nothing to read


def _prefetch(
    ctx: RunContext, project: Project, names: Sequence[str], request: SyncRequest
) -> Prefetcher:
    """Ask the change checks of every incremental object in grouped Composite calls."""
    prefetcher = Prefetcher(ctx.client, enabled=ctx.settings.composite)
    if not prefetcher.enabled or request.full_refresh:
        return prefetcher
    taken_at = ctx.client.server_now()  # Salesforce's clock: the objects' windows start here
    found = []
    for name in names:
        options = project.objects[name]
        cand = candidate(
            ctx.catalog,
            ctx.states,
            name,
            options,
            deleted_window=lambda state, opts: deleted_window(state, opts, ctx.settings, taken_at),
        )
        if cand is not None:
            found.append(cand)
    try:
        prefetcher.run(found, taken_at)
    except ApiLimitError as exc:
        logger.error("%s", exc)
        ctx.stop.set()  # no object starts: the budget or the org's quota is spent
        ctx.stop_reason = str(exc)
    return prefetcher


def _sync_all(
    ctx: RunContext, project: Project, names: list[str], request: SyncRequest
) -> list[ObjectResult]:
    def one(name: str) -> ObjectResult:
        if ctx.stop.is_set():
            return ObjectResult(
                object_name=name,
                status=SKIPPED,
                error=f"not started: {ctx.stop_reason or 'the API budget was reached'}",
            )
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
