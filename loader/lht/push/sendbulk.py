"""Sending a push's change set through Bulk API 2.0 ingest, and reading the jobs' results.

One job per ``LHT_PUSH_BULK_MAX_BYTES`` of CSV; its id is saved and its rows recorded
pending before the upload (see :mod:`lht.push.send`). The upload and the close are
checked; a refused one aborts the job and its rows go again next run. The three result
files are matched to keys by the key column (or the digest of the cells when the key is
not sent), never by position (:mod:`lht.push.bulkmatch`). Rows failed with
UNABLE_TO_LOCK_ROW go again in one small follow-up job, a bounded number of times. A job's
pending rows are written in one batch while its CSV uploads (the job is closed only once
they are), its successes in one batch per result file (at most
:class:`~lht.push.send.TableBuffer`'s limit at a time).
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from lht.push.bulkmatch import Locked, SentRows, match_rows, successes_by_key
from lht.push.changeset import HASH, KEY, column_of
from lht.push.send import PENDING, PushRun, TableBuffer, mirror, row_digest, utcnow
from lht.salesforce import collections, ingest
from lht.salesforce.values import csv_table
from lht.warehouse.pushstate import PendingUnit

logger = logging.getLogger(__name__)

#: Rows read from the warehouse per batch for Bulk ingest.
BULK_BATCH_ROWS = 20_000
#: Successful result rows matched to the keys sent at a time (a few MB of three columns).
MATCH_ROWS = 100_000


@dataclass
class _Upload:
    """One ingest job's CSV being written, and how its result rows find their keys."""

    path: Path
    job_id: str | None = None
    writer: pcsv.CSVWriter | None = None
    rows: int = 0
    sent: SentRows = field(default_factory=SentRows)
    pending: list[pa.Table] = field(default_factory=list)  # written at once, before the upload


def send_bulk(run: PushRun, changes: Iterable[pa.RecordBatch]) -> None:
    """Every change of the push (the change set's batches) through ingest jobs, one per
    ``LHT_PUSH_BULK_MAX_BYTES`` of CSV."""
    run.report.engine = "bulk"
    with tempfile.TemporaryDirectory(prefix="lht-push-") as tmp:
        upload = _Upload(Path(tmp) / "job-0.csv")
        for batch in changes:
            upload = _add(run, upload, batch, Path(tmp))
        _finish(run, upload)
    mirror(run)


def _add(run: PushRun, upload: _Upload, batch: pa.RecordBatch, tmp: Path) -> _Upload:
    """Append a batch to the job's CSV; the job is created (and its id saved) at its first row."""
    batch = run.matched(batch)
    if batch.num_rows == 0:
        return upload
    if upload.job_id is None:
        upload.job_id = _start_job(run)
    cells = csv_table(batch, run.out_columns(batch), clear_nulls=run.spec.clear_nulls)
    keys, hashes = batch.column(column_of(batch, KEY)), batch.column(column_of(batch, HASH))
    rows = [list(r.values()) for r in cells.to_pylist()] if run.plan.key_header is None else None
    upload.pending.append(
        _pending(
            run,
            upload.job_id,
            keys,
            hashes,
            rows,
            upload.sent,
            "sent through Bulk API 2.0; the job's results were not read",
        )
    )
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
    job_id = ingest.create_ingest_job(
        run.client(),
        run.spec.object_name,
        run.spec.operation,
        external_id_field=run.plan.external_id_field,
        assignment_rule_id=run.spec.assignment_rule_id,
    )
    run.state.start(PendingUnit(run.spec.name, job_id, "bulk", job_id, (), utcnow()))
    return job_id


def _pending(
    run: PushRun,
    job_id: str,
    keys: pa.Array,
    hashes: pa.Array,
    cells: Sequence[Sequence[str | None]] | None,
    sent: SentRows,
    message: str,
) -> pa.Table:
    """The pending result rows of rows about to be uploaded (written before the upload, so a
    rerun knows every row of the job), noting in ``sent`` how each result row will be
    matched: by key, or, when the key is not sent (``cells`` given), by the digest of its cells."""
    n = len(keys)
    digests: list[str | None] = [None] * n
    if cells is None:
        sent.add_keyed(keys, hashes)
    else:
        for i, (key, values_hash) in enumerate(
            zip(keys.to_pylist(), hashes.to_pylist(), strict=True)
        ):
            digest = digests[i] = row_digest(list(cells[i]))
            sent.add_digest(digest, key, values_hash)
    return run.result_table(
        n,
        key_value=keys.cast(pa.string()),
        success=False,
        error_code=PENDING,
        error_message=message,
        values_hash=hashes.cast(pa.string()),
        job_id=job_id,
        row_digest=pa.array(digests, pa.string()),
    )


def _finish(run: PushRun, upload: _Upload) -> None:
    """Upload (201 checked), close (checked), wait, read the results; never for no rows."""
    if upload.writer is None or upload.job_id is None or upload.rows == 0:
        return  # an empty change set starts no job
    upload.writer.close()
    job_id = upload.job_id
    pending = pa.concat_tables(upload.pending)
    upload.pending.clear()
    _upload_and_close(run, job_id, upload.path, pending)
    del pending
    pa.default_memory_pool().release_unused()  # the CSV's conversion buffers, before the job's results
    run.report.sent += upload.rows  # only once Salesforce took the upload and the close
    run.report.bulk_batches += ingest.bulk_batches(upload.rows)
    upload.path.unlink(missing_ok=True)
    settle_job(run, job_id, upload.sent, rows=upload.rows)


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


