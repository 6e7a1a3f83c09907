"""Bulk API 2.0 query jobs: create, wait (THE polling helper, for ingest jobs too), read, delete.

Calls go through the client's session (simple-salesforce's ``call_salesforce``), so they
share the transport's timeouts, retries, counting and budget, and re-login once on an
expired session. Reading a completed job's pages is :mod:`lht.salesforce.bulk_results`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from lht.config import Settings
from lht.errors import BulkJobError, LhtError
from lht.lazy import pa
from lht.salesforce.bulk_results import result_tables
from lht.salesforce.client import SalesforceClient

logger = logging.getLogger(__name__)


#: The shortest wait between two polls of a job whose progress paces them (seconds).
MIN_PACED_WAIT = 0.1


def _jobs_url(client: SalesforceClient, job_id: str = "", kind: str = "query") -> str:
    """``.../jobs/query[/id]`` or ``.../jobs/ingest[/id]``."""
    return client.base_url + f"jobs/{kind}" + (f"/{job_id}" if job_id else "")


def create_query_job(client: SalesforceClient, soql: str, *, include_deleted: bool = True) -> str:
    """Create a query (or queryAll) job and return its id."""
    return str(create_query_job_info(client, soql, include_deleted=include_deleted)["id"])


def create_query_job_info(
    client: SalesforceClient, soql: str, *, include_deleted: bool = True
) -> dict[str, Any]:
    """Create a query (or queryAll) job and return Salesforce's job info (id, createdDate...).

    A job refused for the org's daily Bulk allowance raises
    :class:`~lht.errors.BulkQuotaError` (REST can still read the object).
    """
    body = {
        "operation": "queryAll" if include_deleted else "query",
        "query": soql,
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    response = client.request(
        "POST", _jobs_url(client), what="Creating a Bulk API 2.0 query job", data=json.dumps(body)
    )
    info = response.json()
    logger.info("Bulk job %s created", info["id"])
    return info


def paced_wait(
    scheduled: float,
    elapsed: float,
    processed: int,
    expected: int | None,
    *,
    anchor: tuple[float, int] | None = None,
    first_wait: float = 0.5,
    max_wait: float = 30.0,
) -> float:
    """The next wait of a job whose size is known: the time its progress says it still needs.

    An ingest job of ``expected`` rows that processed ``processed`` by ``elapsed`` seconds runs
    at the rate seen since ``anchor`` (the ``(elapsed, processed)`` of the first poll that saw
    progress; without it, since the start), so its start-up (queueing, reading the upload
    before the first row) does not count as slowness. The wait is the time left at that
    rate, never longer than half the time elapsed so far nor than ``max_wait``, and never
    shorter than a tenth of the time elapsed (between 0.1 s and ``first_wait``): a poll near
    the predicted end instead of the backoff's several, an estimate that is wrong (progress
    reported in bursts, as Salesforce's parallel batches do) costs at most half the time
    already spent, and a job that is nearly done is seen at most a tenth of its run time
    late. Without progress (or a size) the ``scheduled`` backoff wait stands.
    """
    if not expected or processed <= 0 or elapsed <= 0:
        return scheduled
    since, done = anchor if anchor and anchor[1] < processed and anchor[0] < elapsed else (0.0, 0)
    rate = (processed - done) / (elapsed - since)
    remaining = max(expected - processed, 0) / rate
    shortest = min(max(elapsed / 10, MIN_PACED_WAIT), first_wait)
    return min(max(min(remaining, elapsed / 2), shortest), max_wait)


#: The wait schedule of a query job: a first look after 0.1 s, each wait then half as long
#: again (0.1, 0.15, 0.225, ... up to 30 s). Query jobs of a few thousand to a few hundred
#: thousand rows complete in well under a few seconds: seen within a third of their run
#: time, with about as many polls for a 2-minute job (16) as the former steady 0.5 s waits.
#: (The defaults of :func:`wait_for_job`.)
#: The wait schedule of an ingest job (paced by its progress once it reports some).
INGEST_POLLS = {"first_wait": 0.5, "steady_polls": 5, "factor": 1.3}


def wait_for_job(
    client: SalesforceClient,
    job_id: str,
    deadline_seconds: float,
    *,
    first_wait: float = 0.1,
    steady_polls: int = 1,
    factor: float = 1.5,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    kind: str = "query",
    fail: bool = True,
    expected_records: int | None = None,
    on_poll: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Poll the job until JobComplete; the one polling loop of lht (``kind`` query or ingest).

    The first ``steady_polls`` waits are ``first_wait``, then each is ``factor`` times the
    last, up to ``max_wait`` (30 s). Query jobs (the defaults): 0.1 s, then 50% longer
    each time: a job that takes T seconds costs about log(1 + 5 T) / log(1.5) polls (about
    16 for two minutes) and is noticed at most a third of its run time late. Ingest jobs
    (:data:`INGEST_POLLS`): five waits of 0.5 s, then 30% longer each time.

    With ``expected_records`` (an ingest job's uploaded rows), once the job reports progress
    each wait is :func:`paced_wait`'s estimate of the time left instead.

    ``on_poll`` sees the job's info after each poll (its state and the rows processed so
    far), for progress displays.

    Failed or Aborted jobs raise BulkJobError with Salesforce's errorMessage (with
    ``fail=False`` their info is returned instead: an ingest job's unprocessed rows are
    read from it); a job still running at the deadline is aborted and raises BulkJobError.
    """
    started = time.monotonic()
    wait = first_wait
    polls = 0
    anchor: tuple[float, int] | None = None  # the first poll that saw progress
    while True:
        info = client.request(
            "GET", _jobs_url(client, job_id, kind), what=f"Polling Bulk job {job_id}"
        ).json()
        state = info.get("state")
        if on_poll is not None:
            on_poll(info)
        if state == "JobComplete" or (state in ("Failed", "Aborted") and not fail):
            return info
        if state in ("Failed", "Aborted"):
            raise BulkJobError(
                f"Bulk job {job_id} ended {state}: "
                f"{info.get('errorMessage') or 'Salesforce gave no reason'}"
            )
        elapsed = time.monotonic() - started
        if elapsed >= deadline_seconds:
            abort_job(client, job_id, kind)
            raise BulkJobError(
                f"Bulk job {job_id} was still {state} after {elapsed:.0f}s "
                f"(LHT_BULK_DEADLINE_SECONDS={deadline_seconds:g}); lht aborted it. Raise the "
                "deadline or narrow the query."
            )
        processed = int(info.get("numberRecordsProcessed") or 0)
        paced = paced_wait(
            wait,
            elapsed,
            processed,
            expected_records,
            anchor=anchor,
            first_wait=first_wait,
            max_wait=max_wait,
        )
        if anchor is None and processed > 0:
            anchor = (elapsed, processed)
        sleep(min(paced, max(deadline_seconds - elapsed, 0.0)))
        polls += 1
        if polls >= steady_polls:
            wait = min(wait * factor, max_wait)


