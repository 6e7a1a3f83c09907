"""`lht jobs`: list, show, abort and delete Bulk API 2.0 query jobs.

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
LIST_FIELDS = ("id", "object", "operation", "state", "createdDate")


def _url(client: SalesforceClient, job_id: str = "") -> str:
    if job_id and not job_id.isalnum():
        raise JobNotFoundError(f"{job_id!r} is not a Bulk job id (Salesforce job ids are 15 or 18 letters and digits).")
    return client.base_url + "jobs/query" + (f"/{job_id}" if job_id else "")


def iter_jobs(client: SalesforceClient) -> Iterator[dict[str, Any]]:
    """Every query job the user can see, following ``nextRecordsUrl`` page by page."""
    url: str | None = _url(client)
    while url:
        body = client.request("GET", url, what="Listing Bulk API 2.0 query jobs").json()
        yield from body.get("records") or []
        url = None if body.get("done", True) else body.get("nextRecordsUrl")


def list_jobs(client: SalesforceClient, *, state: str | None = None, object_name: str | None = None,
              finished: bool = False) -> list[dict[str, Any]]:
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


def show_job(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """The full job info of ``job_id``."""
    try:
        return client.request("GET", _url(client, job_id), what=f"Reading Bulk job {job_id}").json()
    except ObjectNotFoundError:
        raise _not_found(job_id) from None


def abort_job(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """Abort a job that has not finished; return its job info."""
    try:
        response = client.request("PATCH", _url(client, job_id), what=f"Aborting Bulk job {job_id}",
                                  data=json.dumps({"state": "Aborted"}))
    except ObjectNotFoundError:
        raise _not_found(job_id) from None
    except SalesforceError as exc:
        raise SalesforceError(f"{exc} Only a job still UploadComplete or InProgress can be aborted.") from None
    logger.info("Bulk job %s aborted", job_id)
    return response.json()


def delete_job(client: SalesforceClient, job_id: str) -> None:
    """Delete a finished job and its stored results."""
    try:
        client.request("DELETE", _url(client, job_id), what=f"Deleting Bulk job {job_id}")
    except ObjectNotFoundError:
        raise _not_found(job_id) from None
    except SalesforceError as exc:
        raise SalesforceError(f"{exc} Abort a running job first (`lht jobs abort {job_id}`).") from None
    logger.info("Bulk job %s deleted", job_id)


def delete_finished(client: SalesforceClient, *, object_name: str | None = None) -> list[str]:
    """Delete every finished job (optionally only on ``object_name``); return their ids."""
    deleted = []
    for job in list_jobs(client, object_name=object_name, finished=True):
        delete_job(client, str(job["id"]))
        deleted.append(str(job["id"]))
    return deleted


def _not_found(job_id: str) -> JobNotFoundError:
    return JobNotFoundError(f"No Bulk API 2.0 query job {job_id} (it may be deleted already); "
                            "`lht jobs list` shows the jobs there are.")
