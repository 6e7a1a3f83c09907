"""Sending one push's change set: sObject Collections for small change sets, Bulk API 2.0
ingest above ``LHT_PUSH_BULK_MIN_ROWS`` (:mod:`lht.push.sendbulk`); one result row per
row sent, through the writer.

Crash safety. Before rows go out, a unit is recorded in ``_lht_push_state`` and every row
of it gets a *pending* result row (``error_code = LHT_PENDING``, with the values' hash and,
for Bulk, the digest of its CSV cells): a Bulk job's id before its upload, a collections
call's keys before the call. A rerun settles the units it finds (:mod:`lht.push.recover`)
before computing the change set; a pending row that is never settled counts as failed, so
its row is sent again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import pyarrow as pa
import pyarrow.compute as pc

from lht.clock import utcnow
from lht.config import Settings
from lht.errors import SalesforceError
from lht.push.changeset import (
    HASH,
    KEY,
    MATCH,
    MATCH_ID,
    SF_ID,
    UNMATCHED,
    ChangeSet,
    column_of,
    stream_mirror_deletes,
)
from lht.push.spec import PushSpec
from lht.push.validate import SendPlan
from lht.salesforce import collections
from lht.salesforce.client import SalesforceClient
from lht.salesforce.values import OutColumn, json_records
from lht.warehouse.connection import Warehouse
from lht.warehouse.pushstate import PendingUnit, PushStateStore
from lht.warehouse.results import PushResult, write_push_result_table, write_push_results
from lht.writeback import ModelReport

logger = logging.getLogger(__name__)

PENDING = "LHT_PENDING"
UNPROCESSED = "LHT_UNPROCESSED"


def _unmatched_message(spec: PushSpec, match: str, key: str) -> str:
    what = "no live record" if match == "not_found" else "several live records"
    return (
        f"{what} of lht's {spec.object_name} table (as last synced) has {spec.match_on} = {key!r}; the row "
        f"was not sent (match_on never guesses). Fix the data or the model; `lht sync {spec.object_name}` "
        "then `dbt build` refresh what is matched."
    )


def row_digest(cells: list[str | None]) -> str:
    """The digest of one CSV row's cells (NULL and empty alike, as the result CSV gives them back)."""
    return hashlib.sha1("\x1f".join(c or "" for c in cells).encode()).hexdigest()


