"""Bulk API 2.0 query results: the pages of a completed job, downloaded, parsed, streamed.

Result pages download to temporary files (in parallel through ``resultPages`` when the
org offers it, else one after the other by locator) while a parsing thread streams them
through pyarrow in small blocks and the caller writes the tables already parsed:
download, parsing and writing overlap, and memory holds a few blocks whatever the page
size. Each page's row count is checked against ``Sforce-NumberOfRecords``; a damaged
page is downloaded again and resumed after the rows already handed on.
"""

from __future__ import annotations

import functools
import itertools
import logging
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

import requests

from lht.config import Settings
from lht.errors import BulkJobError, DiskFullError, SalesforceError, no_room
from lht.lazy import pa
from lht.pipeline import in_background
from lht.salesforce import arrowconv
from lht.salesforce.arrowconv import block_too_small, clean_csv_bytes, csv_batches
from lht.salesforce.client import SalesforceClient, translate

logger = logging.getLogger(__name__)

PAGE_ATTEMPTS = 3
#: Parsed tables (about 4 MB each) waiting for the writer.
PARSED_AHEAD = 2
SPOOL_CHUNK = 1 << 20
_CSV = {"Accept": "text/csv"}


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
        head: bytes | None = b""
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
    except OSError as exc:
        spool.close()
        reason = no_room(exc)
        if reason:
            raise DiskFullError.at(
                tempfile.gettempdir(), "Saving a Bulk results page to a temporary file", reason
            ) from exc
        raise
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
            logger.warning(
                "Bulk job %s: results page cut short (%s); downloading it again",
                job_id,
                exc.__class__.__name__,
            )
            continue
        return _Page(
            spool, int(count) if count is not None else None, "" if locator == "null" else locator
        )
    raise AssertionError("unreachable")


def _parsed(
    page: _Page, schema: pa.Schema, handed: int
) -> Generator[pa.Table, None, tuple[int, str]]:
    """Yield the page's rows after the first ``handed``; return the rows handed on so far
    and what is wrong with the page ("" when nothing is).

    A row larger than a parsing block makes the page parse again in larger blocks, after
    the rows already handed on.
    """
    block = arrowconv.CSV_BLOCK_BYTES
    while True:
        rows = 0
        try:
            for table in csv_batches(page.spool, schema, block_bytes=block):
                fresh = table.slice(min(table.num_rows, max(handed - rows, 0)))
                rows += table.num_rows
                if fresh.num_rows:
                    handed += fresh.num_rows
                    yield fresh
        except (ValueError, KeyError) as exc:  # pa.ArrowInvalid is a ValueError
            if (
                isinstance(exc, pa.ArrowInvalid)
                and block_too_small(exc)
                and block < arrowconv.CSV_MAX_BLOCK_BYTES
            ):
                block = min(block * 4, arrowconv.CSV_MAX_BLOCK_BYTES)
                page.spool.seek(0)
                continue
            return handed, f"unreadable CSV ({str(exc).splitlines()[0][:200]})"
        if page.count is not None and rows != page.count:
            return handed, f"{rows} rows where Sforce-NumberOfRecords says {page.count}"
        return handed, ""


def _page_tables(
    fetched: _Page, refetch: Callable[[], _Page], schema: pa.Schema, job_id: str
) -> Iterator[pa.Table]:
    """Stream one page's rows as tables; a damaged page (unreadable, or a row count other
    than Sforce-NumberOfRecords) is downloaded again and resumed after the rows already
    yielded, which were whole rows: a page's content does not change between downloads."""
    handed = 0
    try:
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            handed, problem = yield from _parsed(fetched, schema, handed)
            if not problem:
                return
            if attempt == PAGE_ATTEMPTS:
                raise BulkJobError(
                    f"A results page of Bulk job {job_id} stayed damaged after "
                    f"{PAGE_ATTEMPTS} downloads: {problem}"
                )
            logger.warning(
                "Bulk job %s: damaged results page (%s); downloading it again", job_id, problem
            )
            fetched.close()
            fetched = refetch()
    finally:
        fetched.close()


