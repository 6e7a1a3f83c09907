"""Bulk API 2.0 query jobs a later run can take up again: the ledger's contract, and the check.

Salesforce keeps a query job's results for 7 days. lht records each query job it starts for
an object's records (the caller's :class:`JobLedger`, kept in the warehouse by the sync) until
the rows it read are written and the object's state saved. A run that finds such a job still
open (its run was killed, or failed while writing) reuses it instead of creating a new one,
when the job is for the same object, operation and SOQL, younger than Salesforce's 7 days,
and Salesforce still answers for it (``GET jobs/query/ID``: UploadComplete, InProgress or
JobComplete, on lht's API version). A job that is gone (404), Failed or Aborted, too old or
for another API version is marked unusable and never asked about again.

Speaks Salesforce only; the ledger is the caller's. :mod:`lht.salesforce.extract` asks.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from lht.clock import parse_sf_datetime
from lht.constants import API_VERSION
from lht.errors import ObjectNotFoundError, SalesforceError
from lht.salesforce.client import SalesforceClient

logger = logging.getLogger(__name__)

#: How long Salesforce keeps a finished query job and its results.
RESULTS_KEPT = timedelta(days=7)
#: A job this close to its end is not taken up: its results could vanish mid-download.
MARGIN = timedelta(hours=6)
#: The states of a job whose results are, or will be, there to read.
USABLE_STATES = frozenset({"UploadComplete", "InProgress", "JobComplete"})


@dataclass(frozen=True)
class JobRecord:
    """A query job lht started and has not finished with: what the ledger keeps."""

    job_id: str
    object_name: str
    operation: str  # query | queryAll
    soql_digest: str
    #: Salesforce's createdDate of the job (its clock)
    created_at: datetime


class JobLedger(Protocol):
    """Where the query jobs of an object's records are kept between runs (the warehouse)."""

    def open_jobs(self, object_name: str, operation: str, soql_digest: str) -> list[JobRecord]:
        """The jobs of this query not finished with, newest first."""
        ...

    def started(self, record: JobRecord) -> None:
        """Record a job just created, before its results are read."""
        ...

    def reused(self, job_id: str) -> None:
        """Note that this run took the job up again."""
        ...

    def unusable(self, job_id: str, reason: str) -> None:
        """Forget a job that cannot be reused (gone, failed, too old)."""
        ...


@dataclass(frozen=True)
class Reused:
    """A job taken up again: its id and when Salesforce created it (its clock)."""

    job_id: str
    created_at: datetime
    state: str


def soql_digest(soql: str) -> str:
    """The SHA-256 of the SOQL text: two queries match when their digests do."""
    return hashlib.sha256(soql.encode("utf-8")).hexdigest()


def operation_of(include_deleted: bool) -> str:
    """The Bulk operation of a query: ``queryAll`` with deleted records, else ``query``."""
    return "queryAll" if include_deleted else "query"


def _why_not(info: dict[str, Any], record: JobRecord, now: datetime) -> str:
    """Why Salesforce's answer about ``record`` rules it out ("" when it does not)."""
    state = str(info.get("state") or "")
    if state not in USABLE_STATES:
        return f"it is {state or 'in an unknown state'}"
    if str(info.get("operation") or record.operation) != record.operation:
        return f"it is a {info.get('operation')} job"
    if str(info.get("object") or record.object_name).lower() != record.object_name.lower():
        return f"it reads {info.get('object')}"
    version = info.get("apiVersion")
    if version is not None and float(version) != float(API_VERSION):
        return f"it was created on API {version}, lht reads results on {API_VERSION}"
    created = _created(info, record)
    if now - created > RESULTS_KEPT - MARGIN:
        return f"it was created {created.isoformat()}, too near Salesforce's 7 days"
    return ""


def _created(info: dict[str, Any], record: JobRecord) -> datetime:
    text = info.get("createdDate")
    try:
        return parse_sf_datetime(str(text)) if text else record.created_at
    except ValueError:
        return record.created_at


def reusable_job(
    client: SalesforceClient, ledger: JobLedger, object_name: str, soql: str, include_deleted: bool
) -> Reused | None:
    """The newest open job of this very query that Salesforce still has, marked reused; None
    when there is none (every one that cannot serve is marked unusable)."""
    operation = operation_of(include_deleted)
    for record in ledger.open_jobs(object_name, operation, soql_digest(soql)):
        now = client.server_now()
        if now - record.created_at > RESULTS_KEPT - MARGIN:
            ledger.unusable(record.job_id, "older than Salesforce keeps results")
            continue
        try:
            info = client.request(
                "GET",
                client.base_url + f"jobs/query/{record.job_id}",
                what=f"Checking Bulk job {record.job_id}",
            ).json()
        except ObjectNotFoundError:
            ledger.unusable(record.job_id, "Salesforce no longer has it")
            logger.info(
                "%s: Bulk job %s is gone (404); a new job is needed", object_name, record.job_id
            )
            continue
        except SalesforceError as exc:
            logger.info(
                "%s: could not check Bulk job %s (%s); not reusing it",
                object_name,
                record.job_id,
                exc,
            )
            continue
        why = _why_not(info, record, now)
        if why:
            ledger.unusable(record.job_id, why)
            logger.info("%s: not reusing Bulk job %s: %s", object_name, record.job_id, why)
            continue
        ledger.reused(record.job_id)
        created = _created(info, record)
        logger.info(
            "%s: reusing Bulk job %s (created %s, %s): no new query job",
            object_name,
            record.job_id,
            created.isoformat(),
            info.get("state"),
        )
        return Reused(record.job_id, created, str(info.get("state")))
    return None


def record_started(
    ledger: JobLedger,
    object_name: str,
    soql: str,
    include_deleted: bool,
    job: dict[str, Any],
    fallback_created: datetime,
) -> None:
    """Record a job just created (``job``: the creation's answer) in ``ledger``."""
    job_id = str(job["id"])
    draft = JobRecord(
        job_id, object_name, operation_of(include_deleted), soql_digest(soql), fallback_created
    )
    ledger.started(
        JobRecord(job_id, object_name, draft.operation, draft.soql_digest, _created(job, draft))
    )
