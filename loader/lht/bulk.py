"""Bulk API 2.0 query jobs: create, wait (THE polling helper), download, delete.

Calls go through the client's session (simple-salesforce's ``call_salesforce``), so they
share the transport's timeouts, retries, counting and budget, and re-login once on an
expired session. Result pages are streamed to temporary files by locator (or in parallel
through ``resultPages`` when the org offers it) on background threads, bounded by a
queue, while the caller parses and writes; each page's row count is checked against
``Sforce-NumberOfRecords`` and a damaged page is downloaded again.
"""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

import pyarrow as pa
import requests

from lht.arrowconv import clean_csv_bytes, csv_to_table
from lht.config import Settings
from lht.errors import BulkJobError, LhtError, SalesforceError
from lht.salesforce import SalesforceClient, translate

logger = logging.getLogger(__name__)

PAGE_ATTEMPTS = 3
SPOOL_CHUNK = 1 << 20
_CSV = {"Accept": "text/csv"}
_DONE = object()


def _jobs_url(client: SalesforceClient, job_id: str = "") -> str:
    return client.base_url + "jobs/query" + (f"/{job_id}" if job_id else "")


def create_query_job(client: SalesforceClient, soql: str, *, include_deleted: bool = True) -> str:
    """Create a query (or queryAll) job and return its id."""
    body = {"operation": "queryAll" if include_deleted else "query", "query": soql,
            "columnDelimiter": "COMMA", "lineEnding": "LF"}
    response = client.request("POST", _jobs_url(client), what="Creating a Bulk API 2.0 query job",
                              data=json.dumps(body))
    job_id = str(response.json()["id"])
    logger.info("Bulk job %s created", job_id)
    return job_id


