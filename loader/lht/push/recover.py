"""Settling the work a killed push left in flight, before its change set is computed.

* A Bulk job saved in ``_lht_push_state``: still Open (killed before or during its upload,
  nothing processed) it is aborted and its rows go again; closed, lht waits for it and
  reads its three result files, matched to the job's pending rows by key (or by the digest
  of their cells when the key is not sent). Its rows are not sent a second time; those it
  failed with UNABLE_TO_LOCK_ROW are recorded as failed (the interrupted run's follow-up
  job for them, if any, is settled after it, and its newer answer wins).
* An sObject Collections insert whose answer was lost: the keys are looked up in
  Salesforce by the key field (an external id); found records are recorded as created,
  the others go again. Only inserts need this: updates, upserts and deletes are safe to
  repeat. An insert keyed by a column of the model's own (``_key``) always goes through
  Bulk for this reason.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from lht.errors import JobNotFoundError, ObjectNotFoundError
from lht.push.bulkmatch import SentRows
from lht.push.send import PENDING, PushRun
from lht.push.sendbulk import settle_job
from lht.salesforce import collections, ingest
from lht.salesforce.soql import records_by_field_soql
from lht.warehouse.pushstate import PendingUnit

logger = logging.getLogger(__name__)


def recover(run: PushRun, units: list[PendingUnit]) -> None:
    """Settle every unit ``run``'s push left pending."""
    for unit in units:
        if unit.engine == "bulk" and unit.job_id:
            _recover_job(run, unit.job_id)
        else:
            _recover_insert(run, unit)
        run.state.settle(unit.push_name, unit.unit_id)


def _pending_rows(run: PushRun, extra: str, params: list) -> list[tuple]:
    q = run.wh.quote
    table = run.wh.table("_lht_push_results")
    return run.wh.execute(
        f"select {q('key_value')}, {q('values_hash')}, {q('row_digest')} from {table} "
        f"where {q('push_name')} = ? and {q('error_code')} = ? {extra}",
        [run.spec.name, PENDING, *params],
    )


def _recover_job(run: PushRun, job_id: str) -> None:
    client = run.client()
    try:
        info = ingest.ingest_job_info(client, job_id)
    except (ObjectNotFoundError, JobNotFoundError):
        logger.warning(
            "Bulk job %s of push %s is gone; its rows are sent again", job_id, run.spec.name
        )
        return
    if info.get("state") == "Open":
        logger.warning(
            "Bulk job %s of push %s was never closed; aborting it, its rows are sent again",
            job_id,
            run.spec.name,
        )
        ingest.abort_ingest_job(client, job_id)
        return
    logger.warning(
        "Reading the results of Bulk job %s, left by an interrupted push %s", job_id, run.spec.name
    )
    sent = SentRows()
    keyed: list[tuple[str, str | None]] = []
    for key, values_hash, digest in _pending_rows(
        run, f"and {run.wh.quote('job_id')} = ?", [job_id]
    ):
        if digest:
            sent.add_digest(digest, key, values_hash)
        else:
            keyed.append((key, values_hash))
    sent.add_keyed(
        pa.array([k for k, _ in keyed], pa.string()), pa.array([h for _, h in keyed], pa.string())
    )
    # no lock retries here: a follow-up job of the interrupted run may hold those rows (it is
    # settled after this one and its answer, newer, wins); otherwise they go in the change set
    settle_job(run, job_id, sent, attempt=collections.LOCK_RETRIES)


def _recover_insert(run: PushRun, unit: PendingUnit) -> None:
    header = run.plan.key_header
    if not unit.keys or header is None:
        return
    hashes = {k: h for k, h, _ in _pending_rows(run, f"and {run.wh.quote('job_id')} is null", [])}
    client = run.client()
    found: dict[str, str] = {}
    keys = list(unit.keys)
    for start in range(0, len(keys), 200):
        soql = records_by_field_soql(run.spec.object_name, header, keys[start : start + 200])
        for record in client.query_all(soql, what="Checking an interrupted insert")["records"]:
            value = record.get(header)
            if value is not None:
                found[str(value)] = record["Id"]
    logger.warning(
        "Push %s was interrupted during an insert: %d of %d rows were created, the rest go again",
        run.spec.name,
        len(found),
        len(keys),
    )
    run.record(
        [
            run.result(k, "insert", True, salesforce_id=i, created=True, values_hash=hashes.get(k))
            for k, i in found.items()
        ]
    )
