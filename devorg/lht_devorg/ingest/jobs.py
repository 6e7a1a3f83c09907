"""Bulk API 2.0 ingest jobs: create, upload, close or abort, state over time, results, delete, list.

A job is created Open; one CSV upload (``PUT .../batches``, 201) is kept on disk; closing it
(``UploadComplete``) starts the processing in the background (:mod:`.runner`). The job
then shows UploadComplete, InProgress (``numberRecordsProcessed`` growing) and, once
``job_seconds`` have passed and every row is written, JobComplete (some rows may still have
failed: ``numberRecordsFailed``) or Failed (``errorMessage``). An aborted job keeps what it
wrote; its other rows are unprocessed. Delete is allowed in UploadComplete, JobComplete,
Aborted or Failed.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..bulk.registry import DELIMITERS, LINE_ENDINGS, JobRegistry, csv_format
from ..core import batchwrite, rules
from ..core.validate import external_id_field, row_lock
from ..cursors import sf_datetime
from ..errors import OrgError
from ..faults import ROW_KINDS, FaultInjector
from . import runner

log = logging.getLogger(__name__)

#: One upload's limit: 150 MB after base64 encoding, about 112 MB of CSV.
MAX_UPLOAD_BYTES = 150_000_000 * 3 // 4
FINAL = frozenset({"JobComplete", "Failed", "Aborted"})
DELETABLE = frozenset({"UploadComplete", "JobComplete", "Aborted", "Failed"})


@dataclass
class IngestJob:
    """One Bulk 2.0 ingest job."""

    id: str
    object_name: str
    operation: str
    external_id_field: str | None
    column_delimiter: str
    line_ending: str
    api_version: str
    created: datetime
    folder: Path
    upload_path: Path | None = None
    closed_at: float | None = None
    aborted_at: datetime | None = None
    processed: int = 0
    failed: int = 0
    fail_message: str | None = None
    deleted: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    modified: datetime | None = None
    assignment_rule_id: str | None = None

    @property
    def delimiter_char(self) -> str:
        return DELIMITERS[self.column_delimiter]

    @property
    def line_ending_chars(self) -> str:
        return LINE_ENDINGS[self.line_ending]

    @property
    def upload_url(self) -> str:
        return f"/services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"


class IngestJobs:
    """The org's Bulk 2.0 ingest jobs."""

    def __init__(
        self,
        engine: Any,
        job_seconds: float = 0.3,
        spool_dir: Path | None = None,
        faults: FaultInjector | None = None,
        limits: Any = None,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        batch_rows: int = 10_000,
        parallel: int = 4,
    ) -> None:
        self.engine = engine
        self.batch_rows, self.parallel = batch_rows, parallel
        self.job_seconds = job_seconds
        self.faults = faults or FaultInjector()
        self.limits = limits
        self.max_upload_bytes = max_upload_bytes
        self.registry: JobRegistry[IngestJob] = JobRegistry(
            "ingest", "V2Ingest", spool_dir, serial_offset=500
        )
        self.spool_dir = self.registry.spool_dir

    def close(self) -> None:
        """Stop the background work and delete every job's files."""
        self.registry.close()

    # -- jobs -----------------------------------------------------------------
    def create(self, body: dict[str, Any], api_version: str) -> dict[str, Any]:
        """``POST jobs/ingest``: a new Open job."""
        operation = body.get("operation")
        if operation not in batchwrite.OPERATIONS:
            raise OrgError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        if not isinstance(body.get("object"), str):
            raise OrgError(400, "INVALIDJOB", "The object is required")
        obj = self.engine.schema.get(body["object"])
        if obj is None:
            raise OrgError(
                400, "INVALIDJOB", f"Entity '{body['object']}' is not supported by the Bulk API."
            )
        delimiter, line_ending = csv_format(body, "ingest")
        ext = body.get("externalIdFieldName")
        if operation == "upsert":
            if not ext:
                raise OrgError(400, "INVALIDJOB", "External ID was blank for upsert")
            try:
                ext = external_id_field(obj, str(ext))["name"]
            except OrgError:
                raise OrgError(
                    400,
                    "INVALIDJOB",
                    f"Field name provided, {ext} does not match an "
                    f"External ID, Salesforce Id, or indexed field for {obj.name}",
                ) from None
        else:
            ext = None
        rule = body.get("assignmentRuleId")
        if rule is not None:
            if (
                operation not in ("insert", "update", "upsert")
                or obj.name not in rules.ASSIGNMENT_RULES
            ):
                raise OrgError(
                    400,
                    "INVALIDJOB",
                    f"assignmentRuleId is not supported for {operation} of {obj.name}",
                )
            try:
                rule = rules.rule_for(obj.name, str(rule))
            except OrgError:
                raise OrgError(400, "INVALIDJOB", f"Invalid assignmentRuleId: {rule}") from None
        job_id = self.registry.new_id()
        folder = self.spool_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc)
        job = IngestJob(
            id=job_id,
            object_name=obj.name,
            operation=operation,
            external_id_field=ext,
            column_delimiter=delimiter,
            line_ending=line_ending,
            api_version=api_version,
            created=now,
            folder=folder,
            modified=now,
            assignment_rule_id=rule,
        )
        self.registry.add(job)
        return self._info(job, detailed=False)

    def get(self, job_id: str) -> IngestJob:
        """The job with this id (404 NOT_FOUND if unknown or deleted)."""
        return self.registry.get(job_id)

    def state(self, job: IngestJob) -> str:
        """The job's state now."""
        if job.aborted_at is not None:
            return "Aborted"
        if job.closed_at is None:
            return "Open"
        elapsed = time.monotonic() - job.closed_at
        if elapsed < self.job_seconds / 4:
            return "UploadComplete"
        if elapsed < self.job_seconds or not job.done.is_set():
            return "InProgress"
        return "Failed" if job.fail_message else "JobComplete"

    def _info(self, job: IngestJob, detailed: bool = True) -> dict[str, Any]:
        state = self.state(job)
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object_name,
            "createdById": "0055g00000DEVUSRAA",
            "createdDate": sf_datetime(job.created),
            "systemModstamp": sf_datetime(job.modified or job.created),
            "state": state,
            "externalIdFieldName": job.external_id_field,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.api_version),
            "contentUrl": job.upload_url.lstrip("/"),
            "lineEnding": job.line_ending,
            "columnDelimiter": job.column_delimiter,
        }
        if job.assignment_rule_id:
            info["assignmentRuleId"] = job.assignment_rule_id
        if detailed:
            info.update(
                {
                    "jobType": "V2Ingest",
                    "numberRecordsProcessed": job.processed,
                    "numberRecordsFailed": job.failed,
                    "retries": 0,
                    "totalProcessingTime": int(self.job_seconds * 1000) if state in FINAL else 0,
                    "apiActiveProcessingTime": 0,
                    "apexProcessingTime": 0,
                }
            )
            if state == "Failed":
                info["errorMessage"] = job.fail_message
        return info

    def info(self, job_id: str) -> dict[str, Any]:
        """``GET jobs/ingest/ID``."""
        return self._info(self.get(job_id))

    def list(self, api_version: str, locator: str | None = None) -> dict[str, Any]:
        """``GET jobs/ingest``: ``{done, records, nextRecordsUrl}``, 1000 jobs a page."""
        return self.registry.list_page(
            api_version, locator, lambda job: self._info(job, detailed=False)
        )

    def upload(self, job_id: str, data: bytes) -> None:
        """``PUT jobs/ingest/ID/batches``: the job's one CSV upload."""
        job = self.get(job_id)
        if self.state(job) != "Open":
            raise OrgError(400, "INVALIDJOBSTATE", f"Job {job.id} is not open for uploads")
        if job.upload_path is not None:
            raise OrgError(
                400,
                "BULK_API_ERROR",
                f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure you only do "
                "'PUT' once on a given Job.",
            )
        if len(data) > self.max_upload_bytes:
            raise OrgError(
                400,
                "INVALIDJOB",
                "The upload exceeds one job's limit of 150 MB after "
                "base64 encoding; split the rows into several jobs",
            )
        path = job.folder / "upload.csv"
        path.write_bytes(data)
        job.upload_path = path

    def change_state(self, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PATCH jobs/ingest/ID``: ``UploadComplete`` (close) or ``Aborted``."""
        job = self.get(job_id)
        wanted = body.get("state")
        state = self.state(job)
        if wanted == "UploadComplete":
            if state != "Open":
                raise OrgError(400, "INVALIDJOBSTATE", f"Closing already {state} job not allowed")
            job.closed_at = time.monotonic()
            job.modified = datetime.now(timezone.utc)
            if job.upload_path is None:
                job.fail_message = "InvalidBatch : No data uploaded for the job"
                job.done.set()
            else:
                self._start(job)
        elif wanted == "Aborted":
            if state in FINAL:
                raise OrgError(400, "INVALIDJOBSTATE", f"Aborting already {state} job not allowed")
            job.aborted_at = job.modified = datetime.now(timezone.utc)
            if not job.started and job.upload_path is not None:
                self._start(job)  # writes every row to unprocessedrecords
            elif job.upload_path is None:
                job.done.set()
        else:
            raise OrgError(400, "INVALIDJOBSTATE", f"Invalid state for an ingest job: {wanted}")
        return self._info(job)

    def _start(self, job: IngestJob) -> None:
        job.started = True
        self.registry.submit(self._run, job)

    def _run(self, job: IngestJob) -> None:
        files = runner.ResultFiles(job.folder, job.delimiter_char, job.line_ending_chars)

        def before_row(values: dict) -> None:
            if self.faults.take(ROW_KINDS, "PUT", job.upload_url):
                raise row_lock(str(values.get("Id") or "") or None)

        def progress(processed: int, failed: int) -> None:
            job.processed, job.failed = processed, failed

        try:
            runner.process(
                self.engine,
                job,
                files,
                stopped=lambda: job.aborted_at is not None,
                before_row=before_row,
                progress=progress,
                row_faults=lambda: self.faults.armed(ROW_KINDS, "PUT", job.upload_url),
                batch_rows=self.batch_rows,
                parallel=self.parallel,
            )
        except runner.JobFailed as exc:
            job.fail_message = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported as the job's failure
            log.warning("ingest job %s failed: %s", job.id, exc)
            job.fail_message = "InternalServerError : the job could not be processed"
        finally:
            files.close()
            if self.limits is not None and hasattr(self.limits, "count_bulk_batches"):
                self.limits.count_bulk_batches(max(1, -(-job.processed // 10_000)))
            job.done.set()

    def delete(self, job_id: str) -> None:
        """``DELETE jobs/ingest/ID``: only in UploadComplete, JobComplete, Aborted or Failed."""
        job = self.get(job_id)
        state = self.state(job)
        if state not in DELETABLE:
            raise OrgError(
                400, "INVALIDJOBSTATE", f"Deleting a job in state {state} is not allowed"
            )
        job.deleted = True
        if job.done.is_set() or not job.started:
            shutil.rmtree(job.folder, ignore_errors=True)

    # -- results --------------------------------------------------------------
    def results(self, job_id: str, kind: str) -> bytes:
        """One of the three result CSVs of a job in a final state."""
        job = self.get(job_id)
        state = self.state(job)
        if state not in FINAL:
            raise OrgError(
                400,
                "INVALIDJOBSTATE",
                f"The results of job {job.id} are available once it is complete, not {state}",
            )
        job.done.wait(timeout=60)
        path = job.folder / f"{kind}.csv"
        if not path.exists():
            return b""
        return path.read_bytes()
