"""One Bulk API 1.0 batch processed: its records written, or its query run.

Ingest: the request's records (CSV with Bulk 2.0 ingest's cell rules: an empty cell leaves
the field as it is, ``#N/A`` sets null; JSON values as REST takes them; XML elements,
``xsi:nil`` for null) are written in one transaction by the record engine, one result per
record in request order. A problem with the request as a whole (an unknown field, a
missing Id column, too many records) fails the batch with its ``stateMessage``.

Query: the SOQL is checked as a Bulk query, then run once; its rows are kept as one result
in the job's content type: CSV as Bulk 2.0 renders it, JSON records with dates and
datetimes as milliseconds since the epoch (as Bulk 1.0 sends them), XML records.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bulk.spool import DEFAULT_CHUNK_ROWS, ResultSpool
from ..core import batchwrite
from ..errors import OrgError
from ..ingest import runner
from . import formats


class BatchFailed(Exception):
    """The batch as a whole cannot be processed; the message is its stateMessage."""


@dataclass
class Outcome:
    """What a processed batch holds: its rows' results (ingest) or its result files (query)."""

    processed: int
    failed: int
    rows: list[batchwrite.RowResult] = field(default_factory=list)
    results: dict[str, Path] = field(default_factory=dict)


def run(engine: Any, job: Any, request_path: Path, max_records: int, result_id: str) -> Outcome:
    """Process one batch of ``job`` (BatchFailed when the batch as a whole fails); a query's
    rows become the result ``result_id``."""
    body = request_path.read_bytes()
    if job.operation in ("query", "queryAll"):
        return _query(
            engine,
            job,
            body.decode("utf-8-sig", errors="replace").strip(),
            request_path.with_suffix(""),
            result_id,
        )
    try:
        rows = _rows(engine, job, body)
    except formats.Bulk1Error as exc:
        raise BatchFailed(f"{exc.code} : {exc.message}") from None
    except runner.JobFailed as exc:
        raise BatchFailed(str(exc)) from None
    if len(rows) > max_records:
        raise BatchFailed(
            f"InvalidBatch : The batch holds {len(rows):,} records; a batch holds at most "
            f"{max_records:,}"
        )
    with engine.transaction():
        results = batchwrite.apply(
            engine, job.object_name, job.operation, rows, job.external_id_field
        )
    return Outcome(len(results), sum(r.error is not None for r in results), rows=results)


def _rows(engine: Any, job: Any, body: bytes) -> list[dict | OrgError]:
    """The request's records as write values (an OrgError for a record that already failed)."""
    schema, obj = engine.schema, job.object_name
    if job.content_type == "CSV":
        header, cells = formats.csv_rows(body)
        fields = runner.header_fields(schema, obj, header, job.operation, job.external_id_field)
        return [runner.row_values(header, fields, row) for row in cells]
    if job.content_type == "JSON":
        records = formats.json_rows(body)
        keys = list(dict.fromkeys(k for r in records for k in r))
        if records:
            runner.header_fields(schema, obj, keys, job.operation, job.external_id_field)
        return list(records)
    out: list[dict | OrgError] = []
    checked: dict[tuple[str, ...], list[dict | None]] = {}
    for names, values in formats.xml_rows(body):
        key = tuple(names)
        if key not in checked:
            checked[key] = runner.header_fields(
                schema, obj, names, job.operation, job.external_id_field
            )
        out.append(runner.row_values(names, checked[key], values))
    return out


def _query(engine: Any, job: Any, soql: str, stem: Path, result_id: str) -> Outcome:
    include_deleted = job.operation == "queryAll"
    try:
        checked = engine.plan(soql, include_deleted=include_deleted, bulk=True)
    except OrgError as exc:
        raise BatchFailed(
            f"InvalidBatch : Failed to process query: {exc.error_code}: {exc.message}"
        ) from None
    if checked.obj.name.lower() != job.object_name.lower():
        raise BatchFailed(
            f"InvalidBatch : The query is on {checked.obj.name}; the job is on {job.object_name}"
        )
    path = stem.with_name(f"{stem.name}-{result_id}.{job.content_type.lower()}")
    if job.content_type == "CSV":
        spool = ResultSpool(stem.with_name(f"{stem.name}.spool"), ",", "\n")
        try:
            with engine.stream_csv(
                soql, include_deleted=include_deleted, chunk_rows=DEFAULT_CHUNK_ROWS
            ) as rows:
                spool.fill(rows.columns, rows.tables)
            path.write_bytes(spool.page(0, spool.total))
            total = spool.total
        finally:
            spool.close()
    else:
        result = engine.execute(soql, include_deleted=include_deleted, bulk=False)
        try:
            records = engine.page_records(result, 0, result.total_size, api_version=job.api_version)
        finally:
            engine.release(result)
        typed = [_bulk_values(engine.schema, r, job.content_type == "JSON") for r in records]
        path.write_bytes(
            json.dumps(typed).encode()
            if job.content_type == "JSON"
            else formats.query_records_xml(typed)
        )
        total = len(records)
    return Outcome(total, 0, results={result_id: path})


def _bulk_values(schema: Any, record: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """A REST record with its dates and datetimes as Bulk 1.0 sends them: in JSON,
    milliseconds since the epoch; in XML, ``2024-01-15T10:30:00.000Z`` and ``2024-01-15``."""
    obj = schema.get((record.get("attributes") or {}).get("type") or "")
    out: dict[str, Any] = {}
    for name, value in record.items():
        f = obj.field(name) if obj is not None and name != "attributes" else None
        if isinstance(value, dict) and name != "attributes":
            out[name] = _bulk_values(schema, value, as_json)
        elif value is not None and f is not None and f["type"] in ("date", "datetime"):
            out[name] = _moment(str(value), f["type"], as_json)
        else:
            out[name] = value
    return out


def _moment(text: str, kind: str, as_json: bool) -> Any:
    if kind == "date":
        day = dt.date.fromisoformat(text[:10])
        if not as_json:
            return day.isoformat()
        return round(
            dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000
        )
    moment = dt.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    if as_json:
        return round(moment.timestamp() * 1000)
    return (
        moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}Z"
    )