def _result_page_urls(client: SalesforceClient, job_url: str, job_id: str) -> list[str] | None:
    """Every page URL from ``resultPages`` (API 58+), or None when the org lacks it."""
    urls: list[str] = []
    url: str | None = job_url + "/resultPages"
    try:
        while url:
            body = client.request("GET", url, what=f"Listing Bulk job {job_id} result pages").json()
            urls.extend(str(p["resultUrl"]) for p in body.get("resultPages") or [])
            nxt = body.get("nextRecordsUrl") or body.get("nextRecordUrl")
            url = None if body.get("done", True) or not nxt else str(nxt)
    except SalesforceError as exc:
        logger.info(
            "resultPages not available for Bulk job %s (%s); paging by locator", job_id, exc
        )
        return None
    return urls


_Fetched = tuple[_Page, Callable[[], _Page]]


def _pages_parallel(
    client: SalesforceClient, job_id: str, urls: list[str], workers: int
) -> Iterator[_Fetched]:
    """The pages at ``urls`` in order, up to ``workers`` of them downloading at a time.

    The first page downloads alone, so that parsing starts as early as it can; each page
    taken then makes room for the next ones.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lht-bulk") as pool:
        pending: deque[tuple[str, Future]] = deque()
        todo = iter(urls)
        for url in itertools.islice(todo, 1):
            pending.append((url, pool.submit(_fetch, client, url, None, job_id)))
        try:
            while pending:
                url, future = pending.popleft()
                fetched = future.result()
                for nxt in itertools.islice(todo, workers - len(pending)):
                    pending.append((nxt, pool.submit(_fetch, client, nxt, None, job_id)))
                yield fetched, functools.partial(_fetch, client, url, None, job_id)
        finally:
            for _, future in pending:
                if not future.cancel() and future.exception() is None:
                    future.result().close()


def _pages_by_locator(
    client: SalesforceClient, job_url: str, job_id: str, settings: Settings
) -> Iterator[_Fetched]:
    """The pages one after the other, each asked for with the previous page's locator."""
    url = job_url + "/results"
    locator = ""
    while True:
        params: dict[str, Any] = {"maxRecords": settings.bulk_page_records}
        if locator:
            params["locator"] = locator
        fetched = _fetch(client, url, params, job_id)
        locator = fetched.locator
        yield fetched, functools.partial(_fetch, client, url, params, job_id)
        if not locator:
            return


def _close(item: Any) -> None:
    if isinstance(item, tuple) and item and isinstance(item[0], _Page):
        item[0].close()


def _tables(pages: Iterator[_Fetched], schema: pa.Schema, job_id: str) -> Iterator[pa.Table]:
    try:
        for fetched, refetch in pages:
            yield from _page_tables(fetched, refetch, schema, job_id)
    finally:
        pages.close()  # type: ignore[attr-defined]  # stops the downloads when parsing stops


def result_tables(
    client: SalesforceClient, job_url: str, job_id: str, schema: pa.Schema, settings: Settings
) -> Iterator[pa.Table]:
    """The rows of the completed job at ``job_url`` as Arrow tables typed by ``schema``."""
    urls = _result_page_urls(client, job_url, job_id) if settings.download_workers > 1 else None
    if urls:
        pages = _pages_parallel(client, job_id, urls, settings.download_workers)
    else:
        pages = in_background(
            lambda: _pages_by_locator(client, job_url, job_id, settings),
            ahead=max(1, settings.download_workers),
            name="lht-bulk-download",
            discard=_close,
        )
    # parsing runs on its own thread too, so the caller's writes overlap it
    yield from in_background(
        lambda: _tables(pages, schema, job_id), ahead=PARSED_AHEAD, name="lht-bulk-parse"
    )