def settle_job(
    run: PushRun, job_id: str, sent: SentRows, attempt: int = 0, rows: int | None = None
) -> None:
    """Wait for the job, match its result files to keys, write results, forget the job (in
    ``_lht_push_state``; Salesforce keeps it, and its result files, for 7 days).

    Rows the job failed with a transient error (UNABLE_TO_LOCK_ROW) go again in one small
    follow-up job, at most ``collections.LOCK_RETRIES`` times; what still fails is recorded.
    ``rows`` (the rows uploaded, when known) paces the polls and spares downloading result
    files the job's counters say are empty (:func:`result_files`).
    """
    client = run.client()
    info = ingest.wait_for_ingest_job(client, job_id, run.settings.bulk_deadline_seconds, rows)
    logger.info(
        "Bulk job %s %s: %s processed, %s failed",
        job_id,
        info.get("state"),
        info.get("numberRecordsProcessed"),
        info.get("numberRecordsFailed"),
    )
    if info.get("state") != "JobComplete" and info.get("errorMessage"):
        run.report.errors.append(
            f"Bulk job {job_id} ended {info.get('state')}: {info.get('errorMessage')}"
        )
    locked: Locked | None = Locked() if attempt < collections.LOCK_RETRIES else None
    key_header = run.plan.key_header
    successes = TableBuffer(run, successes=True)
    with tempfile.TemporaryDirectory(prefix="lht-results-") as tmp:
        for which in result_files(info, rows):
            path = ingest.download_results(client, job_id, which, Path(tmp) / f"{which}.csv")
            if which == "successful" and key_header is not None:
                # three narrow columns, gathered so that each lookup of the keys sent serves many rows
                held: list[pa.RecordBatch] = []
                for batch in ingest.read_result_csv(path, ["sf__Id", "sf__Created", key_header]):
                    held.append(batch)
                    if sum(b.num_rows for b in held) >= MATCH_ROWS:
                        successes.add(
                            successes_by_key(
                                run, job_id, pa.Table.from_batches(held), sent, key_header
                            )
                        )
                        held = []
                if held:
                    successes.add(
                        successes_by_key(run, job_id, pa.Table.from_batches(held), sent, key_header)
                    )
            else:
                for batch in ingest.read_result_csv(path):
                    run.record(list(match_rows(run, job_id, which, batch, sent, locked)))
            successes.flush()
        if locked is not None and locked.rows:
            _send_locked_again(run, locked, Path(tmp), attempt + 1)
    # the job is kept: lht_push_results.job_id names it, and `lht jobs results` reads it until
    # Salesforce removes it (7 days after it finished)
    run.state.settle(run.spec.name, job_id)


def _send_locked_again(run: PushRun, locked: Locked, tmp: Path, attempt: int) -> None:
    """One follow-up ingest job for the locked rows (saved, recorded pending, then uploaded)."""
    logger.info(
        "%d %s rows were locked; sending them again in one Bulk job (attempt %d)",
        len(locked.rows),
        run.spec.object_name,
        attempt + 1,
    )
    time.sleep(0.5 * attempt)
    job_id = _start_job(run)
    sent = SentRows()
    keys = pa.array([k for k, _ in locked.keys], pa.string())
    hashes = pa.array([h for _, h in locked.keys], pa.string())
    pending = _pending(
        run,
        job_id,
        keys,
        hashes,
        locked.rows if run.plan.key_header is None else None,
        sent,
        "sent again through Bulk API 2.0 after UNABLE_TO_LOCK_ROW; the job's results were not read",
    )
    path = tmp / f"locked-{attempt}.csv"
    table = pa.table(
        {
            name: pa.array([row[i] for row in locked.rows], pa.string())
            for i, name in enumerate(locked.header)
        }
    )
    pcsv.write_csv(table, path)
    _upload_and_close(run, job_id, path, pending)
    run.report.bulk_batches += ingest.bulk_batches(len(locked.rows))
    settle_job(run, job_id, sent, attempt, rows=len(locked.rows))


def _upload_and_close(run: PushRun, job_id: str, path: Path, pending: pa.Table) -> None:
    """Upload the job's CSV (201 checked) while its ``pending`` result rows are written, then
    close it (checked) once both are done: Salesforce processes no row before the close, so
    a rerun after a crash finds every processed row recorded. A refused upload or close, or
    a failed write, aborts the job."""
    client = run.client()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lht-pending") as pool:
            written = pool.submit(
                run.record_table, pending, successes=False
            )  # its own DuckDB work, GIL released
            try:
                ingest.upload_csv(client, job_id, path)
            finally:
                wait([written])
        written.result()
        ingest.close_job(client, job_id)
    except Exception:
        # a close whose answer was lost, repeated, is refused although the job was closed:
        # a closed job is processing, so it is settled as usual (a rerun does, if this fails)
        if ingest.ingest_job_info(client, job_id).get("state") == "Open":
            ingest.abort_ingest_job(client, job_id)
            run.state.settle(run.spec.name, job_id)  # aborted: its rows stay pending and go again
            raise
        logger.warning(
            "Bulk job %s was closed although the close call failed; reading its results", job_id
        )
