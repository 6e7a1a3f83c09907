"""Sync one object: describe, extract, write staging, write delete markers, then save state.

State is saved last, after every batch that carries it has been written, so a failure
anywhere leaves the watermark where it was and the next run re-extracts (duplicates in
staging are harmless: the dbt models deduplicate).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from lht.catalog import Catalog
from lht.clock import parse_sf_datetime, utcnow
from lht.config import Settings
from lht.constants import KIND_DELETED, KIND_FIELDS, KIND_FILTERED, KIND_FORMULA, KIND_RECORD
from lht.errors import ApiLimitError, AuthenticationError, LhtError
from lht.lazy import pa, pc
from lht.project import ObjectOptions
from lht.salesforce.bulk import delete_job
from lht.salesforce.client import DeletedWindowError, SalesforceClient
from lht.salesforce.describe import ObjectPlan, drop_field, plan_object
from lht.salesforce.extract import Extraction, FieldsChangedError, extract
from lht.sync.jobledger import WarehouseJobLedger
from lht.sync.prefetch import Prefetched, Prefetcher
from lht.sync.report import FAILED, OK, ObjectResult
from lht.warehouse.bulkjobs import BulkJobStore
from lht.warehouse.connection import Warehouse
from lht.warehouse.staging import ids_missing_since, staged_ids
from lht.warehouse.state import ObjectState, StateStore
from lht.warehouse.writer import append_session, new_batch_id, write_batch

logger = logging.getLogger(__name__)


class Progress(Protocol):
    """Progress callback: object name, rows written so far, rows expected (or None), and what
    the object is doing (``describing``, a Bulk job's state and rows processed, ...)."""

    def __call__(
        self, name: str, rows: int, expected: int | None, phase: str | None = None
    ) -> None: ...


MARKER_CHUNK = 100_000
MAX_SCHEMA_RETRIES = 3


@dataclass
class RunContext:
    """What every object's sync shares within one run."""

    client: SalesforceClient
    warehouse: Warehouse
    settings: Settings
    #: the run's describes (read once, one freshness rule)
    catalog: Catalog
    progress: Progress | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    #: the run's grouped change checks (lht.sync.prefetch), when there are any
    prefetcher: Prefetcher | None = None
    #: why ``stop`` was set before any object started, when it was
    stop_reason: str | None = None
    #: every object's saved state as the run found it (lower-case names), read in one statement
    states: dict[str, ObjectState] = field(default_factory=dict)
    #: states of objects that wrote nothing, saved together when the objects are done
    #: (:meth:`StateStore.save_all`); an object that wrote rows saves its own at once
    settled: list[ObjectState] = field(default_factory=list)
    settled_lock: threading.Lock = field(default_factory=threading.Lock)
    #: the run's id (the run history's), recorded with the Bulk jobs it starts or reuses
    run_id: str | None = None
    #: objects with an open Bulk job (``_lht_bulk_jobs``) when the run started
    open_bulk_jobs: set[str] = field(default_factory=set)


def sync_object(
    ctx: RunContext,
    name: str,
    options: ObjectOptions,
    *,
    full_refresh: bool = False,
    refresh_formulas: bool = False,
) -> ObjectResult:
    """Sync ``name`` and return its report line. Never raises for a per-object failure."""
    result = ObjectResult(object_name=name)
    began = time.monotonic()
    client = ctx.client.for_object(name)
    prefetched = ctx.prefetcher.take(name) if ctx.prefetcher else None
    shared = prefetched.shared_calls if prefetched else 0
    wh = ctx.warehouse.cursor_for_thread()
    if ctx.progress:
        ctx.progress(name, 0, None, "describing")
    try:
        store = StateStore(wh, create=False)  # the run created the tables and read every state
        plan, change = ctx.catalog.plan(name, client, store)
        result.object_name = plan.object_name
        result.fields_added, result.fields_removed = list(change.added), list(change.removed)
        if change.removed:
            logger.warning(
                "%s: describe no longer shows %s (access revoked or field deleted): their columns "
                "and last values are kept",
                plan.object_name,
                ", ".join(change.removed),
            )
        result.skipped_fields = dict(plan.skipped)
        state = ctx.states.get(plan.object_name.lower()) or ObjectState(
            object_name=plan.object_name
        )
        job = _ObjectJob(ctx, client, wh, store, plan, options, state, result, prefetched)
        job.run(full_refresh=full_refresh, refresh_formulas=refresh_formulas, added=change.added)
        if change.pending is not None:  # cached only now that the new fields are backfilled
            ctx.catalog.put(store, change.pending["name"], change.pending)
        result.status = OK
    except LhtError as exc:
        result.status, result.error = FAILED, str(exc)
        logger.error("%s: %s", name, exc)
        if not isinstance(exc, (ApiLimitError, AuthenticationError)):
            _forget_describe(ctx.catalog, wh, name)
        if isinstance(exc, ApiLimitError):
            ctx.stop.set()  # the quota is shared: stop the other objects cleanly too
    except Exception as exc:  # a bug or an unexpected library error: report it, never hide it
        logger.exception("%s: unexpected error", name)
        result.status, result.error = FAILED, f"unexpected error: {exc!r}"
    finally:
        result.api_calls, result.api_calls_shared = client.calls + shared, shared
        result.duration_seconds = round(time.monotonic() - began, 3)
    return result


class _ObjectJob:
    """The steps of one object's sync, sharing its plan, state and report line."""

    def __init__(
        self,
        ctx,
        client,
        wh,
        store,
        plan,
        options,
        state,
        result,
        prefetched: Prefetched | None = None,
    ) -> None:
        self.ctx: RunContext = ctx
        self.client: SalesforceClient = client
        self.wh: Warehouse = wh
        self.store: StateStore = store
        self.plan: ObjectPlan = plan
        self.options: ObjectOptions = options
        self.state: ObjectState = state
        self.result: ObjectResult = result
        self.settings: Settings = ctx.settings
        self.prefetched = prefetched
        self.started = utcnow()  # this host's clock: _lht_extracted_at, cadences, last_success_at
        #: Salesforce's clock at the start: watermarks, getDeleted windows, marker dates; a
        #: grouped change check (lht.sync.prefetch) asked Salesforce before this job: its time
        self.sf_started = prefetched.taken_at if prefetched else client.server_now()
        self.overlap = timedelta(seconds=self.settings.overlap_seconds)
        self._expected: int | None = None  # rows the running extract expects (progress)
        self.jobs = BulkJobStore(wh, ctx.run_id, create=False)  # run_sync creates the table

    def _report(self, rows: int, expected: int | None, phase: str | None) -> None:
        if self.ctx.progress:
            self.ctx.progress(self.plan.object_name, rows, expected, phase)

    def _job_polled(self, info: dict[str, Any]) -> None:
        """A Bulk job's state and rows processed so far, while lht waits for it."""
        processed = int(info.get("numberRecordsProcessed") or 0)
        self._report(
            self.result.rows_written,
            self._expected,
            f"Bulk job {info.get('state', '?')}, {processed:,} rows processed",
        )

    def run(self, *, full_refresh: bool, refresh_formulas: bool, added: Sequence[str] = ()) -> None:
        state, plan = self.state, self.plan
        full = full_refresh or state.watermark is None or plan.watermark_field is None
        self.result.mode = "full" if full else "incremental"
        where = self.options.where or None
        # a changed filter: what the new one admits is read whatever its age (the models
        # deduplicate the records held already); not the whole object, only its filter
        self.result.filter_changed = state.filter_changed(where)
        refresh = self.result.filter_changed and not full
        boundary = new_batch_id()  # every batch this run writes sorts after it
        max_seen = self._extract_records(since=None if full or refresh else state.watermark)
        if self.result.filter_changed:
            self.result.notes.append(
                f"filter changed: re-read {self.result.rows_extracted:,} records "
                "matching the new filter"
            )
        left: set[str] = set()
        if state.last_success_at:
            held_unfiltered = (
                refresh and state.where_filter is None
            )  # everything held may be outside it
            left = self._left_filter(since=None if full or held_unfiltered else state.watermark)
            if refresh and state.where_filter is not None and where is not None:
                # records the old filter admitted that the new one does not, whatever their age
                left |= self._left_filter(since=None, within=state.where_filter)
        if full:
            markers = self._markers_for_missing(boundary, left) if state.last_success_at else 0
            covered = self.sf_started
        else:
            markers, covered = self._check_deleted()
        self.result.delete_markers = markers
        if added and not full:
            self._backfill(added)
        formulas_due = refresh_formulas or self._due(
            state.last_formula_refresh_at, self.options.formula_refresh_every
        )
        if formulas_due and plan.formula_fields:
            self._refresh_formulas()
            state.last_formula_refresh_at = self.started
        self._save_state(full=full, max_seen=max_seen, covered=covered)

    # -- records -----------------------------------------------------------------------
    def _extract_records(self, since: datetime | None) -> datetime | None:
        for attempt in range(1, MAX_SCHEMA_RETRIES + 1):
            try:
                self._report(self.result.rows_written, None, "querying")
                ex = extract(
                    self.client,
                    self.plan,
                    self.settings,
                    since=since,
                    where=self.options.where,
                    first_page=self._prefetched_page,
                    on_job=self._job_polled,
                    ledger=WarehouseJobLedger(self.jobs, self.ctx.open_bulk_jobs),
                )
                self.result.engine = ex.engine
                self._expected = ex.total_size
                self._took_up(ex)
                rows = self._write_all(ex.batches, KIND_RECORD, self.plan.fields, ex.total_size)
                self.result.rows_extracted = rows
                return ex.max_watermark
            except FieldsChangedError as exc:
                if attempt == MAX_SCHEMA_RETRIES:
                    raise
                self._replan_after(exc)
        return None  # pragma: no cover - the loop returns or raises

    def _took_up(self, ex: Extraction) -> None:
        """Report the extract's Bulk job and notes; a job taken up again dates the sync from
        the job's creation (Salesforce's clock): its rows are the org as it was then, so the
        watermark, the getDeleted window and a full run's coverage start there."""
        self.result.bulk_job_id = ex.job_id
        self.result.notes.extend(ex.notes)
        if ex.reused is None:
            return
        self.result.bulk_job_reused = True
        self.sf_started = min(self.sf_started, ex.reused.created_at)
        self.result.notes.append(
            f"reused Bulk job {ex.reused.job_id} (created {ex.reused.created_at.isoformat(timespec='seconds')} "
            "by a run that did not finish): no new query job"
        )

    def _prefetched_page(self, soql: str) -> dict | None:
        """The first page of ``soql`` if the run's grouped change checks asked it (once)."""
        answer = self.prefetched.take("query", (soql,)) if self.prefetched else None
        if answer is None:
            return None
        return answer.body(f"Querying {self.plan.object_name}", can_relogin=self.client.can_relogin)

    def _replan_after(self, exc: FieldsChangedError) -> None:
        describe = self.client.describe(self.plan.object_name)
        self.ctx.catalog.put(self.store, describe["name"], describe)
        plan = plan_object(describe)
        if exc.field and any(f.name.lower() == exc.field.lower() for f in plan.fields):
            plan = drop_field(
                plan, exc.field, "describe lists it but the query rejects it (INVALID_FIELD)"
            )
        else:
            logger.warning(
                "%s: field %s no longer exists in Salesforce; re-described",
                plan.object_name,
                exc.field,
            )
        self.plan = plan
        self.result.skipped_fields = dict(plan.skipped)

    def _write_all(self, batches, kind: str, fields: Sequence, expected: int | None) -> int:
        rows = marked = 0
        with append_session(self.wh):
            for batch in batches:
                if self.ctx.stop.is_set():
                    raise LhtError(
                        "stopped: another object hit the API budget; this object will resume next run"
                    )
                written = write_batch(
                    self.wh,
                    self.plan.object_name,
                    batch,
                    fields,
                    kind=kind,
                    extracted_at=self.started,
                )
                rows += written.rows
                if kind == KIND_RECORD:
                    marked += _marked_deleted(batch)
                self._report(self.result.rows_written + rows, expected, f"writing {kind} rows")
        self.result.rows_written += rows  # counted once the session's batches are committed
        self.result.records_marked_deleted += marked
        return rows

    # -- deletes -------------------------------------------------------------------------
    def _check_deleted(self) -> tuple[int, datetime | None]:
        state = self.state
        window = deleted_window(state, self.options, self.settings, self.sf_started)
        if window is None:
            return 0, state.deleted_checked_until
        if self.plan.delete_strategy == "none":
            self.result.notes.append(
                "not replicateable and its records cannot be deleted: no delete check"
            )
            return 0, self.sf_started
        if self.plan.delete_strategy == "reconcile":
            self.result.notes.append(
                "not replicateable (no getDeleted): deletions found by Id reconciliation"
            )
            return self._reconcile_ids(), self.sf_started
        start, end = window
        answer = self.prefetched.take("deleted", window) if self.prefetched else None
        try:
            if answer is not None:
                body = answer.body(
                    f"Listing deleted {self.plan.object_name} records",
                    can_relogin=self.client.can_relogin,
                )
            else:
                body = self.client.deleted(self.plan.object_name, start, end)
        except DeletedWindowError as exc:
            logger.info("%s: %s; reconciling Ids instead", self.plan.object_name, exc)
            return self._reconcile_ids(), self.sf_started
        records = body.get("deletedRecords") or []
        ids = [r["id"] for r in records]
        stamps = [parse_sf_datetime(r["deletedDate"]) for r in records]
        written = self._write_markers(pa.array(ids, pa.string()), stamps) if ids else 0
        covered = body.get("latestDateCovered")
        return written, parse_sf_datetime(covered) if covered else self.sf_started

    def _reconcile_ids(self) -> int:
        ex = extract(self.client, self.plan, self.settings, fields=["Id"], include_deleted=True)
        current = [b.column("Id") for b in ex.batches]
        current_ids = (
            pa.chunked_array(current, pa.string()).combine_chunks()
            if current
            else pa.array([], pa.string())
        )
        known = staged_ids(self.wh, self.plan.object_name)
        vanished = known.filter(pc.invert(pc.is_in(known, value_set=current_ids)))
        logger.info(
            "%s: Id reconciliation found %d vanished record(s)",
            self.plan.object_name,
            len(vanished),
        )
        return self._write_markers(vanished, None)

    def _markers_for_missing(self, boundary: str, left: set[str]) -> int:
        missing = ids_missing_since(self.wh, self.plan.object_name, boundary)
        if left:  # they exist, outside the filter: `filtered` rows, not deletions
            missing = missing.filter(
                pc.invert(pc.is_in(missing, value_set=pa.array(sorted(left), pa.string())))
            )
        return self._write_markers(missing, None)

    def _left_filter(self, since: datetime | None, within: str | None = None) -> set[str]:
        """Write a ``filtered`` row for each record lht holds that no longer matches the
        object's ``where`` filter (changed since ``since``; every one on a full run; only
        those matching ``within``, the filter before a change, when given); return their
        Ids. The models then set ``_lht_in_filter = false`` and keep the last values read
        while the record matched. SOQL's logic is two-valued (a comparison with a null is
        false), so ``NOT (filter)`` selects exactly the records the filter does not."""
        where = self.options.where
        if not where or not where.strip() or self.plan.watermark_field is None:
            return set()
        wm = self.plan.watermark_field
        outside = f"NOT ({where})" if within is None else f"({within}) AND NOT ({where})"
        ex = extract(
            self.client, self.plan, self.settings, fields=["Id", wm], since=since, where=outside
        )
        known = staged_ids(self.wh, self.plan.object_name)
        held = (b.filter(pc.is_in(b.column("Id"), value_set=known)) for b in ex.batches)
        ids: set[str] = set()

        def tracked():
            for batch in held:
                ids.update(batch.column("Id").to_pylist())
                yield batch

        specs = [f for f in self.plan.fields if f.name in {"Id", wm}]
        rows = self._write_all(tracked(), KIND_FILTERED, specs, None)
        if rows:
            logger.info("%s: %d record(s) left the where filter", self.plan.object_name, rows)
        return ids

    def _write_markers(self, ids: pa.Array, stamps: list[datetime] | None) -> int:
        if len(ids) == 0:
            return 0
        names = {f.name for f in self.plan.fields}
        total = 0
        with append_session(self.wh):  # the markers of one check land as one load
            for offset in range(0, len(ids), MARKER_CHUNK):
                chunk = ids.slice(offset, MARKER_CHUNK)
                columns = {"Id": chunk}
                if "IsDeleted" in names:
                    columns["IsDeleted"] = pa.array([True] * len(chunk), pa.bool_())
                if self.plan.watermark_field:
                    when = (
                        stamps[offset : offset + len(chunk)]
                        if stamps
                        else [self.sf_started] * len(chunk)
                    )
                    columns[self.plan.watermark_field] = pa.array(
                        when, pa.timestamp("ms", tz="UTC")
                    )
                table = pa.table(columns)
                total += write_batch(
                    self.wh,
                    self.plan.object_name,
                    table,
                    self.plan.fields,
                    kind=KIND_DELETED,
                    extracted_at=self.started,
                ).rows
        return total

    # -- newly visible fields ------------------------------------------------------------
    def _backfill(self, added: Sequence[str]) -> None:
        """Read Id plus the fields describe shows for the first time, for every record.

        A field granted to the user, or added with a default, holds values although no
        record's SystemModstamp moved; these partial rows (``_lht_kind = 'fields'``) give
        every record its values without a full reload (the models merge them).
        """
        present = {f.name for f in self.plan.fields}
        names = [n for n in added if n in present and n != "Id"]
        if not names:
            return
        ex = extract(
            self.client, self.plan, self.settings, fields=["Id", *names], where=self.options.where
        )
        specs = [f for f in self.plan.fields if f.name in {"Id", *names}]
        rows = self._write_all(ex.batches, KIND_FIELDS, specs, ex.total_size)
        logger.info(
            "%s: backfilled %d new field(s) (%s) on %d row(s)",
            self.plan.object_name,
            len(names),
            ", ".join(names),
            rows,
        )

    # -- formulas ------------------------------------------------------------------------
    def _refresh_formulas(self) -> None:
        wm = [self.plan.watermark_field] if self.plan.watermark_field else []
        fields = ["Id", *wm, *self.plan.formula_fields]
        ex = extract(self.client, self.plan, self.settings, fields=fields, where=self.options.where)
        specs = [f for f in self.plan.fields if f.name in set(fields)]
        rows = self._write_all(ex.batches, KIND_FORMULA, specs, ex.total_size)
        logger.info(
            "%s: refreshed %d formula field(s) on %d row(s)",
            self.plan.object_name,
            len(self.plan.formula_fields),
            rows,
        )

    # -- state ---------------------------------------------------------------------------
    def _due(self, last: datetime | None, every: int | None, now: datetime | None = None) -> bool:
        """True when a periodic step configured ``every`` seconds is due (never if unconfigured);
        ``now`` is the clock ``last`` was taken on (default this host's)."""
        if every is None:
            return False
        return last is None or ((now or self.started) - last).total_seconds() >= every

    def _save_state(
        self, *, full: bool, max_seen: datetime | None, covered: datetime | None
    ) -> None:
        state = self.state
        state.watermark_field = self.plan.watermark_field
        if max_seen is not None and self.plan.watermark_field:
            # the second after the newest record, once that second is older than the overlap
            # (every commit in it was visible to this run); else the start of the overlap
            settled = max_seen.replace(microsecond=0) + timedelta(seconds=1)
            candidate = min(settled, self.sf_started - self.overlap)
            state.watermark = (
                max(candidate, state.watermark) if (state.watermark and not full) else candidate
            )
        state.deleted_checked_until = covered
        state.last_success_at = self.started
        if full:
            state.last_full_refresh_at = self.started
        state.last_run_status = OK
        state.where_filter = self.options.where or None
        state.last_run_engine = self.result.engine
        state.last_run_rows = self.result.rows_written
        state.last_run_api_calls = self.client.calls + (
            self.prefetched.shared_calls if self.prefetched else 0
        )
        # the object's Bulk jobs are done with (closed first: a kill between the two costs a
        # new job next run, never a stale one taken up after the state moved on)
        had_jobs = (
            self.result.bulk_job_id is not None
            or self.plan.object_name.lower() in self.ctx.open_bulk_jobs
        )
        finished = self.jobs.close_object(self.plan.object_name) if had_jobs else []
        if self.result.rows_written or self.result.delete_markers:
            self.store.save(state)  # now: the rows it covers are in staging
        else:
            with self.ctx.settled_lock:
                self.ctx.settled.append(state)
        self.result.watermark = state.watermark.isoformat() if state.watermark else None
        for job_id in finished:
            delete_job(self.client, job_id)


def deleted_window(
    state: ObjectState, options: ObjectOptions, settings: Settings, started: datetime
) -> tuple[datetime, datetime] | None:
    """The getDeleted window of an incremental run starting at ``started`` (Salesforce's
    clock), or None when the check is not due (``deleted_check_every``,
    ``LHT_DELETED_CHECK_EVERY``)."""
    every = options.deleted_check_every
    if every is None:
        every = settings.deleted_check_every_seconds
    last = state.deleted_checked_until
    if last is not None and (started - last).total_seconds() < every:
        return None
    overlap = timedelta(seconds=settings.overlap_seconds)
    return (last or state.watermark or started) - overlap, started


def _marked_deleted(batch: pa.Table | pa.RecordBatch) -> int:
    """Rows of a records batch that Salesforce returned with ``IsDeleted`` true."""
    names = {n.lower(): n for n in batch.schema.names}
    if "isdeleted" not in names:
        return 0
    return int(pc.sum(batch.column(names["isdeleted"]).cast(pa.bool_())).as_py() or 0)


def _forget_describe(catalog: Catalog, wh: Warehouse, name: str) -> None:
    """After a failure the next run describes the object again, so a type or field change
    the describe cache did not show yet cannot fail it run after run."""
    try:
        catalog.forget(StateStore(wh), name)
    except LhtError as exc:
        logger.warning("%s: could not drop the cached describe: %s", name, exc)
