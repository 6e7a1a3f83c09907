"""Sending one push's change set: sObject Collections for small change sets, Bulk API 2.0
ingest above ``LHT_PUSH_BULK_MIN_ROWS``; one result row per row sent, through the writer.

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
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from lht.config import Settings
from lht.errors import SalesforceError
from lht.push.changeset import HASH, KEY, SF_ID, PushSql, column_of, stream_changes, stream_mirror_deletes
from lht.push.spec import PushSpec
from lht.push.validate import SendPlan
from lht.salesforce import collections, ingest
from lht.salesforce.client import SalesforceClient
from lht.salesforce.values import csv_table, json_records
from lht.warehouse.connection import Warehouse
from lht.warehouse.pushstate import PendingUnit, PushStateStore
from lht.warehouse.results import PushResult, write_push_results
from lht.writeback import ModelReport

logger = logging.getLogger(__name__)

PENDING = "LHT_PENDING"
UNPROCESSED = "LHT_UNPROCESSED"
#: Rows read from the warehouse per batch for Bulk ingest.
BULK_BATCH_ROWS = 20_000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
    sql: PushSql
    report: ModelReport
    state: PushStateStore = field(init=False)

    def __post_init__(self) -> None:
        self.state = PushStateStore(self.wh)

    # -- results -------------------------------------------------------------------
    def result(self, key: str, operation: str, success: bool, **kw: object) -> PushResult:
        return PushResult(push_name=self.spec.name, object_name=self.spec.object_name, key_value=key,
                          operation=operation, success=success, **kw)  # type: ignore[arg-type]

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


def outcome(run: PushRun, key: str, operation: str, answer: collections.RowResult, values_hash: str | None,
            job_id: str | None = None) -> PushResult:
    """A Salesforce answer as a result row (an already deleted record counts as deleted)."""
    success, code = answer.success, answer.error_code
    if not success and operation in ("delete", "hard_delete") and code == "ENTITY_IS_DELETED":
        success, code = True, None
    return run.result(key, operation, success, salesforce_id=answer.salesforce_id,
                      created=answer.created if success else None, error_code=None if success else code,
                      error_message=None if success else answer.error_message,
                      values_hash=values_hash if success else None, job_id=job_id)


# -- collections -----------------------------------------------------------------------
def send_collections(run: PushRun) -> None:
    """Every change of the push, 200 rows a call."""
    run.report.engine = "collections"
    spec, plan = run.spec, run.plan
    for batch in stream_changes(run.wh, run.sql, collections.COLLECTION_SIZE):
        keys = batch.column(column_of(batch, KEY)).to_pylist()
        hashes = batch.column(column_of(batch, HASH)).to_pylist()
        if spec.deletes:
            records = [{"Id": k} for k in keys]
        else:
            records = json_records(batch, plan.columns, clear_nulls=spec.clear_nulls)
        _collection_call(run, spec.operation, keys, hashes, records)
    _mirror(run)


def _collection_call(run: PushRun, operation: str, keys: list[str], hashes: list[str | None],
                     records: list[dict]) -> None:
    unit = None
    if operation == "insert":
        # an insert is the one call that is not safe to repeat: record its keys first
        unit = PendingUnit(run.spec.name, uuid.uuid4().hex, "collections", None, tuple(keys), utcnow())
        run.record([run.result(k, operation, False, error_code=PENDING, values_hash=h,
                               error_message="sent through sObject Collections; the answer was not recorded")
                    for k, h in zip(keys, hashes)])
        run.state.start(unit)
    run.report.sent += len(records)
    try:
        answers = collections.send(run.client(), run.spec.object_name, operation, records,
                                   external_id_field=run.plan.external_id_field)
    except SalesforceError as exc:
        if unit is None or (exc.http_status is not None and exc.http_status < 500):
            raise  # repeatable, or refused whole: nothing was created
        # the transport does not repeat an insert Salesforce may have applied: its outcome is
        # unknown, its keys stay pending, and the next push looks them up before sending again
        raise SalesforceError(
            f"An insert of {len(records)} {run.spec.object_name} rows got no answer from Salesforce ({exc}). "
            "Salesforce may have created them, so they are not sent again blindly: the next `lht push` looks "
            f"their keys up by {run.plan.key_header} and sends only the rows not found.") from exc
    run.record([outcome(run, k, operation, a, h) for k, h, a in zip(keys, hashes, answers)])
    if unit is not None:
        run.state.settle(unit.push_name, unit.unit_id)


def _mirror(run: PushRun) -> None:
    """``mirror: true``: delete what this push created and that left the model."""
    for batch in stream_mirror_deletes(run.wh, run.sql, collections.COLLECTION_SIZE):
        keys = batch.column(column_of(batch, KEY)).to_pylist()
        ids = batch.column(column_of(batch, SF_ID)).to_pylist()
        run.report.sent += len(ids)
        answers = collections.send(run.client(), run.spec.object_name, "delete", [{"Id": i} for i in ids])
        run.record([outcome(run, k, "delete", a, "") for k, a in zip(keys, answers)])


# -- Bulk ingest -------------------------------------------------------------------------
@dataclass
class _Upload:
    """One ingest job's CSV being written, and how its result rows find their keys."""

    path: Path
    job_id: str | None = None
    writer: pcsv.CSVWriter | None = None
    rows: int = 0
    by_key: dict[str, str | None] = field(default_factory=dict)  # key -> values hash
    by_digest: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)


