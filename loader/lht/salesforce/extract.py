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

With a ledger (:mod:`lht.salesforce.queryjobs`; the sync passes one for an object's records)
a query that goes to Bulk takes up an open job of this very query, left by a run that did
not finish, instead of creating one; every job created is recorded before its results are
read. The choice of REST or Bulk is the same either way.

When Salesforce refuses a Bulk job for the org's daily allowance (``ExceededQuota``), the
query is read by REST in the same run, paged, if this run's API budget covers its pages
(``ceil(rows / 2000)``, from the count); else the object fails naming ``LHT_API_BUDGET``.
The refusal is remembered for the run: other objects go to REST without asking again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import ceil
from typing import Any
from urllib.parse import urlencode

from lht.config import Settings
from lht.constants import API_VERSION
from lht.errors import (
    ApiLimitError,
    AuthenticationError,
    BulkQuotaError,
    BulkUnsupportedError,
    ConfigError,
    FieldsChangedError,
    ObjectNotFoundError,
    SalesforceError,
)
from lht.lazy import pa, pc
from lht.salesforce import bulk, queryjobs
from lht.salesforce.arrowconv import records_to_table
from lht.salesforce.client import SalesforceClient
from lht.salesforce.describe import ObjectPlan, without_bulk
from lht.salesforce.soql import build_count_soql, build_soql, select_fields
from lht.typemap import FieldSpec, arrow_schema

logger = logging.getLogger(__name__)

#: REST pages are coalesced into Arrow tables of about this many rows.
REST_BATCH_ROWS = 50_000
#: Salesforce answers 414 URI Too Long past this many bytes of request line path and query.
MAX_URI_BYTES = 16_384
#: Rows of a REST query page (Salesforce's default and largest batchSize): the estimate of
#: the calls a REST read of N rows takes is ceil(N / REST_PAGE_ROWS).
REST_PAGE_ROWS = 2000
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
    #: the Bulk job read, when Bulk was used
    job_id: str | None = None
    #: the job taken up again from a run that did not finish, when one was
    reused: queryjobs.Reused | None = None
    #: things the run report should say (a Bulk refusal read by REST)
    notes: list[str] = field(default_factory=list)


def _tracked(
    extraction: Extraction, batches: Iterator[pa.Table], watermark: str | None
) -> Iterator[pa.Table]:
    """Yield batches, keeping the extraction's row count and max watermark current."""
    for table in batches:
        if table.num_rows == 0:
            continue
        if watermark is not None:
            top = pc.max(table.column(watermark)).as_py()
            if top is not None and (
                extraction.max_watermark is None or top > extraction.max_watermark
            ):
                extraction.max_watermark = top
        extraction.rows += table.num_rows
        yield table


def _rest_batches(
    client: SalesforceClient, first: dict[str, Any], specs: Sequence[FieldSpec], object_name: str
) -> Iterator[pa.Table]:
    """Page a REST query cursor, coalescing pages into tables of ~REST_BATCH_ROWS rows (the
    Arrow schema is built at the first record: a query that finds none needs no pyarrow)."""
    page: dict[str, Any] | None = first
    schema: pa.Schema | None = None
    pending: list[pa.Table] = []
    pending_rows = 0
    while page is not None:
        records = page.get("records") or []
        if records:
            schema = schema or arrow_schema(specs)
            pending.append(records_to_table(records, schema))
            pending_rows += len(records)
        next_url = None if page.get("done", True) else page.get("nextRecordsUrl")
        if pending_rows >= REST_BATCH_ROWS or (next_url is None and pending):
            yield pa.concat_tables(pending).combine_chunks()
            pending, pending_rows = [], 0
        page = (
            None
            if next_url is None
            else client.query_more(next_url, what=f"Querying {object_name} (next page)")
        )


@dataclass
class _Start:
    """The outcome of asking for a Bulk job: its id, or why there is none."""

    plan: ObjectPlan
    job_id: str | None = None
    #: the open job of this query a run that did not finish left, taken up instead
    reused: queryjobs.Reused | None = None
    #: Salesforce refused the job for the org's daily Bulk allowance
    refused: str | None = None


def _start_bulk(
    client: SalesforceClient,
    plan: ObjectPlan,
    soql: str,
    include_deleted: bool,
    ledger: queryjobs.JobLedger | None,
) -> _Start:
    """The Bulk job of the query: an open one of the same query from a run that did not
    finish (``ledger``), else one created now (so its errors surface here) and recorded; no
    job if Bulk refuses the object (the plan then says so) or the org's allowance is spent."""
    if ledger is not None:
        reused = queryjobs.reusable_job(client, ledger, plan.object_name, soql, include_deleted)
        if reused is not None:
            return _Start(plan, job_id=reused.job_id, reused=reused)
    refused = client.budget.bulk_refused
    if refused is not None:
        return _Start(plan, refused=refused)
    try:
        info = bulk.create_query_job_info(client, soql, include_deleted=include_deleted)
    except BulkUnsupportedError as exc:
        return _Start(without_bulk(plan, str(exc)))
    except BulkQuotaError as exc:
        logger.warning("%s: %s; reading it by REST", plan.object_name, exc)
        client.budget.bulk_refused = str(exc)
        return _Start(plan, refused=str(exc))
    if ledger is not None:
        queryjobs.record_started(
            ledger, plan.object_name, soql, include_deleted, info, client.server_now()
        )
    return _Start(plan, job_id=str(info["id"]))


def _rest_instead(
    client: SalesforceClient, plan: ObjectPlan, refused: str, rows: int, paid: int
) -> str:
    """Check that this run's API budget covers reading ``rows`` by REST (``paid`` pages already
    read); return the report's note. Raises SalesforceError naming LHT_API_BUDGET otherwise."""
    pages = max(1, ceil(rows / REST_PAGE_ROWS))
    left = client.budget.remaining()
    if left is not None and pages - paid > left:
        raise SalesforceError(
            f"{plan.object_name}: Salesforce refused a Bulk API 2.0 query job for the org's daily allowance "
            f"({refused}), and reading its {rows:,} rows by REST takes about {pages:,} calls "
            f"({REST_PAGE_ROWS:,} rows a page) where this run's API budget has {left:,} left. Raise "
            "LHT_API_BUDGET (or LHT_API_BUDGET_SHARE) to read it by REST, or sync it once the Bulk "
            "allowance frees up (a rolling 24 hours; DailyBulkV2QueryJobs in the org's limits)."
        )
    return (
        f"Bulk API refused the query job for the org's daily allowance: read by REST "
        f"instead (about {pages:,} calls for {rows:,} rows)"
    )


def _count(
    client: SalesforceClient, plan: ObjectPlan, where: str | None, include_deleted: bool
) -> int | None:
    """How many rows a full read of ``plan`` matches, or None when the org refuses to count
    them (the REST query then tells)."""
    soql = build_count_soql(plan, where=where)
    try:
        return int(
            client.query(
                soql, include_deleted=include_deleted, what=f"Counting {plan.object_name}"
            ).get("totalSize")
            or 0
        )
    except (AuthenticationError, ApiLimitError, FieldsChangedError, ObjectNotFoundError):
        raise  # the records query would fail the same way
    except SalesforceError as exc:
        logger.info(
            "%s: the org refused SELECT COUNT() (%s); asking the REST query instead",
            plan.object_name,
            exc,
        )
        return None


#: A first page already asked for (a grouped change check), by its SOQL: the page, None when
#: that query was not asked, or the error the call would have raised.
FirstPage = Callable[[str], "dict[str, Any] | None"]


def _first_page(
    client: SalesforceClient,
    plan: ObjectPlan,
    soql: str,
    include_deleted: bool,
    asked: FirstPage | None,
) -> dict[str, Any]:
    answer = asked(soql) if asked is not None and include_deleted else None
    if answer is not None:
        return answer
    return client.query(soql, include_deleted=include_deleted, what=f"Querying {plan.object_name}")


def rest_uri_bytes(soql: str, include_deleted: bool) -> int:
    """Bytes of the REST query's request URI (path and encoded ``q``) for ``soql``."""
    path = f"/services/data/v{API_VERSION}/{'queryAll' if include_deleted else 'query'}/?"
    return len(path) + len(urlencode({"q": soql}))


def extract(
    client: SalesforceClient,
    plan: ObjectPlan,
    settings: Settings,
    *,
    since: datetime | None = None,
    where: str | None = None,
    mode: str = "auto",
    fields: Sequence[str] | None = None,
    include_deleted: bool = True,
    first_page: FirstPage | None = None,
    on_job: Callable[[dict[str, Any]], None] | None = None,
    ledger: queryjobs.JobLedger | None = None,
) -> Extraction:
    """Start extracting ``plan``'s object; the returned batches stream the rows.

    ``on_job`` sees a Bulk job's info at each poll (state, rows processed so far).

    ``ledger``: where the Bulk jobs of this query are recorded and found again (see the
    module docstring). A job read with a ledger is not deleted: the caller deletes it once
    the rows are written (``Extraction.job_id``).

    ``first_page``: when it holds this very query's first page (a grouped change check of
    ``lht sync``, :mod:`lht.sync.prefetch`), that page is used instead of asking again.
    Raises FieldsChangedError (naming the field) when a queried field no longer exists.
    """
    if mode not in MODES:
        raise ConfigError(f"Unknown extract mode {mode!r}: use one of {', '.join(MODES)}")
    names = select_fields(plan, fields)
    specs = [plan.spec(n) for n in names]
    soql = build_soql(plan, fields=names, since=since, where=where)
    watermark = plan.watermark_field if plan.watermark_field in names else None
    bulk_ok = plan.bulk_supported and not set(names) & set(plan.rest_only)
    if mode == "bulk" and not bulk_ok:
        logger.warning(
            "%s cannot be read by Bulk API 2.0 (%s); using REST",
            plan.object_name,
            ", ".join(sorted(set(names) & set(plan.rest_only))) or "object refused",
        )
    logger.debug("SOQL: %s", soql)
    too_long = rest_uri_bytes(soql, include_deleted) > MAX_URI_BYTES
    if too_long and not bulk_ok:
        raise SalesforceError(
            f"{plan.object_name}: the query of its {len(names)} fields is longer than the "
            f"{MAX_URI_BYTES:,}-byte URI Salesforce accepts for REST, and Bulk API 2.0 cannot "
            f"read it ({', '.join(sorted(set(names) & set(plan.rest_only))) or 'object refused'}). "
            "Drop fields from the object (a `where` filter does not help) or ask for Bulk access."
        )
    if too_long and mode != "rest":
        # a wide object: the query goes in Bulk's POST body, whatever the row count
        logger.info(
            "%s: %d fields make the REST query URI too long: using Bulk API 2.0",
            plan.object_name,
            len(names),
        )
        mode = "bulk"
    job_id: str | None = None
    reused: queryjobs.Reused | None = None
    refused: str | None = None
    first: dict[str, Any] | None = None
    counted: int | None = None

    def start() -> None:
        nonlocal job_id, plan, refused, reused
        started = _start_bulk(client, plan, soql, include_deleted, ledger)
        job_id, plan, refused, reused = (
            started.job_id,
            started.plan,
            started.refused,
            started.reused,
        )

    if mode == "bulk" and bulk_ok:
        start()
    elif mode == "auto" and bulk_ok and since is None:
        # A full load counts first, so a large object goes straight to Bulk instead of
        # paying for a REST page of records it would throw away.
        counted = _count(client, plan, where, include_deleted)
        if counted is not None and counted > settings.rest_max_rows:
            logger.info(
                "%s: %d rows match (> %d): using Bulk API 2.0",
                plan.object_name,
                counted,
                settings.rest_max_rows,
            )
            start()
    if job_id is None and counted is None and refused is None:
        first = _first_page(client, plan, soql, include_deleted, first_page)
        total = int(first.get("totalSize") or 0)
        if mode == "auto" and bulk_ok and total > settings.rest_max_rows:
            logger.info(
                "%s: %d rows match (> %d): switching to Bulk API 2.0",
                plan.object_name,
                total,
                settings.rest_max_rows,
            )
            start()
    notes: list[str] = []
    if refused is not None:
        if too_long:
            raise SalesforceError(
                f"{plan.object_name}: Salesforce refused a Bulk API 2.0 query job for the org's daily "
                f"allowance ({refused}), and the query of its {len(names)} fields is too long for REST. "
                "Sync it once the Bulk allowance frees up (a rolling 24 hours), or drop fields."
            )
        if first is None and counted is None:
            counted = _count(client, plan, where, include_deleted)
        rows = int(first.get("totalSize") or 0) if first is not None else counted
        notes.append(
            _rest_instead(client, plan, refused, rows, paid=1 if first is not None else 0)
            if rows is not None
            else "Bulk API refused the query job for the org's daily allowance: read by REST instead"
        )
    if job_id is not None:
        total_size = counted if first is None else int(first["totalSize"])
        extraction = Extraction(
            engine="bulk", batches=iter(()), total_size=total_size, job_id=job_id, reused=reused
        )
        source = bulk.bulk_query(
            client,
            soql,
            arrow_schema(specs),
            settings,
            include_deleted=include_deleted,
            job_id=job_id,
            on_poll=on_job,
            keep=ledger is not None,
        )
    else:
        if first is None:
            first = client.query(
                soql, include_deleted=include_deleted, what=f"Querying {plan.object_name}"
            )
        extraction = Extraction(
            engine="rest", batches=iter(()), total_size=int(first.get("totalSize") or 0)
        )
        source = _rest_batches(client, first, specs, plan.object_name)
    extraction.notes = notes
    extraction.batches = _tracked(extraction, source, watermark)
    logger.info(
        "%s: extracting through %s (%s rows expected)",
        plan.object_name,
        extraction.engine,
        extraction.total_size if extraction.total_size is not None else "?",
    )
    return extraction
