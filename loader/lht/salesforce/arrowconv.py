"""Salesforce wire formats -> Arrow tables typed by the type map.

Two inputs: REST query records (JSON, numbers parsed as Decimal) and Bulk API 2.0 CSV
pages (raw bytes). Text stays text: "0012", "NA", "null" or "1e5" are never coerced,
and only an empty unquoted CSV cell is NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, BinaryIO

from lht.lazy import pa, pacsv, pc

_UTF8_BOM = b"\xef\xbb\xbf"


def _time_type() -> pa.DataType:
    """Arrow type of Salesforce ``time`` fields."""
    return pa.time32("ms")


def _times(strings: pa.Array) -> pa.Array:
    """``HH:MM:SS.fffZ`` strings -> time32[ms] (via a timestamp on 1970-01-01)."""
    trimmed = pc.replace_substring_regex(strings, r"(Z|[+-]00:?00)$", "")
    stamped = pc.binary_join_element_wise("1970-01-01T", trimmed, "")
    millis = pc.cast(stamped, pa.timestamp("ms")).cast(pa.int64())
    return pc.cast(millis.cast(pa.int32()), _time_type())


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    return str(value)


_EXACT = Context(prec=76)


def _decimal(value: Any, dtype: pa.Decimal128Type) -> Decimal | None:
    """A JSON number as a Decimal at the field's scale (``11500000.0`` -> ``11500000``).

    Salesforce's REST JSON writes numbers as doubles, so a value at the field's limit
    (18 digits) can come back rounded past it (``999999999999999999`` -> ``1E+18``): such a
    value is the limit itself and is clamped to it.
    """
    if value is None:
        return None
    number = (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else str(value))
    )
    number = number.quantize(
        Decimal(1).scaleb(-dtype.scale), rounding=ROUND_HALF_EVEN, context=_EXACT
    )
    limit = Decimal(1).scaleb(dtype.precision - dtype.scale, context=_EXACT) - Decimal(1).scaleb(
        -dtype.scale
    )
    if abs(number) > limit and float(abs(number)) == float(limit):
        return limit.copy_sign(number)
    return number


def _column(values: list[Any], dtype: pa.DataType) -> pa.Array:
    if pa.types.is_string(dtype):
        return pa.array([_text(v) for v in values], type=dtype)
    if pa.types.is_boolean(dtype):
        return pa.array(
            [
                None if v is None else (v if isinstance(v, bool) else str(v).lower() == "true")
                for v in values
            ],
            type=dtype,
        )
    if pa.types.is_integer(dtype):
        return pa.array([None if v is None else int(v) for v in values], type=dtype)
    if pa.types.is_decimal(dtype):
        return pa.array([_decimal(v, dtype) for v in values], type=dtype)
    if pa.types.is_floating(dtype):
        return pa.array([None if v is None else float(v) for v in values], type=dtype)
    strings = pa.array([_text(v) for v in values], type=pa.string())
    if dtype == _time_type():
        return _times(strings)
    return strings.cast(dtype)  # date32, timestamp[ms, UTC] (ISO 8601 with +0000 or Z)


def records_to_table(records: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """REST query records (``attributes`` ignored) -> a table with exactly ``schema``."""
    columns = [_column([r.get(f.name) for r in records], f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def clean_csv_bytes(data: bytes) -> bytes:
    """Strip NUL bytes and a leading UTF-8 BOM (Salesforce CSV may carry both)."""
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    return data


#: Bytes of CSV pyarrow parses at a time. pyarrow's streaming reader reads a few dozen
#: blocks ahead, so its memory grows with the block size: small blocks keep it flat, and
#: 1 MB ones (about 1,600 rows of a 70-column object) are large enough for DuckDB to
#: append as they are, without copying them into one contiguous table first.
CSV_BLOCK_BYTES = 1 << 20
#: The largest block to parse in: a row must fit in one. Salesforce rows stay far below it
#: (an object's long text fields hold 1,638,400 characters in all).
CSV_MAX_BLOCK_BYTES = 64 << 20
#: Bytes of Arrow data per table handed on (about 7,000 rows of a 70-column object).
CSV_TABLE_BYTES = 4 << 20


def block_too_small(exc: pa.ArrowInvalid) -> bool:
    """True when pyarrow refused a row larger than its parsing block."""
    return "straddl" in str(exc)


def _csv_options(schema: pa.Schema, delimiter: str, block_bytes: int) -> dict[str, Any]:
    column_types = {f.name: (pa.string() if f.type == _time_type() else f.type) for f in schema}
    return {
        "read_options": pacsv.ReadOptions(use_threads=False, block_size=block_bytes),
        "parse_options": pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, double_quote=True
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=column_types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["true"],
            false_values=["false"],
            include_columns=[f.name for f in schema],
            include_missing_columns=False,
        ),
    }


def _typed(data: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for f in schema:
        column = data.column(f.name)
        if f.type == _time_type():
            column = _times(column.combine_chunks())
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def csv_batches(
    source: BinaryIO, schema: pa.Schema, delimiter: str = ",", *, block_bytes: int | None = None
) -> Iterator[pa.Table]:
    """Stream one Bulk API 2.0 CSV page (a cleaned binary file at its start, header row
    first) as tables of about :data:`CSV_TABLE_BYTES` each, typed by ``schema``.

    Memory stays at a few tables whatever the page size: the parser works in blocks of
    ``block_bytes`` (default :data:`CSV_BLOCK_BYTES`), grouped into tables (one statement
    per table for the writer, not one per block). A row larger than a block raises
    ArrowInvalid (see :func:`block_too_small`). Columns are matched by name; a column the
    page lacks raises ValueError or ArrowInvalid (the caller treats the page as damaged).
    """
    options = _csv_options(schema, delimiter, block_bytes or CSV_BLOCK_BYTES)
    reader = pacsv.open_csv(source, **options)
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        if batch.num_rows:
            pending.append(batch)
            size += batch.nbytes
        if size >= CSV_TABLE_BYTES:
            yield _typed(pa.Table.from_batches(pending), schema)
            pending, size = [], 0
    if pending:
        yield _typed(pa.Table.from_batches(pending), schema)