def abort_job(client: SalesforceClient, job_id: str, kind: str = "query") -> None:
    """Ask Salesforce to abort the job (best effort: failures are logged)."""
    try:
        client.request(
            "PATCH",
            _jobs_url(client, job_id, kind),
            what=f"Aborting Bulk job {job_id}",
            data=json.dumps({"state": "Aborted"}),
        )
        logger.warning("Bulk job %s aborted", job_id)
    except LhtError as exc:
        logger.warning("Could not abort Bulk job %s: %s", job_id, exc)


def delete_job(client: SalesforceClient, job_id: str, kind: str = "query") -> None:
    """Delete a finished job and its stored results (best effort: failures are logged)."""
    try:
        client.request(
            "DELETE", _jobs_url(client, job_id, kind), what=f"Deleting Bulk job {job_id}"
        )
    except LhtError as exc:
        logger.warning("Could not delete Bulk job %s: %s", job_id, exc)


def bulk_query(
    client: SalesforceClient,
    soql: str,
    schema: pa.Schema,
    settings: Settings,
    *,
    include_deleted: bool = True,
    job_id: str | None = None,
    on_poll: Callable[[dict[str, Any]], None] | None = None,
    keep: bool = False,
) -> Iterator[pa.Table]:
    """Run ``soql`` as a Bulk API 2.0 job and yield its pages as Arrow tables.

    Pass ``job_id`` when the job was already created (to surface creation errors early), or
    is taken up again. The job is deleted afterwards, whether it succeeded, failed or was
    aborted; with ``keep`` only when it failed or was aborted: a job whose rows were read
    stays for its caller to delete once they are written, and one whose reading stopped
    (the writer failed, the run was interrupted) stays for a later run to take up again
    (:mod:`lht.salesforce.queryjobs`). ``on_poll``: see :func:`wait_for_job`.
    """
    if job_id is None:
        job_id = create_query_job(client, soql, include_deleted=include_deleted)
    dead = False
    try:
        try:
            info = wait_for_job(client, job_id, settings.bulk_deadline_seconds, on_poll=on_poll)
        except BulkJobError:
            dead = True  # Failed, Aborted, or aborted at the deadline: no results to keep
            raise
        logger.info("Bulk job %s complete: %s records", job_id, info.get("numberRecordsProcessed"))
        yield from result_tables(client, _jobs_url(client, job_id), job_id, schema, settings)
    finally:
        if dead or not keep:
            delete_job(client, job_id)  # finished, failed or aborted: all deletable
