"""Bulk API 1.0 jobs and their batches: creation, close and abort, batches added and
processed, states over time, job counters, the documents' items.

A job is created Open; batches may be added while it is Open, and each is processed as
soon as it is added: at once in a ``Parallel`` job, one after the other in the order added
in a ``Serial`` one (:mod:`.process` does the work). A batch shows Queued, InProgress
and, once ``job_seconds`` have passed since it was added and its work is done, Completed
(some rows may have failed: ``numberRecordsFailed``) or Failed (``stateMessage``).
Closing a job (state Closed) only stops new batches; aborting it (Aborted) also leaves the
batches not yet started Failed. The job's counters sum its batches'. Each batch counts
toward the day's ``DailyBulkApiBatches``.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from ..bulk.registry import JobRegistry
from ..core import batchwrite
from ..core.validate import external_id_field
from ..errors import OrgError
from ..ids import ADMIN_USER_ID, make_id
from . import process
from .formats import CONTENT_TYPES, Bulk1Error, stamp

log = logging.getLogger(__name__)

OPERATIONS = (*batchwrite.OPERATIONS, "query", "queryAll")
QUERY_OPERATIONS = frozenset({"query", "queryAll"})
#: simple-salesforce sends ``concurrencyMode`` as the enum's ordinal (0, 1).
CONCURRENCY = {"Parallel": "Parallel", "Serial": "Serial", "0": "Parallel", "1": "Serial"}
#: Records per batch, at most.
MAX_BATCH_RECORDS = 10_000
#: Bytes per batch request, at most (10 MB).
MAX_BATCH_BYTES = 10_000_000


@dataclass
class Batch:
    """One batch of a job: its request on disk, its outcome once processed."""

    id: str
    job_id: str
    created: datetime
    added: float
    request_path: Path
    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    processed: int = 0
    failed: int = 0
    message: str | None = None
    outcome: process.Outcome | None = None


@dataclass
class Job:
    """One Bulk 1.0 job."""

    id: str
    operation: str
    object_name: str
    external_id_field: str | None
    concurrency: str
    content_type: str
    api_version: str
    created: datetime
    folder: Path
    assignment_rule_id: str | None = None
    state: str = "Open"
    modified: datetime | None = None
    batches: list[Batch] = field(default_factory=list)
    deleted: bool = False
    queue: deque = field(default_factory=deque)
    draining: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Bulk1Jobs:
    """The org's Bulk API 1.0 jobs."""

    def __init__(
        self,
        engine: Any,
        job_seconds: float = 0.3,
        spool_dir: Path | None = None,
        limits: Any = None,
    ) -> None:
        self.engine = engine
        self.job_seconds = job_seconds
        self.limits = limits
        self.registry: JobRegistry[Job] = JobRegistry(
            "bulk1", "Classic", spool_dir, serial_offset=700
        )
        self._serial = itertools.count(secrets.randbelow(10**6) * 1000)

    def close(self) -> None:
        """Stop the background work (batches being written finish first) and delete every
        job's files."""

        def finish(job: Job) -> None:
            for batch in job.batches:
                if batch.started:
                    batch.done.wait(timeout=30)

        self.registry.close(finish)

    # -- jobs -----------------------------------------------------------------------------
    def create(self, body: dict[str, Any], api_version: str) -> Job:
        """A new Open job from a ``jobInfo`` request."""
        operation = str(body.get("operation") or "")
        if operation not in OPERATIONS:
            raise Bulk1Error("InvalidJob", f"Invalid operation: {operation or 'none given'}")
        name = body.get("object")
        obj = self.engine.schema.get(name) if isinstance(name, str) else None
        if obj is None:
            raise Bulk1Error("InvalidJob", f"Unable to find object: {name}")
        content_type = str(body.get("contentType") or "XML")
        if content_type not in CONTENT_TYPES:
            raise Bulk1Error(
                "InvalidJob", f"Unsupported content type: {content_type}; use CSV, JSON or XML"
            )
        concurrency = CONCURRENCY.get(str(body.get("concurrencyMode", "Parallel")))
        if concurrency is None:
            raise Bulk1Error(
                "InvalidJob", f"Invalid concurrency mode: {body.get('concurrencyMode')}"
            )
        ext = body.get("externalIdFieldName") or None
        if operation == "upsert":
            if not ext:
                raise Bulk1Error("InvalidJob", "External ID was blank for upsert")
            try:
                ext = external_id_field(obj, str(ext))["name"]
            except OrgError:  # told as Bulk 1.0 tells it
                raise Bulk1Error(
                    "InvalidJob",
                    f"Field name provided, {ext} does not match an External ID, "
                    f"Salesforce Id, or indexed field for {obj.name}",
                ) from None
        else:
            ext = None
        job_id = self.registry.new_id()
        folder = self.registry.spool_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc)
        job = Job(
            id=job_id,
            operation=operation,
            object_name=obj.name,
            external_id_field=ext,
            concurrency=concurrency,
            content_type=content_type,
            api_version=api_version,
            created=now,
            folder=folder,
            modified=now,
            assignment_rule_id=body.get("assignmentRuleId") or None,
        )
        self.registry.add(job)
        return job

    def get(self, job_id: str) -> Job:
        """The job with this id (InvalidJob if unknown)."""
        try:
            return self.registry.get(job_id)
        except OrgError:  # the registry's 404, told as Bulk 1.0 tells it
            raise Bulk1Error("InvalidJob", f"Unable to find object: {job_id}") from None

    def change_state(self, job_id: str, wanted: str) -> Job:
        """Close (``Closed``) or abort (``Aborted``) a job."""
        job = self.get(job_id)
        with job.lock:
            if wanted not in ("Closed", "Aborted"):
                raise Bulk1Error("InvalidJobState", f"Invalid state: {wanted}")
            if job.state != "Open" and not (wanted == "Aborted" and job.state == "Closed"):
                raise Bulk1Error("InvalidJobState", f"Job {job.id} is already {job.state}")
            job.state = wanted
            job.modified = datetime.now(timezone.utc)
            if wanted == "Aborted":
                for batch in job.batches:
                    if not batch.started:
                        batch.started = True
                        batch.message = (
                            "InvalidBatch : The job was aborted before this batch was processed"
                        )
                        batch.done.set()
                job.queue.clear()
        return job

    def job_items(self, job: Job, json_format: bool) -> list[tuple[str, Any]]:
        """The ``jobInfo`` document's items, in Salesforce's order."""
        states = [self.batch_state(b) for b in job.batches]
        done = [b for b, s in zip(job.batches, states, strict=True) if s in ("Completed", "Failed")]
        return [
            ("id", job.id),
            ("operation", job.operation),
            ("object", job.object_name),
            ("createdById", ADMIN_USER_ID),
            ("createdDate", stamp(job.created, json_format)),
            ("systemModstamp", stamp(job.modified or job.created, json_format)),
            ("state", job.state),
            ("externalIdFieldName", job.external_id_field),
            ("concurrencyMode", job.concurrency),
            ("contentType", job.content_type),
            ("numberBatchesQueued", states.count("Queued")),
            ("numberBatchesInProgress", states.count("InProgress")),
            ("numberBatchesCompleted", states.count("Completed")),
            ("numberBatchesFailed", states.count("Failed")),
            ("numberBatchesTotal", len(states)),
            ("numberRecordsProcessed", sum(b.processed for b in done)),
            ("numberRetries", 0),
            ("apiVersion", float(job.api_version) if json_format else job.api_version),
            ("assignmentRuleId", job.assignment_rule_id),
            ("numberRecordsFailed", sum(b.failed for b in done)),
            ("totalProcessingTime", int(self.job_seconds * 1000) * len(done)),
            ("apiActiveProcessingTime", 0),
            ("apexProcessingTime", 0),
        ]

    # -- batches --------------------------------------------------------------------------
    def add_batch(self, job_id: str, data: bytes) -> Batch:
        """``POST job/ID/batch``: a new batch, processed in the background."""
        job = self.get(job_id)
        if len(data) > MAX_BATCH_BYTES:
            raise Bulk1Error(
                "InvalidBatch",
                f"Batch size exceeds the limit of {MAX_BATCH_BYTES:,} bytes; "
                "split the records into smaller batches",
            )
        with job.lock:
            if job.state != "Open":
                raise Bulk1Error(
                    "InvalidJobState", f"Batches cannot be added to a {job.state.lower()} job"
                )
            batch_id = make_id("751", next(self._serial))
            path = job.folder / f"{batch_id}.request"
            path.write_bytes(data)
            batch = Batch(
                id=batch_id,
                job_id=job.id,
                created=datetime.now(timezone.utc),
                added=time.monotonic(),
                request_path=path,
            )
            job.batches.append(batch)
            job.modified = batch.created
            if job.concurrency == "Serial":
                job.queue.append(batch)
                start = not job.draining
                job.draining = True
            else:
                start = False
                self.registry.submit(partial(self._run, job), batch)  # type: ignore[arg-type]
        if start:
            self.registry.submit(self._drain, job)
        if self.limits is not None:
            self.limits.count_bulk_batches(1)
        return batch

    def _drain(self, job: Job) -> None:
        """A Serial job's batches, one after the other, in the order added."""
        while True:
            with job.lock:
                if not job.queue:
                    job.draining = False
                    return
                batch = job.queue.popleft()
            self._run(job, batch)

    def _run(self, job: Job, batch: Batch) -> None:
        with job.lock:
            if batch.started:  # the job was aborted first
                return
            batch.started = True
        try:
            outcome = process.run(
                self.engine,
                job,
                batch.request_path,
                MAX_BATCH_RECORDS,
                make_id("752", next(self._serial)),
            )
            batch.outcome = outcome
            batch.processed, batch.failed = outcome.processed, outcome.failed
        except process.BatchFailed as exc:
            batch.message = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported as the batch's failure
            log.warning("Bulk 1.0 batch %s of job %s failed: %s", batch.id, job.id, exc)
            batch.message = "InternalServerError : the batch could not be processed"
        finally:
            batch.done.set()

    def batch(self, job_id: str, batch_id: str) -> tuple[Job, Batch]:
        """The job and its batch (InvalidBatch if the job has no such batch)."""
        job = self.get(job_id)
        found = next((b for b in job.batches if b.id == batch_id), None)
        if found is None:
            raise Bulk1Error("InvalidBatch", f"Unable to find object: {batch_id}")
        return job, found

    def batch_state(self, batch: Batch) -> str:
        """The batch's state now."""
        elapsed = time.monotonic() - batch.added
        if batch.done.is_set() and (elapsed >= self.job_seconds or batch.message):
            return "Failed" if batch.message else "Completed"
        if batch.started and elapsed >= self.job_seconds / 4:
            return "InProgress"
        return "Queued"

    def batch_items(self, batch: Batch, json_format: bool) -> list[tuple[str, Any]]:
        """The ``batchInfo`` document's items, in Salesforce's order."""
        state = self.batch_state(batch)
        final = state in ("Completed", "Failed")
        return [
            ("id", batch.id),
            ("jobId", batch.job_id),
            ("state", state),
            ("stateMessage", batch.message if state == "Failed" else None),
            ("createdDate", stamp(batch.created, json_format)),
            ("systemModstamp", stamp(batch.created, json_format)),
            ("numberRecordsProcessed", batch.processed if final else 0),
            ("numberRecordsFailed", batch.failed if final else 0),
            ("totalProcessingTime", int(self.job_seconds * 1000) if final else 0),
            ("apiActiveProcessingTime", 0),
            ("apexProcessingTime", 0),
        ]

    def completed(self, job_id: str, batch_id: str) -> tuple[Job, Batch, process.Outcome]:
        """A batch whose results can be read (InvalidBatch while it runs or once it failed)."""
        job, batch = self.batch(job_id, batch_id)
        state = self.batch_state(batch)
        if state != "Completed" or batch.outcome is None:
            message = batch.message if state == "Failed" else "Batch not completed"
            raise Bulk1Error("InvalidBatch", message or "Batch not completed")
        return job, batch, batch.outcome
