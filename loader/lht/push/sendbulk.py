"""Sending a push's change set through Bulk API 2.0 ingest, and reading the jobs' results.

One job per ``LHT_PUSH_BULK_MAX_BYTES`` of CSV; its id is saved and its rows recorded
pending before the upload (see :mod:`lht.push.send`). The upload and the close are
checked; a refused one aborts the job and its rows go again next run. The three result
files are matched to keys by the key column (or the digest of the cells when the key is
not sent), never by position. Rows failed with UNABLE_TO_LOCK_ROW go again in one small
follow-up job, a bounded number of times.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from lht.push.changeset import HASH, KEY, column_of, stream_changes
from lht.push.send import PENDING, UNPROCESSED, PushRun, mirror, outcome, row_digest, utcnow
from lht.warehouse.results import PushResult
from lht.salesforce import collections, ingest
from lht.salesforce.values import csv_table
from lht.warehouse.pushstate import PendingUnit

logger = logging.getLogger(__name__)

#: Rows read from the warehouse per batch for Bulk ingest.
BULK_BATCH_ROWS = 20_000


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
    mirror(run)


def _add(run: PushRun, upload: _Upload, batch: pa.RecordBatch, tmp: Path) -> _Upload:
    """Append a batch to the job's CSV; the job is created (and its id saved) at its first row."""
    if batch.num_rows == 0:
        return upload
    if upload.job_id is None:
        upload.job_id = _start_job(run)
    cells = csv_table(batch, run.plan.columns, clear_nulls=run.spec.clear_nulls)
    keys = batch.column(column_of(batch, KEY)).to_pylist()
    hashes = batch.column(column_of(batch, HASH)).to_pylist()
    rows = [list(r.values()) for r in cells.to_pylist()] if run.plan.key_header is None else None
    _record_pending(run, upload.job_id, zip(keys, hashes), rows, upload.by_key, upload.by_digest,
                    "sent through Bulk API 2.0; the job's results were not read")
    if upload.writer is None:
        upload.writer = pcsv.CSVWriter(str(upload.path), cells.schema)
    upload.writer.write_table(cells)
    upload.rows += cells.num_rows
    if upload.path.stat().st_size >= run.settings.push_bulk_max_bytes:
        _finish(run, upload)
        return _Upload(tmp / f"job-{uuid.uuid4().hex[:8]}.csv")
    return upload


def _start_job(run: PushRun) -> str:
    """Create the push's ingest job and save its id before anything is uploaded."""
    job_id = ingest.create_ingest_job(run.client(), run.spec.object_name, run.spec.operation,
                                      external_id_field=run.plan.external_id_field)
    run.state.start(PendingUnit(run.spec.name, job_id, "bulk", job_id, (), utcnow()))
    return job_id


def _record_pending(run: PushRun, job_id: str, keyed: Iterable[tuple[str, str | None]],
                    cells: Sequence[Sequence[str | None]] | None, by_key: dict[str, str | None],
                    by_digest: dict[str, list[tuple[str, str | None]]], message: str) -> None:
    """Record a pending result per row before its upload (a rerun knows every row of the job),
    and note how its result row will be matched: by key, or, when the key is not sent
    (``cells`` given), by the digest of the row's cells."""
    pending = []
    for i, (key, values_hash) in enumerate(keyed):
        digest = row_digest(list(cells[i])) if cells is not None else None
        if digest is not None:
            by_digest.setdefault(digest, []).append((key, values_hash))
        else:
            by_key[key] = values_hash
        pending.append(run.result(key, run.spec.operation, False, error_code=PENDING, values_hash=values_hash,
                                  row_digest=digest, job_id=job_id, error_message=message))
    run.record(pending)


def _finish(run: PushRun, upload: _Upload) -> None:
    """Upload (201 checked), close (checked), wait, read the results; never for no rows."""
    if upload.writer is None or upload.job_id is None or upload.rows == 0:
        return  # an empty change set starts no job
    upload.writer.close()
    job_id = upload.job_id
    _upload_and_close(run, job_id, upload.path)
    run.report.sent += upload.rows  # only once Salesforce took the upload and the close
    upload.path.unlink(missing_ok=True)
    settle_job(run, job_id, upload.by_key, upload.by_digest, rows=upload.rows)


def result_files(info: dict, rows: int | None) -> list[str]:
    """The result files that can hold rows, by the final job's counters: a JobComplete job
    with no failed record has an empty failed file, and one that processed every uploaded
    row (``rows``, when known) an empty unprocessed file; those are not downloaded."""
    complete = info.get("state") == "JobComplete"
    out = ["successful"]
    if not (complete and int(info.get("numberRecordsFailed") or 0) == 0):
        out.append("failed")
    if not (complete and rows is not None and int(info.get("numberRecordsProcessed") or 0) == rows):
        out.append("unprocessed")
    return out


