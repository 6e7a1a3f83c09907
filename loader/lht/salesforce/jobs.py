"""`lht jobs`: list, show, abort and delete Bulk API 2.0 query and ingest jobs; print an
ingest job's result CSV (`lht jobs results`).

lht deletes the jobs it runs as soon as their results are read (``lht.salesforce.bulk.bulk_query``),
whether they succeeded or not; these commands are for jobs left behind by a run that was
killed, or started by other tools. Unlike the best-effort helpers the sync uses, every
call here raises when Salesforce refuses it, so the user sees why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from lht.errors import JobNotFoundError, ObjectNotFoundError, SalesforceError
from lht.salesforce.client import SalesforceClient

logger = logging.getLogger(__name__)

#: States after which a job no longer changes and can be deleted.
FINISHED = frozenset({"JobComplete", "Failed", "Aborted"})

#: Fields of a job shown by ``lht jobs list``.
LIST_FIELDS = ("id", "jobType", "object", "operation", "state", "createdDate")
#: The two kinds of Bulk API 2.0 job.
KINDS = ("query", "ingest")


def _url(client: SalesforceClient, job_id: str = "", kind: str = "query") -> str:
    if job_id and not job_id.isalnum():
        raise JobNotFoundError(
            f"{job_id!r} is not a Bulk job id (Salesforce job ids are 15 or 18 letters and digits)."
        )
    return client.base_url + f"jobs/{kind}" + (f"/{job_id}" if job_id else "")


def iter_jobs(client: SalesforceClient, kinds: tuple[str, ...] = KINDS) -> Iterator[dict[str, Any]]:
    """Every query and ingest job the user can see, following ``nextRecordsUrl`` page by page."""
    for kind in kinds:
        url: str | None = _url(client, kind=kind)
        while url:
            body = client.request("GET", url, what=f"Listing Bulk API 2.0 {kind} jobs").json()
            for job in body.get("records") or []:
                yield {
                    **job,
                    "jobType": job.get("jobType") or ("V2Query" if kind == "query" else "V2Ingest"),
                }
            url = None if body.get("done", True) else body.get("nextRecordsUrl")


def list_jobs(
    client: SalesforceClient,
    *,
    state: str | None = None,
    object_name: str | None = None,
    finished: bool = False,
) -> list[dict[str, Any]]:
    """Query jobs, optionally only those in ``state``, on ``object_name``, or finished."""
    jobs = []
    for job in iter_jobs(client):
        if state and job.get("state") != state:
            continue
        if object_name and str(job.get("object", "")).lower() != object_name.lower():
            continue
        if finished and job.get("state") not in FINISHED:
            continue
        jobs.append(job)
    return jobs


def _kind_of(client: SalesforceClient, job_id: str) -> tuple[str, dict[str, Any]]:
    """Whether ``job_id`` is a query or an ingest job, and its info."""
    for kind in KINDS:
        try:
            return kind, client.request(
                "GET", _url(client, job_id, kind), what=f"Reading Bulk job {job_id}"
            ).json()
        except ObjectNotFoundError:
            continue
    raise _not_found(job_id)


def show_job(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """The full job info of ``job_id`` (a query or an ingest job)."""
    return _kind_of(client, job_id)[1]


def job_results(
    client: SalesforceClient, job_id: str, which: str = "successful"
) -> Iterator[bytes]:
    """The bytes of an ingest job's result CSV: ``successful``, ``failed`` or ``unprocessed``."""
    from lht.salesforce.ingest import stream_results

    kind, _ = _kind_of(client, job_id)
    if kind != "ingest":
        raise JobNotFoundError(
            f"{job_id} is a query job; only ingest jobs have result files "
            "(`lht jobs show` prints a query job's info)."
        )
    yield from stream_results(client, job_id, which)


def abort_job(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """Abort a job that has not finished; return its job info."""
    kind, _ = _kind_of(client, job_id)
    try:
        response = client.request(
            "PATCH",
            _url(client, job_id, kind),
            what=f"Aborting Bulk job {job_id}",
            data=json.dumps({"state": "Aborted"}),
        )
    except ObjectNotFoundError:
        raise _not_found(job_id) from None
    except SalesforceError as exc:
        raise SalesforceError(
            f"{exc} Only a job still UploadComplete or InProgress can be aborted."
        ) from None
    logger.info("Bulk job %s aborted", job_id)
    return response.json()


def delete_job(client: SalesforceClient, job_id: str) -> None:
    """Delete a finished job and its stored results."""
    kind, _ = _kind_of(client, job_id)
    try:
        client.request("DELETE", _url(client, job_id, kind), what=f"Deleting Bulk job {job_id}")
    except ObjectNotFoundError:
        raise _not_found(job_id) from None
    except SalesforceError as exc:
        raise SalesforceError(
            f"{exc} Abort a running job first (`lht jobs abort {job_id}`)."
        ) from None
    logger.info("Bulk job %s deleted", job_id)


def delete_finished(client: SalesforceClient, *, object_name: str | None = None) -> list[str]:
    """Delete every finished job (optionally only on ``object_name``); return their ids."""
    deleted = []
    for job in list_jobs(client, object_name=object_name, finished=True):
        delete_job(client, str(job["id"]))
        deleted.append(str(job["id"]))
    return deleted


def _not_found(job_id: str) -> JobNotFoundError:
    return JobNotFoundError(
        f"No Bulk API 2.0 query or ingest job {job_id} (it may be deleted already); "
        "`lht jobs list` shows the jobs there are."
    )
