"""Per-row results of the write-back runs (``lht push``), appended through THE writer.

Every row sent to Salesforce gets one result row in ``<staging>._lht_push_results``
(append-only, kind ``push_result``). dbt builds ``salesforce.lht_push_results`` from it
(one row per push and key), and the change-set macros read it to send only what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from lht.constants import KIND_PUSH_RESULT, PUSH_RESULTS_TABLE
from lht.lazy import pa
from lht.typemap import FieldSpec, arrow_type
from lht.warehouse.connection import Warehouse
from lht.warehouse.writer import WriteResult, ensure_table, write_batch


@dataclass(frozen=True)
class PushResult:
    """What Salesforce answered for one row sent (or settled) by a push."""

    push_name: str
    object_name: str
    key_value: str
    operation: str  # insert | update | upsert | delete | hard_delete
    success: bool
    salesforce_id: str | None = None
    created: bool | None = None
    error_code: str | None = None
    error_message: str | None = None
    values_hash: str | None = None  # the change set's hash of the values sent
    job_id: str | None = None  # the Bulk ingest job, when the row went through Bulk
    attempted_at: datetime | None = None
    row_digest: str | None = (
        None  # digest of the CSV cells uploaded (matches a Bulk result row without its key)
    )


#: The columns of ``_lht_push_results`` (besides the writer's metadata), typed by the type map.
PUSH_RESULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("push_name", "string"),
    FieldSpec("object_name", "string"),
    FieldSpec("key_value", "string"),
    FieldSpec("operation", "string"),
    FieldSpec("success", "boolean"),
    FieldSpec("salesforce_id", "id"),
    FieldSpec("created", "boolean"),
    FieldSpec("error_code", "string"),
    FieldSpec("error_message", "textarea"),
    FieldSpec("values_hash", "string"),
    FieldSpec("job_id", "string"),
    FieldSpec("attempted_at", "datetime"),
    FieldSpec("row_digest", "string"),
)
_NAMES = [f.name for f in fields(PushResult)]
assert _NAMES == [f.name for f in PUSH_RESULT_FIELDS]


def ensure_push_results(wh: Warehouse) -> str:
    """Create ``_lht_push_results`` if missing (the change-set SQL reads it); return its name."""
    return ensure_table(wh, PUSH_RESULTS_TABLE, PUSH_RESULT_FIELDS)


def write_result_rows(
    wh: Warehouse,
    table: str,
    kind: str,
    specs: Sequence[FieldSpec],
    rows: Sequence[Any],
    *,
    attempted_at: datetime,
) -> WriteResult:
    """Append dataclass ``rows`` (fields in ``specs``' order) to the loader table ``table`` as
    one batch, through the one writer; a row without ``attempted_at`` gets the batch's time."""
    # attribute by attribute, not dataclasses.astuple: that deep-copies every value of every row
    names = [f.name for f in fields(rows[0])] if rows else []
    columns: list[Sequence[Any]] = (
        [[getattr(r, n) for r in rows] for n in names] if rows else [()] * len(specs)
    )
    arrays = {}
    for spec, values in zip(specs, columns, strict=True):
        if spec.name == "attempted_at":
            values = tuple(v or attempted_at for v in values)
        arrays[spec.name] = pa.array(list(values), arrow_type(spec))
    return write_batch(wh, table, pa.table(arrays), specs, kind=kind, extracted_at=attempted_at)


def write_push_result_table(
    wh: Warehouse, data: pa.Table, *, attempted_at: datetime
) -> WriteResult:
    """Append result rows given as Arrow columns (any of ``PushResult``'s; the others NULL) as
    one batch, without a Python object per row; ``attempted_at`` is the batch's time."""
    types = {f.name: arrow_type(f) for f in PUSH_RESULT_FIELDS}
    if "attempted_at" not in data.schema.names:
        data = data.append_column(
            "attempted_at", pa.repeat(pa.scalar(attempted_at, types["attempted_at"]), data.num_rows)
        )
    data = pa.table({name: data[name].cast(types[name]) for name in data.schema.names})
    return write_batch(
        wh,
        PUSH_RESULTS_TABLE,
        data,
        PUSH_RESULT_FIELDS,
        kind=KIND_PUSH_RESULT,
        extracted_at=attempted_at,
    )


def write_push_results(
    wh: Warehouse, results: Sequence[PushResult], *, attempted_at: datetime
) -> WriteResult:
    """Append ``results`` as one batch; a result without ``attempted_at`` gets the batch's time."""
    return write_result_rows(
        wh,
        PUSH_RESULTS_TABLE,
        KIND_PUSH_RESULT,
        PUSH_RESULT_FIELDS,
        results,
        attempted_at=attempted_at,
    )