def wait_for_job(client: SalesforceClient, job_id: str, deadline_seconds: float, *,
                 first_wait: float = 0.2, factor: float = 1.5, max_wait: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll the job with backoff until JobComplete; the one polling loop of lht.

    Failed or Aborted jobs raise BulkJobError with Salesforce's errorMessage; a job still
    running at the deadline is aborted and raises BulkJobError saying so.
    """
    started = time.monotonic()
    wait = first_wait
    while True:
        info = client.request("GET", _jobs_url(client, job_id),
                              what=f"Polling Bulk job {job_id}").json()
        state = info.get("state")
        if state == "JobComplete":
            return info
        if state in ("Failed", "Aborted"):
            raise BulkJobError(f"Bulk job {job_id} ended {state}: "
                               f"{info.get('errorMessage') or 'Salesforce gave no reason'}")
        elapsed = time.monotonic() - started
        if elapsed >= deadline_seconds:
            abort_job(client, job_id)
            raise BulkJobError(
                f"Bulk job {job_id} was still {state} after {elapsed:.0f}s "
                f"(LHT_BULK_DEADLINE_SECONDS={deadline_seconds:g}); lht aborted it. Raise the "
                "deadline or narrow the query.")
        sleep(min(wait, max(deadline_seconds - elapsed, 0.0)))
        wait = min(wait * factor, max_wait)


def abort_job(client: SalesforceClient, job_id: str) -> None:
    """Ask Salesforce to abort the job (best effort: failures are logged)."""
    try:
        client.request("PATCH", _jobs_url(client, job_id), what=f"Aborting Bulk job {job_id}",
                       data=json.dumps({"state": "Aborted"}))
        logger.warning("Bulk job %s aborted", job_id)
    except LhtError as exc:
        logger.warning("Could not abort Bulk job %s: %s", job_id, exc)


def delete_job(client: SalesforceClient, job_id: str) -> None:
    """Delete a finished job and its stored results (best effort: failures are logged)."""
    try:
        client.request("DELETE", _jobs_url(client, job_id), what=f"Deleting Bulk job {job_id}")
    except LhtError as exc:
        logger.warning("Could not delete Bulk job %s: %s", job_id, exc)


class _Page:
    """One downloaded results page: its CSV spooled to an unnamed temporary file (cleaned
    of NUL bytes and a BOM), Sforce-NumberOfRecords, and the next locator ('' at the end).

    Pages wait on disk, not in memory, while earlier ones are parsed and written: the
    loader's footprint does not grow with the page size or the number of pages ahead.
    """

    def __init__(self, spool: BinaryIO, count: int | None, locator: str) -> None:
        self.spool, self.count, self.locator = spool, count, locator

    def close(self) -> None:
        self.spool.close()


def _spool_body(response: requests.Response) -> BinaryIO:
    spool = tempfile.TemporaryFile(prefix="lht-page-")
    try:
        head = b""
        for chunk in response.iter_content(SPOOL_CHUNK):
            if b"\x00" in chunk:
                chunk = chunk.replace(b"\x00", b"")
            if head is not None:  # the first bytes: drop a UTF-8 BOM
                head += chunk
                if len(head) < 3:
                    continue
                chunk, head = clean_csv_bytes(head), None
            spool.write(chunk)
        if head:
            spool.write(clean_csv_bytes(head))
        spool.seek(0)
        return spool
    except BaseException:
        spool.close()
        raise
    finally:
        response.close()


def _fetch(client: SalesforceClient, url: str, params: dict[str, Any] | None, job_id: str) -> _Page:
    """Download one results page to disk; a connection dropped mid-body is retried."""
    what = f"Downloading Bulk job {job_id} results"
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        response = client.request("GET", url, what=what, params=params, headers=_CSV, stream=True)
        count = response.headers.get("Sforce-NumberOfRecords")
        locator = response.headers.get("Sforce-Locator") or ""
        try:
            spool = _spool_body(response)
        except requests.exceptions.RequestException as exc:
            if attempt == PAGE_ATTEMPTS:
                raise translate(exc, what) from None
            logger.warning("Bulk job %s: results page cut short (%s); downloading it again",
                           job_id, exc.__class__.__name__)
            continue
        return _Page(spool, int(count) if count is not None else None,
                     "" if locator == "null" else locator)
    raise AssertionError("unreachable")


def _parse_checked(fetched: _Page, schema: pa.Schema, refetch: Callable[[], _Page],
                   job_id: str) -> pa.Table:
    """Parse a page; re-download it while it is damaged (cut short or miscounted)."""
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        problem = ""
        try:
            table = csv_to_table(fetched.spool, schema)
            if fetched.count is None or table.num_rows == fetched.count:
                return table
            problem = f"{table.num_rows} rows where Sforce-NumberOfRecords says {fetched.count}"
        except (pa.ArrowInvalid, ValueError, KeyError) as exc:
            problem = f"unreadable CSV ({str(exc).splitlines()[0][:200]})"
        finally:
            fetched.close()
        if attempt == PAGE_ATTEMPTS:
            raise BulkJobError(f"A results page of Bulk job {job_id} stayed damaged after "
                               f"{PAGE_ATTEMPTS} downloads: {problem}")
        logger.warning("Bulk job %s: damaged results page (%s); downloading it again",
                       job_id, problem)
        fetched = refetch()
    raise AssertionError("unreachable")


def _result_page_urls(client: SalesforceClient, job_id: str) -> list[str] | None:
    """Every page URL from ``resultPages`` (API 58+), or None when the org lacks it."""
    urls: list[str] = []
    url: str | None = _jobs_url(client, job_id) + "/resultPages"
    try:
        while url:
            body = client.request("GET", url, what=f"Listing Bulk job {job_id} result pages").json()
            urls.extend(str(p["resultUrl"]) for p in body.get("resultPages") or [])
            nxt = body.get("nextRecordsUrl") or body.get("nextRecordUrl")
            url = None if body.get("done", True) or not nxt else str(nxt)
    except SalesforceError as exc:
        logger.info("resultPages not available for Bulk job %s (%s); paging by locator",
                    job_id, exc)
        return None
    return urls


def _download_parallel(client: SalesforceClient, job_id: str, urls: list[str],
                       schema: pa.Schema, workers: int) -> Iterator[pa.Table]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lht-bulk") as pool:
        pending: list[tuple[str, Future]] = []
        todo = iter(urls)
        for url in todo:
            pending.append((url, pool.submit(_fetch, client, url, None, job_id)))
            if len(pending) >= workers:
                break
        try:
            while pending:
                url, future = pending.pop(0)
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(_fetch, client, nxt, None, job_id)))
                yield _parse_checked(future.result(), schema,
                                     lambda u=url: _fetch(client, u, None, job_id), job_id)
        finally:
            for _, future in pending:
                future.cancel()


def _download_by_locator(client: SalesforceClient, job_id: str, schema: pa.Schema,
                         settings: Settings) -> Iterator[pa.Table]:
    url = _jobs_url(client, job_id) + "/results"
    pages: queue.Queue = queue.Queue(maxsize=max(1, settings.download_workers))
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def producer() -> None:
        locator = ""
        try:
            while not stop.is_set():
                params = {"maxRecords": settings.bulk_page_records}
                if locator:
                    params["locator"] = locator
                fetched = _fetch(client, url, params, job_id)
                put((params, fetched))
                locator = fetched.locator
                if not locator:
                    break
            put(_DONE)
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=producer, name="lht-bulk-download", daemon=True)
    thread.start()
    try:
        while True:
            item = pages.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            params, fetched = item
            yield _parse_checked(fetched, schema,
                                 lambda p=params: _fetch(client, url, p, job_id), job_id)
    finally:
        stop.set()
        thread.join(timeout=5)


def bulk_query(client: SalesforceClient, soql: str, schema: pa.Schema, settings: Settings, *,
               include_deleted: bool = True, job_id: str | None = None) -> Iterator[pa.Table]:
    """Run ``soql`` as a Bulk API 2.0 job and yield its pages as Arrow tables.

    Pass ``job_id`` when the job was already created (to surface creation errors early).
    The job is deleted afterwards, whether it succeeded, failed or was aborted.
    """
    if job_id is None:
        job_id = create_query_job(client, soql, include_deleted=include_deleted)
    try:
        info = wait_for_job(client, job_id, settings.bulk_deadline_seconds)
        logger.info("Bulk job %s complete: %s records", job_id, info.get("numberRecordsProcessed"))
        urls = _result_page_urls(client, job_id) if settings.download_workers > 1 else None
        if urls:
            yield from _download_parallel(client, job_id, urls, schema, settings.download_workers)
        else:
            yield from _download_by_locator(client, job_id, schema, settings)
    finally:
        delete_job(client, job_id)  # finished, failed or aborted: all deletable