def settle_job(run: PushRun, job_id: str, by_key: dict[str, str | None],
               by_digest: dict[str, list[tuple[str, str | None]]], attempt: int = 0,
               rows: int | None = None) -> None:
    """Wait for the job, match its result files to keys, write results, forget the job.

    Rows the job failed with a transient error (UNABLE_TO_LOCK_ROW) go again in one small
    follow-up job, at most ``collections.LOCK_RETRIES`` times; what still fails is recorded.
    ``rows`` (the rows uploaded, when known) paces the polls and spares downloading result
    files the job's counters say are empty (:func:`result_files`).
    """
    client = run.client()
    info = ingest.wait_for_ingest_job(client, job_id, run.settings.bulk_deadline_seconds, rows)
    logger.info("Bulk job %s %s: %s processed, %s failed", job_id, info.get("state"),
                info.get("numberRecordsProcessed"), info.get("numberRecordsFailed"))
    if info.get("state") != "JobComplete" and info.get("errorMessage"):
        run.report.errors.append(f"Bulk job {job_id} ended {info.get('state')}: {info.get('errorMessage')}")
    locked: _Locked | None = _Locked() if attempt < collections.LOCK_RETRIES else None
    with tempfile.TemporaryDirectory(prefix="lht-results-") as tmp:
        for which in result_files(info, rows):
            path = ingest.download_results(client, job_id, which, Path(tmp) / f"{which}.csv")
            for batch in ingest.read_result_csv(path):
                run.record(list(_match(run, job_id, which, batch, by_key, by_digest, locked)))
        if locked is not None and locked.rows:
            _send_locked_again(run, locked, Path(tmp), attempt + 1)
    run.state.settle(run.spec.name, job_id)
    ingest.delete_ingest_job(client, job_id)


@dataclass
class _Locked:
    """Rows a job failed with a transient error: their cells as uploaded, keys and hashes."""

    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    keys: list[tuple[str, str | None]] = field(default_factory=list)


def _send_locked_again(run: PushRun, locked: _Locked, tmp: Path, attempt: int) -> None:
    """One follow-up ingest job for the locked rows (saved, recorded pending, then uploaded)."""
    logger.info("%d %s rows were locked; sending them again in one Bulk job (attempt %d)", len(locked.rows),
                run.spec.object_name, attempt + 1)
    time.sleep(0.5 * attempt)
    job_id = _start_job(run)
    by_key: dict[str, str | None] = {}
    by_digest: dict[str, list[tuple[str, str | None]]] = {}
    _record_pending(run, job_id, locked.keys, locked.rows if run.plan.key_header is None else None,
                    by_key, by_digest,
                    "sent again through Bulk API 2.0 after UNABLE_TO_LOCK_ROW; the job's results were not read")
    path = tmp / f"locked-{attempt}.csv"
    table = pa.table({name: pa.array([row[i] for row in locked.rows], pa.string())
                      for i, name in enumerate(locked.header)})
    pcsv.write_csv(table, path)
    _upload_and_close(run, job_id, path)
    settle_job(run, job_id, by_key, by_digest, attempt, rows=len(locked.rows))


def _upload_and_close(run: PushRun, job_id: str, path: Path) -> None:
    """Upload the job's CSV (201 checked) and close it (checked); a refused one aborts the job."""
    client = run.client()
    try:
        ingest.upload_csv(client, job_id, path)
        ingest.close_job(client, job_id)
    except Exception:
        # a close whose answer was lost, repeated, is refused although the job was closed:
        # a closed job is processing, so it is settled as usual (a rerun does, if this fails)
        if ingest.ingest_job_info(client, job_id).get("state") == "Open":
            ingest.abort_ingest_job(client, job_id)
            run.state.settle(run.spec.name, job_id)  # aborted: its rows stay pending and go again
            raise
        logger.warning("Bulk job %s was closed although the close call failed; reading its results", job_id)


def _match(run: PushRun, job_id: str, which: str, batch: pa.RecordBatch, by_key: dict[str, str | None],
           by_digest: dict[str, list[tuple[str, str | None]]], locked: _Locked | None = None) -> Iterator[PushResult]:
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
            if locked is not None and code in collections.TRANSIENT_ROW_ERRORS:
                locked.header = data
                locked.rows.append([row.get(n) or "" for n in data])
                locked.keys.append((key, values_hash))
                continue
            answer = collections.RowResult(False, row.get("sf__Id") or None, None, code, message.strip())
        else:
            answer = collections.RowResult(False, None, None, UNPROCESSED,
                                           f"not processed: Bulk job {job_id} ended before this row")
        yield outcome(run, key, operation, answer, values_hash, job_id)
