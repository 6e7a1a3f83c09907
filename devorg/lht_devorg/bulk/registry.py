"""The job registry every kind of Bulk job shares (Bulk API 2.0 query jobs here, ingest jobs
in :mod:`lht_devorg.ingest`, Bulk API 1.0 jobs in :mod:`lht_devorg.bulk1`): Ids, lookup
(404 once deleted), the ``GET jobs/KIND`` list pages, the CSV format options a job is
created with, the background workers and the job files' folder."""

from __future__ import annotations

import itertools
import secrets
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ..cursors import decode_locator, encode_locator
from ..errors import OrgError, not_found
from ..ids import make_id

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
#: Jobs listed per ``GET jobs/query`` or ``GET jobs/ingest`` page.
JOBS_PER_LIST_PAGE = 1000
#: Jobs of one kind worked on at once in the background.
WORKERS = 2


class Job(Protocol):
    """What the registry needs of a job."""

    id: str
    deleted: bool


J = TypeVar("J", bound=Job)


def csv_format(body: dict[str, Any], kind: str) -> tuple[str, str]:
    """The ``columnDelimiter`` and ``lineEnding`` of a job-creation body (defaults COMMA, LF),
    checked, and its ``contentType`` (CSV only) checked; ``kind`` is ``query`` or ``ingest``."""
    delimiter = body.get("columnDelimiter") or "COMMA"
    line_ending = body.get("lineEnding") or "LF"
    if delimiter not in DELIMITERS:
        raise OrgError(400, "INVALIDJOB", f"Invalid column delimiter: {delimiter}")
    if line_ending not in LINE_ENDINGS:
        raise OrgError(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")
    if body.get("contentType", "CSV") != "CSV":
        raise OrgError(400, "INVALIDJOB", f"Only CSV is supported for {kind} jobs")
    return delimiter, line_ending


class JobRegistry(Generic[J]):
    """The jobs of one kind (``query`` or ``ingest``), in creation order. Thread-safe."""

    def __init__(
        self, kind: str, job_type: str, spool_dir: Path | None = None, serial_offset: int = 0
    ) -> None:
        self.kind, self.job_type = kind, job_type
        self._tmp = None if spool_dir else tempfile.TemporaryDirectory(prefix=f"lht-devorg-{kind}-")
        self.spool_dir = Path(spool_dir or self._tmp.name)  # type: ignore[union-attr]
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, J] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count(secrets.randbelow(10**6) * 1000 + serial_offset)
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=f"devorg-{kind}")

    def new_id(self) -> str:
        """A fresh job Id (key prefix 750, as Salesforce's)."""
        return make_id("750", next(self._serial))

    def add(self, job: J) -> None:
        """Register a new job."""
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str) -> J:
        """The job with this id (OrgError 404 NOT_FOUND if unknown or deleted)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.deleted:
            raise not_found()
        return job

    def created(self) -> list[J]:
        """Every job created, deleted ones included, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def submit(self, work: Callable[[J], None], job: J) -> Future[None]:
        """Run ``work(job)`` on a background worker."""
        return self._pool.submit(work, job)

    def list_page(
        self, api_version: str, locator: str | None, info: Callable[[J], dict[str, Any]]
    ) -> dict[str, Any]:
        """``GET jobs/KIND``: ``{done, records, nextRecordsUrl}``, 1000 jobs a page, each
        ``info(job)`` with its ``jobType``."""
        offset = decode_locator(locator) if locator else 0
        jobs = [job for job in self.created() if not job.deleted]
        page = jobs[offset : offset + JOBS_PER_LIST_PAGE]
        more = offset + JOBS_PER_LIST_PAGE < len(jobs)
        records = [{**info(job), "jobType": self.job_type} for job in page]
        next_url = (
            (
                f"/services/data/v{api_version}/jobs/{self.kind}?queryLocator="
                f"{encode_locator(offset + JOBS_PER_LIST_PAGE)}"
            )
            if more
            else None
        )
        return {"done": not more, "records": records, "nextRecordsUrl": next_url}

    def close(self, each: Callable[[J], None] | None = None) -> None:
        """Stop the background work, call ``each`` on every job, delete the folder if it is ours."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if each is not None:
            with self._lock:
                for job in self._jobs.values():
                    each(job)
        if self._tmp is not None:
            self._tmp.cleanup()
