"""Extraction: build the SOQL, choose REST or Bulk API 2.0, stream Arrow batches.

The one place lht chooses between REST and Bulk API 2.0 for a query; every REST call goes
through the client (:class:`~lht.salesforce.client.SalesforceClient`), every Bulk job
through :mod:`lht.salesforce.bulk`.

In ``auto`` mode an incremental extract issues the REST ``queryAll`` first: its first page
says how many rows match (``totalSize``). Up to ``rest_max_rows`` the REST cursor is paged
on (its first page is already useful); above, the query runs as a Bulk API 2.0 job. A full
load, where large objects are likely, counts first (``SELECT COUNT()``, one small call)
and goes straight to Bulk above ``rest_max_rows``, so no REST page is read and thrown
away. Objects or fields Bulk cannot read always go through REST. Both paths stream with
bounded memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.compute as pc

from lht.config import Settings
from lht.constants import API_VERSION
from lht.errors import (
    ApiLimitError,
    AuthenticationError,
    BulkUnsupportedError,
    ConfigError,
    FieldsChangedError,
    ObjectNotFoundError,
    SalesforceError,
)
from lht.salesforce import bulk
from lht.salesforce.arrowconv import records_to_table
from lht.salesforce.client import SalesforceClient
from lht.salesforce.describe import ObjectPlan, without_bulk
from lht.salesforce.soql import build_count_soql, build_soql, select_fields
from lht.typemap import arrow_schema

logger = logging.getLogger(__name__)

#: REST pages are coalesced into Arrow tables of about this many rows.
REST_BATCH_ROWS = 50_000
#: Salesforce answers 414 URI Too Long past this many bytes of request line path and query.
MAX_URI_BYTES = 16_384
MODES = ("auto", "rest", "bulk")

__all__ = ["Extraction", "FieldsChangedError", "extract"]


@dataclass
class Extraction:
    """A running extract: which engine, the batches, and what is known so far."""

    engine: str
    batches: Iterator[pa.Table] = field(repr=False)
    total_size: int | None = None
    max_watermark: datetime | None = None
    rows: int = 0


def _tracked(extraction: Extraction, batches: Iterator[pa.Table],
             watermark: str | None) -> Iterator[pa.Table]:
    """Yield batches, keeping the extraction's row count and max watermark current."""
    for table in batches:
        if table.num_rows == 0:
            continue
        if watermark is not None:
            top = pc.max(table.column(watermark)).as_py()
            if top is not None and (extraction.max_watermark is None
                                    or top > extraction.max_watermark):
                extraction.max_watermark = top
        extraction.rows += table.num_rows
        yield table


def _rest_batches(client: SalesforceClient, first: dict[str, Any], schema: pa.Schema,
                  object_name: str) -> Iterator[pa.Table]:
    """Page a REST query cursor, coalescing pages into tables of ~REST_BATCH_ROWS rows."""
    page: dict[str, Any] | None = first
    pending: list[pa.Table] = []
    pending_rows = 0
    while page is not None:
        records = page.get("records") or []
        if records:
            pending.append(records_to_table(records, schema))
            pending_rows += len(records)
        next_url = None if page.get("done", True) else page.get("nextRecordsUrl")
        if pending_rows >= REST_BATCH_ROWS or (next_url is None and pending):
            yield pa.concat_tables(pending).combine_chunks()
            pending, pending_rows = [], 0
        page = None if next_url is None else client.query_more(
            next_url, what=f"Querying {object_name} (next page)")


def _start_bulk(client: SalesforceClient, plan: ObjectPlan, soql: str,
                include_deleted: bool) -> tuple[str | None, ObjectPlan]:
    """Create the Bulk job now (so its errors surface here); None if Bulk refuses the object."""
    try:
        return bulk.create_query_job(client, soql, include_deleted=include_deleted), plan
    except BulkUnsupportedError as exc:
        return None, without_bulk(plan, str(exc))


def _count(client: SalesforceClient, plan: ObjectPlan, where: str | None,
           include_deleted: bool) -> int | None:
    """How many rows a full read of ``plan`` matches, or None when the org refuses to count
    them (the REST query then tells)."""
    soql = build_count_soql(plan, where=where)
    try:
        return int(client.query(soql, include_deleted=include_deleted,
                                what=f"Counting {plan.object_name}").get("totalSize") or 0)
    except (AuthenticationError, ApiLimitError, FieldsChangedError, ObjectNotFoundError):
        raise  # the records query would fail the same way
    except SalesforceError as exc:
        logger.info("%s: the org refused SELECT COUNT() (%s); asking the REST query instead",
                    plan.object_name, exc)
        return None


#: A first page already asked for (a grouped change check), by its SOQL: the page, None when
#: that query was not asked, or the error the call would have raised.
FirstPage = Callable[[str], "dict[str, Any] | None"]


