"""Extraction: build the SOQL, choose REST or Bulk API 2.0, stream Arrow batches.

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from simple_salesforce.format import format_soql

from lht import bulk
from lht.arrowconv import records_to_table
from lht.config import Settings
from lht.describe import ObjectPlan, without_bulk
from lht.errors import (
    ApiLimitError,
    AuthenticationError,
    BulkUnsupportedError,
    ConfigError,
    FieldsChangedError,
    InvalidNameError,
    ObjectNotFoundError,
    SalesforceError,
)
from lht.salesforce import SalesforceClient
from lht.typemap import arrow_schema

logger = logging.getLogger(__name__)

#: REST pages are coalesced into Arrow tables of about this many rows.
REST_BATCH_ROWS = 50_000
MODES = ("auto", "rest", "bulk")

__all__ = ["Extraction", "FieldsChangedError", "build_count_soql", "build_soql", "extract", "validate_where"]


@dataclass
class Extraction:
    """A running extract: which engine, the batches, and what is known so far."""

    engine: str
    batches: Iterator[pa.Table] = field(repr=False)
    total_size: int | None = None
    max_watermark: datetime | None = None
    rows: int = 0


def validate_where(where: str) -> str:
    """Check a user's SOQL filter; ConfigError when it could escape its parentheses."""
    text = where.strip()
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == ";" or text.startswith(("--", "/*", "*/", "//"), i):
            raise ConfigError(f"Unsafe SOQL filter {where!r}: ';' and comments are not allowed "
                              "in a where filter; write a single condition")
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
        i += 1
    if quote or depth != 0:
        raise ConfigError(f"Unsafe SOQL filter {where!r}: unbalanced quotes or parentheses; "
                          "fix the filter in the project config")
    return text


def _select_fields(plan: ObjectPlan, fields: Sequence[str] | None) -> list[str]:
    if fields is None:
        return list(plan.field_names)
    names: list[str] = []
    for name in fields:
        try:
            canonical = plan.spec(name).name
        except KeyError:
            raise InvalidNameError(f"{plan.object_name}.{name} is not a loaded field of the "
                                   "object's describe") from None
        if canonical not in names:
            names.append(canonical)
    if not names:
        raise InvalidNameError(f"No fields to select from {plan.object_name}")
    return names


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def build_soql(plan: ObjectPlan, *, fields: Sequence[str] | None = None,
               since: datetime | None = None, where: str | None = None) -> str:
    """``SELECT <fields> FROM <object> [WHERE (<where>) AND <watermark> >= <since>]``."""
    names = _select_fields(plan, fields)
    soql = format_soql("SELECT {names:literal} FROM {obj:literal}",
                       names=", ".join(names), obj=plan.object_name)
    return soql + _conditions(plan, since, where)


def build_count_soql(plan: ObjectPlan, *, since: datetime | None = None, where: str | None = None) -> str:
    """``SELECT COUNT() FROM <object>`` with the conditions :func:`build_soql` would use."""
    return format_soql("SELECT COUNT() FROM {obj:literal}", obj=plan.object_name) + _conditions(plan, since, where)


def _conditions(plan: ObjectPlan, since: datetime | None, where: str | None) -> str:
    conditions: list[str] = []
    if where is not None and where.strip():
        conditions.append(format_soql("({where:literal})", where=validate_where(where)))
    if since is not None:
        if plan.watermark_field is None:
            raise ConfigError(f"{plan.object_name} has no SystemModstamp, LastModifiedDate or "
                              "CreatedDate: it can only be extracted in full (since=None)")
        conditions.append(format_soql("{wm:literal} >= {since}", wm=plan.watermark_field,
                                      since=_utc(since).replace(microsecond=0)))
    return " WHERE " + " AND ".join(conditions) if conditions else ""


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
        page = None if next_url is None else client.call(
            f"Querying {object_name} (next page)",
            lambda url=next_url: client.sf.query_more(url, identifier_is_url=True))


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
        return int(client.call(f"Counting {plan.object_name}", lambda: client.sf.query(
            soql, include_deleted=include_deleted)).get("totalSize") or 0)
    except (AuthenticationError, ApiLimitError, FieldsChangedError, ObjectNotFoundError):
        raise  # the records query would fail the same way
    except SalesforceError as exc:
        logger.info("%s: the org refused SELECT COUNT() (%s); asking the REST query instead",
                    plan.object_name, exc)
        return None


def extract(client: SalesforceClient, plan: ObjectPlan, settings: Settings, *,
            since: datetime | None = None, where: str | None = None, mode: str = "auto",
            fields: Sequence[str] | None = None, include_deleted: bool = True) -> Extraction:
    """Start extracting ``plan``'s object; the returned batches stream the rows.

    Raises FieldsChangedError (naming the field) when a queried field no longer exists.
    """
    if mode not in MODES:
        raise ConfigError(f"Unknown extract mode {mode!r}: use one of {', '.join(MODES)}")
    names = _select_fields(plan, fields)
    schema = arrow_schema([plan.spec(n) for n in names])
    soql = build_soql(plan, fields=names, since=since, where=where)
    watermark = plan.watermark_field if plan.watermark_field in names else None
    bulk_ok = plan.bulk_supported and not set(names) & set(plan.rest_only)
    if mode == "bulk" and not bulk_ok:
        logger.warning("%s cannot be read by Bulk API 2.0 (%s); using REST", plan.object_name,
                       ", ".join(sorted(set(names) & set(plan.rest_only))) or "object refused")
    logger.debug("SOQL: %s", soql)
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
        first = client.call(f"Querying {plan.object_name}",
                            lambda: client.sf.query(soql, include_deleted=include_deleted))
        total = int(first.get("totalSize") or 0)
        if mode == "auto" and bulk_ok and total > settings.rest_max_rows:
            logger.info("%s: %d rows match (> %d): switching to Bulk API 2.0",
                        plan.object_name, total, settings.rest_max_rows)
            job_id, plan = _start_bulk(client, plan, soql, include_deleted)
    if job_id is not None:
        extraction = Extraction(engine="bulk", batches=iter(()),
                                total_size=counted if first is None else int(first["totalSize"]))
        source = bulk.bulk_query(client, soql, schema, settings,
                                 include_deleted=include_deleted, job_id=job_id)
    else:
        if first is None:
            first = client.call(f"Querying {plan.object_name}",
                                lambda: client.sf.query(soql, include_deleted=include_deleted))
        extraction = Extraction(engine="rest", batches=iter(()),
                                total_size=int(first.get("totalSize") or 0))
        source = _rest_batches(client, first, schema, plan.object_name)
    extraction.batches = _tracked(extraction, source, watermark)
    logger.info("%s: extracting through %s (%s rows expected)", plan.object_name,
                extraction.engine, extraction.total_size if extraction.total_size is not None
                else "?")
    return extraction
