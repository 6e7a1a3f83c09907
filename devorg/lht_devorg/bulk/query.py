"""Bulk API 2.0 query jobs: creation, state over time, result pages with locators.

A job checks its SOQL at creation (the engine's planner), so a bad query fails the POST
with Salesforce's error. In the background the query then streams once, as CSV text, from
the object's table into the job's spool file (:mod:`..core.stream`, :mod:`.spool`): no copy of
the result is kept in the database, and the rows are one snapshot of the org. The job moves
UploadComplete -> InProgress -> JobComplete once ``job_seconds`` have passed and the spool
is complete (Failed if the query or the rendering failed), so downloading a page of any
size is a file read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..cursors import decode_locator, encode_locator, sf_datetime
from ..errors import OrgError
from ..ids import ADMIN_USER_ID
from ..soql.parser import parse
from ..soql.planner import plan
from .registry import DELIMITERS, LINE_ENDINGS, JobRegistry, csv_format
from .spool import DEFAULT_CHUNK_ROWS, ResultSpool

log = logging.getLogger(__name__)

TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
#: Result pages listed per ``resultPages`` response (Salesforce: up to five).
RESULT_PAGES_PER_RESPONSE = 5

#: Values (rows x columns) per results page when the client gives no maxRecords; Salesforce
#: picks its own size then (undocumented): large pages, each one call.
DEFAULT_PAGE_CELLS = 16_000_000
#: Rows per such page, at most.
DEFAULT_PAGE_MAX_ROWS = 250_000


def default_page_rows(columns: int, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
    """Rows per page when the client gives no maxRecords: fewer for wider rows, whole chunks."""
    rows = max(2000, min(DEFAULT_PAGE_MAX_ROWS, DEFAULT_PAGE_CELLS // max(1, columns)))
    return max(chunk_rows, rows // chunk_rows * chunk_rows)


@dataclass
class Job:
    """One Bulk 2.0 query job."""

    id: str
    operation: str
    object_name: str
    query: str
    column_delimiter: str
    line_ending: str
    api_version: str
    created: datetime
    started: float
    columns: list[str]
    spool: ResultSpool
    fail_message: str | None = None
    stuck: bool = False
    aborted_at: datetime | None = None
    deleted: bool = False


class BulkJobs:
    """The org's Bulk 2.0 query jobs."""

    def __init__(
        self,
        engine: Any,
        job_seconds: float = 0.3,
        spool_dir: Path | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        self.engine = engine
        self.job_seconds = job_seconds
        self.chunk_rows = chunk_rows
        self.registry: JobRegistry[Job] = JobRegistry("query", "V2Query", spool_dir)
        self.spool_dir = self.registry.spool_dir

    def close(self) -> None:
        """Stop the background work and delete every spool."""
        self.registry.close(lambda job: job.spool.close())

    def _run(self, job: Job) -> None:
        """Stream the query's rows into the job's spool (background)."""
        try:
            with self.engine.stream_csv(
                job.query, include_deleted=job.operation == "queryAll", chunk_rows=self.chunk_rows
            ) as rows:
                job.spool.fill(rows.columns, rows.tables)
        except OrgError as exc:
            job.fail_message = job.fail_message or f"{exc.error_code}: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - reported as the job's failure
            log.warning("rendering the results of bulk job %s failed: %s", job.id, exc)
            job.fail_message = job.fail_message or "InternalServerError: result rendering failed"
        finally:
            job.spool.done.set()

    # -- jobs -----------------------------------------------------------------
    def create(
        self,
        body: dict[str, Any],
        api_version: str,
        *,
        fail_message: str | None = None,
        stuck: bool = False,
    ) -> dict[str, Any]:
        """Create a job from a ``POST jobs/query`` body; return its job info."""
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise OrgError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise OrgError(400, "INVALIDJOB", "The query is required")
        delimiter, line_ending = csv_format(body, "query")
        checked = plan(
            parse(query), self.engine.schema, include_deleted=operation == "queryAll", bulk=True
        )
        job_id = self.registry.new_id()
        spool = ResultSpool(
            self.spool_dir / f"{job_id}.csv", DELIMITERS[delimiter], LINE_ENDINGS[line_ending]
        )
        job = Job(
            id=job_id,
            operation=operation,
            object_name=checked.obj.name,
            query=query,
            column_delimiter=delimiter,
            line_ending=line_ending,
            api_version=api_version,
            created=datetime.now(timezone.utc),
            started=time.monotonic(),
            columns=checked.csv_columns,
            spool=spool,
            fail_message=fail_message,
            stuck=stuck,
        )
        self.registry.add(job)
        self.registry.submit(self._run, job)
        log.debug("bulk job %s created for %s", job.id, job.object_name)
        return self._info(job, detailed=False)

    def get(self, job_id: str) -> Job:
        """The job with this id (OrgError 404 if unknown or deleted)."""
        return self.registry.get(job_id)

    def state(self, job: Job) -> str:
        """The job's state now."""
        if job.aborted_at is not None:
            return "Aborted"
        elapsed = time.monotonic() - job.started
        if elapsed < self.job_seconds / 4 and not job.stuck:
            return "UploadComplete"
        ready = job.spool.done.is_set()
        if job.stuck or elapsed < self.job_seconds or not (ready or job.fail_message):
            return "InProgress"
        return "Failed" if job.fail_message else "JobComplete"

    def _info(self, job: Job, detailed: bool = True) -> dict[str, Any]:
        state = self.state(job)
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object_name,
            "createdById": ADMIN_USER_ID,
            "createdDate": sf_datetime(job.created),
            "systemModstamp": sf_datetime(job.aborted_at or job.created),
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.api_version),
            "lineEnding": job.line_ending,
            "columnDelimiter": job.column_delimiter,
        }
        if detailed:
            info.update(
                {
                    "jobType": "V2Query",
                    # rows the query has produced so far, as Salesforce counts them while a job runs
                    "numberRecordsProcessed": job.spool.total
                    if state in ("InProgress", "JobComplete")
                    else 0,
                    "retries": 0,
                    "totalProcessingTime": int(self.job_seconds * 1000) if state in TERMINAL else 0,
                    "isPkChunkingSupported": True,
                }
            )
            if state == "Failed":
                info["errorMessage"] = job.fail_message
        return info

    def info(self, job_id: str) -> dict[str, Any]:
        """``GET jobs/query/ID``."""
        return self._info(self.get(job_id))

    def list(self, api_version: str, locator: str | None = None) -> dict[str, Any]:
        """``GET jobs/query``: ``{done, records, nextRecordsUrl}``, 1000 jobs a page."""
        return self.registry.list_page(
            api_version, locator, lambda job: self._info(job, detailed=False)
        )

    def abort(self, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PATCH jobs/query/ID`` with ``{"state": "Aborted"}``."""
        job = self.get(job_id)
        if body.get("state") != "Aborted":
            raise OrgError(
                400, "INVALIDJOBSTATE", f"Invalid state for a query job: {body.get('state')}"
            )
        state = self.state(job)
        if state in TERMINAL:
            raise OrgError(400, "INVALIDJOBSTATE", f"Aborting already {state} job not allowed")
        job.aborted_at = datetime.now(timezone.utc)
        job.spool.close()  # stops the rendering; an aborted job's results are never served
        return self._info(job)

    def delete(self, job_id: str) -> None:
        """``DELETE jobs/query/ID``: only once the job is terminated."""
        job = self.get(job_id)
        state = self.state(job)
        if state not in TERMINAL:
            raise OrgError(
                400, "INVALIDJOBSTATE", f"Deleting a job in state {state} is not allowed"
            )
        job.deleted = True
        job.spool.close()  # a rendering still running (Aborted, Failed) stops: its cursor closes

    # -- results --------------------------------------------------------------
    def _require_complete(self, job: Job, api_version: str) -> None:
        if api_version != job.api_version:
            raise OrgError(
                409,
                "API_VERSION_MISMATCH",
                f"Use API version {job.api_version} to get the results of this job",
            )
        state = self.state(job)
        if state != "JobComplete":
            shout = {
                "UploadComplete": "UPLOAD_COMPLETE",
                "InProgress": "IN_PROGRESS",
                "Failed": "FAILED",
                "Aborted": "ABORTED",
            }[state]
            raise OrgError(
                412,
                "JOB_NOT_COMPLETE",
                "can only download query results of successfully completed bulk job "
                f"with status: JOB_COMPLETE. Current status: {shout}",
            )

    def results(
        self, job_id: str, api_version: str, locator: str | None, max_records: str | None
    ) -> tuple[bytes, int, str]:
        """One results page: (CSV bytes, records in it, next locator or ``"null"``)."""
        job = self.get(job_id)
        self._require_complete(job, api_version)
        total = job.spool.total
        if not max_records:  # absent or empty
            limit = default_page_rows(len(job.columns), self.chunk_rows)
        else:
            try:
                limit = int(max_records)
            except ValueError:
                limit = 0
            if limit < 1:
                raise OrgError(400, "INVALIDJOB", f"Invalid maxRecords: {max_records}")
        offset = decode_locator(locator) if locator else 0
        if offset > total:
            raise OrgError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {locator}")
        body = job.spool.page(offset, limit)
        count = max(0, min(limit, total - offset))
        following = offset + count
        return body, count, encode_locator(following) if following < total else "null"

    def result_pages(self, job_id: str, api_version: str, locator: str | None) -> dict[str, Any]:
        """``GET jobs/query/ID/resultPages``: up to five result URLs and the next link."""
        job = self.get(job_id)
        self._require_complete(job, api_version)
        size = default_page_rows(len(job.columns), self.chunk_rows)
        total = job.spool.total
        pages = list(range(0, total, size)) or [0]
        start = decode_locator(locator) if locator else 0
        chosen = pages[start : start + RESULT_PAGES_PER_RESPONSE]
        base = f"/services/data/v{api_version}/jobs/query/{job.id}"
        more = start + RESULT_PAGES_PER_RESPONSE < len(pages)
        return {
            "resultPages": [
                {"resultUrl": f"{base}/results?locator={encode_locator(o)}"} for o in chosen
            ],
            "nextRecordsUrl": (
                f"{base}/resultPages?locator={encode_locator(start + RESULT_PAGES_PER_RESPONSE)}"
            )
            if more
            else None,
            "done": not more,
        }