def send_bulk(run: PushRun) -> None:
    """Every change of the push through ingest jobs, one per ``LHT_PUSH_BULK_MAX_BYTES`` of CSV."""
    run.report.engine = "bulk"
    with tempfile.TemporaryDirectory(prefix="lht-push-") as tmp:
        upload = _Upload(Path(tmp) / "job-0.csv")
        for batch in stream_changes(run.wh, run.sql, BULK_BATCH_ROWS):
            upload = _add(run, upload, batch, Path(tmp))
        _finish(run, upload)
    _mirror(run)


def _add(run: PushRun, upload: _Upload, batch: pa.RecordBatch, tmp: Path) -> _Upload:
    """Append a batch to the job's CSV; the job is created (and its id saved) at its first row."""
    if batch.num_rows == 0:
        return upload
    if upload.job_id is None:
        upload.job_id = ingest.create_ingest_job(run.client(), run.spec.object_name, run.spec.operation,
                                                 external_id_field=run.plan.external_id_field)
        run.state.start(PendingUnit(run.spec.name, upload.job_id, "bulk", upload.job_id, (), utcnow()))
    cells = csv_table(batch, run.plan.columns, clear_nulls=run.spec.clear_nulls)
    keys = batch.column(column_of(batch, KEY)).to_pylist()
    hashes = batch.column(column_of(batch, HASH)).to_pylist()
    rows = cells.to_pylist() if run.plan.key_header is None else None
    pending = []
    for i, (key, values_hash) in enumerate(zip(keys, hashes)):
        digest = row_digest(list(rows[i].values())) if rows is not None else None
        if digest is not None:
            upload.by_digest.setdefault(digest, []).append((key, values_hash))
        else:
            upload.by_key[key] = values_hash
        pending.append(run.result(key, run.spec.operation, False, error_code=PENDING, values_hash=values_hash,
                                  row_digest=digest, job_id=upload.job_id,
                                  error_message="sent through Bulk API 2.0; the job's results were not read"))
    run.record(pending)  # before the upload: a rerun knows every row of the job
    if upload.writer is None:
        upload.writer = pcsv.CSVWriter(str(upload.path), cells.schema)
    upload.writer.write_table(cells)
    upload.rows += cells.num_rows
    if upload.path.stat().st_size >= run.settings.push_bulk_max_bytes:
        _finish(run, upload)
        return _Upload(tmp / f"job-{uuid.uuid4().hex[:8]}.csv")
    return upload


def _finish(run: PushRun, upload: _Upload) -> None:
    """Upload (201 checked), close (checked), wait, read the results; never for no rows."""
    if upload.writer is None or upload.job_id is None or upload.rows == 0:
        return  # an empty change set starts no job
    upload.writer.close()
    client, job_id = run.client(), upload.job_id
    try:
        ingest.upload_csv(client, job_id, upload.path)
        ingest.close_job(client, job_id)
    except Exception:
        ingest.abort_ingest_job(client, job_id)
        run.state.settle(run.spec.name, job_id)  # aborted: its rows stay pending and go again
        raise
    run.report.sent += upload.rows  # only once Salesforce took the upload and the close
    upload.path.unlink(missing_ok=True)
    settle_job(run, job_id, upload.by_key, upload.by_digest)


def settle_job(run: PushRun, job_id: str, by_key: dict[str, str | None],
               by_digest: dict[str, list[tuple[str, str | None]]]) -> None:
    """Wait for the job, match its three result files to keys, write results, forget the job."""
    client = run.client()
    info = ingest.wait_for_ingest_job(client, job_id, run.settings.bulk_deadline_seconds)
    logger.info("Bulk job %s %s: %s processed, %s failed", job_id, info.get("state"),
                info.get("numberRecordsProcessed"), info.get("numberRecordsFailed"))
    if info.get("state") != "JobComplete" and info.get("errorMessage"):
        run.report.errors.append(f"Bulk job {job_id} ended {info.get('state')}: {info.get('errorMessage')}")
    with tempfile.TemporaryDirectory(prefix="lht-results-") as tmp:
        for which in ("successful", "failed", "unprocessed"):
            path = ingest.download_results(client, job_id, which, Path(tmp) / f"{which}.csv")
            for batch in ingest.read_result_csv(path):
                run.record(list(_match(run, job_id, which, batch, by_key, by_digest)))
    run.state.settle(run.spec.name, job_id)
    ingest.delete_ingest_job(client, job_id)


def _match(run: PushRun, job_id: str, which: str, batch: pa.RecordBatch, by_key: dict[str, str | None],
           by_digest: dict[str, list[tuple[str, str | None]]]) -> Iterator[PushResult]:
    names = batch.schema.names
    data = [n for n in names if not n.startswith("sf__")]
    rows = batch.to_pylist()
    operation = run.spec.operation
    key_header = run.plan.key_header
    for row in rows:
        if key_header is not None:
            key = row.get(key_header)
            if key not in by_key:
                logger.warning("Bulk job %s: a %s result row has key %r, which lht did not send", job_id, which, key)
                continue
            values_hash = by_key[key]
        else:
            found = by_digest.get(row_digest([row.get(n) for n in data])) or []
            if not found:
                logger.warning("Bulk job %s: a %s result row matches no row lht sent", job_id, which)
                continue
            key, values_hash = found.pop(0)
        if which == "successful":
            answer = collections.RowResult(True, row.get("sf__Id") or None,
                                           str(row.get("sf__Created", "")).lower() == "true")
        elif which == "failed":
            code, _, message = str(row.get("sf__Error") or "UNKNOWN_ERROR:").partition(":")
            answer = collections.RowResult(False, row.get("sf__Id") or None, None, code, message.strip())
        else:
            answer = collections.RowResult(False, None, None, UNPROCESSED,
                                           f"not processed: Bulk job {job_id} ended before this row")
        yield outcome(run, key, operation, answer, values_hash, job_id)