@dataclass
class PushRun:
    """One push being sent: where rows come from, go to, and are recorded."""

    wh: Warehouse
    client: Callable[[], SalesforceClient]
    settings: Settings
    spec: PushSpec
    plan: SendPlan
    changes: ChangeSet
    report: ModelReport
    state: PushStateStore = field(init=False)

    def __post_init__(self) -> None:
        self.state = PushStateStore(self.wh)

    # -- rows -----------------------------------------------------------------------
    def out_columns(self, batch: pa.RecordBatch) -> list[OutColumn]:
        """The plan's columns, the change set's own (``_lht_match_id``) named as the batch has it."""
        return [
            replace(c, column=column_of(batch, c.column)) if c.column == MATCH_ID else c
            for c in self.plan.columns
        ]

    def matched(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """With ``match_on``: the rows whose record was found once; the others are recorded as
        failed (NOT_FOUND, AMBIGUOUS_MATCH) and not sent. Without: ``batch``."""
        if not self.spec.match_on or batch.num_rows == 0:
            return batch
        match = batch.column(column_of(batch, MATCH))
        found = pc.fill_null(pc.equal(match, "found"), False)
        missed = batch.filter(pc.invert(found))
        if missed.num_rows:
            keys = missed.column(column_of(missed, KEY)).to_pylist()
            self.record(
                [
                    self.result(
                        k,
                        self.spec.operation,
                        False,
                        error_code=UNMATCHED[str(m)],
                        error_message=_unmatched_message(self.spec, str(m), k),
                    )
                    for k, m in zip(
                        keys, missed.column(column_of(missed, MATCH)).to_pylist(), strict=True
                    )
                ]
            )
        return batch.filter(found)

    # -- results -------------------------------------------------------------------
    def result(self, key: str, operation: str, success: bool, **kw: object) -> PushResult:
        return PushResult(
            push_name=self.spec.name,
            object_name=self.spec.object_name,
            key_value=key,
            operation=operation,
            success=success,
            **kw,  # type: ignore[arg-type]
        )

    def record(self, results: list[PushResult]) -> None:
        """Write results and count them in the report."""
        if not results:
            return
        write_push_results(self.wh, results, attempted_at=utcnow())
        for r in results:
            if r.error_code == PENDING:
                continue
            if not r.success:
                self.report.failed += 1
                if len(self.report.errors) < 5:
                    self.report.errors.append(f"{r.key_value}: {r.error_code}: {r.error_message}")
            elif r.operation in ("delete", "hard_delete"):
                self.report.deleted += 1
            elif r.created:
                self.report.created += 1
            else:
                self.report.updated += 1

    def result_table(self, n: int, **columns: object) -> pa.Table:
        """``n`` result rows of this push as Arrow columns: push_name, object_name and operation
        filled in, each of ``columns`` an Arrow array or one value repeated on every row."""
        values = {
            "push_name": self.spec.name,
            "object_name": self.spec.object_name,
            "operation": self.spec.operation,
            **columns,
        }
        return pa.table(
            {
                name: value
                if isinstance(value, (pa.Array, pa.ChunkedArray))
                else pa.repeat(pa.scalar(value), n)
                for name, value in values.items()
            }
        )

    def record_table(self, table: pa.Table, *, successes: bool) -> None:
        """Write result rows given as Arrow columns: successes (counted in the report) or
        pending rows (not counted)."""
        if table.num_rows == 0:
            return
        write_push_result_table(self.wh, table, attempted_at=utcnow())
        if not successes:
            return
        if self.spec.operation in ("delete", "hard_delete"):
            self.report.deleted += table.num_rows
            return
        created = pc.sum(table["created"]).as_py() or 0
        self.report.created += created
        self.report.updated += table.num_rows - created


@dataclass
class TableBuffer:
    """Result rows given as Arrow tables, written as one batch (one commit) at :meth:`flush`
    or once they reach ``limit`` rows: memory stays bounded, commits few."""

    run: PushRun
    successes: bool
    limit: int = 100_000
    tables: list[pa.Table] = field(default_factory=list)

    def add(self, table: pa.Table) -> None:
        self.tables.append(table)
        if sum(t.num_rows for t in self.tables) >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Write what is held (nothing when empty)."""
        if self.tables:
            tables, self.tables = self.tables, []
            self.run.record_table(pa.concat_tables(tables), successes=self.successes)


def outcome(
    run: PushRun,
    key: str,
    operation: str,
    answer: collections.RowResult,
    values_hash: str | None,
    job_id: str | None = None,
) -> PushResult:
    """A Salesforce answer as a result row (an already deleted record counts as deleted)."""
    success, code = answer.success, answer.error_code
    if not success and operation in ("delete", "hard_delete") and code == "ENTITY_IS_DELETED":
        success, code = True, None
    return run.result(
        key,
        operation,
        success,
        salesforce_id=answer.salesforce_id,
        created=answer.created if success else None,
        error_code=None if success else code,
        error_message=None if success else answer.error_message,
        values_hash=values_hash if success else None,
        job_id=job_id,
    )


# -- collections -----------------------------------------------------------------------
def send_collections(run: PushRun, changes: Iterable[pa.RecordBatch]) -> None:
    """Every change of the push (the change set's batches), 200 rows a call."""
    run.report.engine = "collections"
    spec = run.spec
    for batch in _slices(changes, collections.COLLECTION_SIZE):
        batch = run.matched(batch)
        if batch.num_rows == 0:
            continue
        keys = batch.column(column_of(batch, KEY)).to_pylist()
        hashes = batch.column(column_of(batch, HASH)).to_pylist()
        if spec.deletes and not spec.match_on:
            records = [{"Id": k} for k in keys]
        else:
            records = json_records(batch, run.out_columns(batch), clear_nulls=spec.clear_nulls)
        _collection_call(run, spec.operation, keys, hashes, records)
    mirror(run)


def _slices(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for start in range(0, batch.num_rows, size):
            yield batch.slice(start, size)


def _collection_call(
    run: PushRun, operation: str, keys: list[str], hashes: list[str | None], records: list[dict]
) -> None:
    unit = None
    if operation == "insert":
        # an insert is the one call that is not safe to repeat: record its keys first
        unit = PendingUnit(
            run.spec.name, uuid.uuid4().hex, "collections", None, tuple(keys), utcnow()
        )
        run.record(
            [
                run.result(
                    k,
                    operation,
                    False,
                    error_code=PENDING,
                    values_hash=h,
                    error_message="sent through sObject Collections; the answer was not recorded",
                )
                for k, h in zip(keys, hashes, strict=True)
            ]
        )
        run.state.start(unit)
    run.report.sent += len(records)
    try:
        answers = collections.send(
            run.client(),
            run.spec.object_name,
            operation,
            records,
            external_id_field=run.plan.external_id_field,
            headers=collections.write_headers(
                run.spec.object_name,
                assignment_rule_id=run.spec.assignment_rule_id,
                allow_duplicates=run.spec.allow_duplicates,
            ),
        )
    except SalesforceError as exc:
        if unit is None or (exc.http_status is not None and exc.http_status < 500):
            raise  # repeatable, or refused whole: nothing was created
        # the transport does not repeat an insert Salesforce may have applied: its outcome is
        # unknown, its keys stay pending, and the next push looks them up before sending again
        raise SalesforceError(
            f"An insert of {len(records)} {run.spec.object_name} rows got no answer from Salesforce ({exc}). "
            "Salesforce may have created them, so they are not sent again blindly: the next `lht push` looks "
            f"their keys up by {run.plan.key_header} and sends only the rows not found."
        ) from exc
    run.record(
        [outcome(run, k, operation, a, h) for k, h, a in zip(keys, hashes, answers, strict=True)]
    )
    if unit is not None:
        run.state.settle(unit.push_name, unit.unit_id)


def mirror(run: PushRun) -> None:
    """``mirror: true``: delete what this push created and that left the model."""
    for batch in stream_mirror_deletes(run.wh, run.changes, collections.COLLECTION_SIZE):
        keys = batch.column(column_of(batch, KEY)).to_pylist()
        ids = batch.column(column_of(batch, SF_ID)).to_pylist()
        run.report.sent += len(ids)
        answers = collections.send(
            run.client(), run.spec.object_name, "delete", [{"Id": i} for i in ids]
        )
        run.record([outcome(run, k, "delete", a, "") for k, a in zip(keys, answers, strict=True)])