def _first_page(client: SalesforceClient, plan: ObjectPlan, soql: str, include_deleted: bool,
                asked: FirstPage | None) -> dict[str, Any]:
    answer = asked(soql) if asked is not None and include_deleted else None
    if answer is not None:
        return answer
    return client.query(soql, include_deleted=include_deleted, what=f"Querying {plan.object_name}")


def rest_uri_bytes(soql: str, include_deleted: bool) -> int:
    """Bytes of the REST query's request URI (path and encoded ``q``) for ``soql``."""
    path = f"/services/data/v{API_VERSION}/{'queryAll' if include_deleted else 'query'}/?"
    return len(path) + len(urlencode({"q": soql}))


def extract(client: SalesforceClient, plan: ObjectPlan, settings: Settings, *,
            since: datetime | None = None, where: str | None = None, mode: str = "auto",
            fields: Sequence[str] | None = None, include_deleted: bool = True,
            first_page: FirstPage | None = None,
            on_job: Callable[[dict[str, Any]], None] | None = None) -> Extraction:
    """Start extracting ``plan``'s object; the returned batches stream the rows.

    ``on_job`` sees a Bulk job's info at each poll (state, rows processed so far).

    ``first_page``: when it holds this very query's first page (a grouped change check of
    ``lht sync``, :mod:`lht.sync.prefetch`), that page is used instead of asking again.
    Raises FieldsChangedError (naming the field) when a queried field no longer exists.
    """
    if mode not in MODES:
        raise ConfigError(f"Unknown extract mode {mode!r}: use one of {', '.join(MODES)}")
    names = select_fields(plan, fields)
    schema = arrow_schema([plan.spec(n) for n in names])
    soql = build_soql(plan, fields=names, since=since, where=where)
    watermark = plan.watermark_field if plan.watermark_field in names else None
    bulk_ok = plan.bulk_supported and not set(names) & set(plan.rest_only)
    if mode == "bulk" and not bulk_ok:
        logger.warning("%s cannot be read by Bulk API 2.0 (%s); using REST", plan.object_name,
                       ", ".join(sorted(set(names) & set(plan.rest_only))) or "object refused")
    logger.debug("SOQL: %s", soql)
    too_long = rest_uri_bytes(soql, include_deleted) > MAX_URI_BYTES
    if too_long and not bulk_ok:
        raise SalesforceError(
            f"{plan.object_name}: the query of its {len(names)} fields is longer than the "
            f"{MAX_URI_BYTES:,}-byte URI Salesforce accepts for REST, and Bulk API 2.0 cannot "
            f"read it ({', '.join(sorted(set(names) & set(plan.rest_only))) or 'object refused'}). "
            "Drop fields from the object (a `where` filter does not help) or ask for Bulk access.")
    if too_long and mode != "rest":
        # a wide object: the query goes in Bulk's POST body, whatever the row count
        logger.info("%s: %d fields make the REST query URI too long: using Bulk API 2.0",
                    plan.object_name, len(names))
        mode = "bulk"
    job_id = None
    first: dict[str, Any] | None = None
    counted: int | None = None
    if mode == "bulk" and bulk_ok:
        job_id, plan = _start_bulk(client, plan, soql, include_deleted)
    elif mode == "auto" and bulk_ok and since is None:
        # A full load counts first, so a large object goes straight to Bulk instead of
        # paying for a REST page of records it would throw away.
        counted = _count(client, plan, where, include_deleted)
        if counted is not None and counted > settings.rest_max_rows:
            logger.info("%s: %d rows match (> %d): using Bulk API 2.0",
                        plan.object_name, counted, settings.rest_max_rows)
            job_id, plan = _start_bulk(client, plan, soql, include_deleted)
    if job_id is None and counted is None:
        first = _first_page(client, plan, soql, include_deleted, first_page)
        total = int(first.get("totalSize") or 0)
        if mode == "auto" and bulk_ok and total > settings.rest_max_rows:
            logger.info("%s: %d rows match (> %d): switching to Bulk API 2.0",
                        plan.object_name, total, settings.rest_max_rows)
            job_id, plan = _start_bulk(client, plan, soql, include_deleted)
    if job_id is not None:
        extraction = Extraction(engine="bulk", batches=iter(()),
                                total_size=counted if first is None else int(first["totalSize"]))
        source = bulk.bulk_query(client, soql, schema, settings,
                                 include_deleted=include_deleted, job_id=job_id, on_poll=on_job)
    else:
        if first is None:
            first = client.query(soql, include_deleted=include_deleted, what=f"Querying {plan.object_name}")
        extraction = Extraction(engine="rest", batches=iter(()),
                                total_size=int(first.get("totalSize") or 0))
        source = _rest_batches(client, first, schema, plan.object_name)
    extraction.batches = _tracked(extraction, source, watermark)
    logger.info("%s: extracting through %s (%s rows expected)", plan.object_name,
                extraction.engine, extraction.total_size if extraction.total_size is not None
                else "?")
    return extraction
