"""Values in Salesforce's write formats, from the Arrow batches a push streams.

Bulk API 2.0 CSV cells: datetimes ``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC; a timestamp without
a time zone is UTC), dates ``YYYY-MM-DD``, times ``HH:MM:SS.sssZ``, booleans
``true``/``false``, numbers at the field's scale, text as it is (pyarrow's CSV writer
quotes it, multi-line text and quotes intact). NULL is an empty cell ("leave the field as
it is") unless ``clear_nulls``, then ``#N/A``. sObject Collections JSON: the same text for
dates and times, JSON numbers and booleans, a NULL left out unless ``clear_nulls`` (then
JSON ``null``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lht.lazy import pa, pc

#: The Bulk API 2.0 cell that sets a field to null.
BULK_NULL = "#N/A"


@dataclass(frozen=True)
class OutColumn:
    """One column of a push model as it goes out: its name in the batch and on the wire."""

    column: str  # the model's column, as stored
    header: str  # the field API name, or ``Relationship.ExternalIdField``
    sf_type: str = "string"
    scale: int | None = None  # digits after the point for double/currency/percent fields


def _text(array: pa.Array, column: OutColumn) -> pa.Array:
    """``array`` as Salesforce text (NULL stays NULL)."""
    t = array.type
    if pa.types.is_timestamp(t):
        utc = array.cast(pa.timestamp("ms", tz="UTC")) if t.tz else array.cast(pa.timestamp("ms"))
        return pc.binary_join_element_wise(
            pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S"), pa.scalar("Z"), ""
        )
    if pa.types.is_date(t):
        return pc.strftime(array.cast(pa.timestamp("s")), format="%Y-%m-%d")
    if pa.types.is_time(t):
        seconds = array.cast(pa.time32("ms")).cast(pa.int32()).cast(pa.int64())
        stamp = pc.cast(seconds, pa.timestamp("ms"))
        return pc.binary_join_element_wise(
            pc.strftime(stamp, format="%H:%M:%S"), pa.scalar("Z"), ""
        )
    if pa.types.is_boolean(t):
        return pc.if_else(array, pa.scalar("true"), pa.scalar("false"))
    if pa.types.is_decimal(t) and column.scale is not None:
        rounded = pc.round(array, ndigits=column.scale, round_mode="half_towards_infinity")
        precision = min(38, max(t.precision - t.scale, 1) + column.scale)
        return rounded.cast(pa.decimal128(precision, column.scale), safe=False).cast(pa.string())
    if pa.types.is_floating(t) and column.scale is not None:
        return pc.round(array, ndigits=column.scale, round_mode="half_towards_infinity").cast(
            pa.string()
        )
    return array.cast(pa.string())


def csv_table(
    batch: pa.RecordBatch, columns: Sequence[OutColumn], *, clear_nulls: bool
) -> pa.Table:
    """The Bulk CSV cells of ``batch``: one string column per ``columns`` entry, headed by its header."""
    arrays, names = [], []
    for column in columns:
        text = _text(batch.column(column.column), column)
        # a lookup set through its parent's external id cannot be cleared that way
        arrays.append(
            text.fill_null(BULK_NULL) if clear_nulls and "." not in column.header else text
        )
        names.append(column.header)
    return pa.Table.from_arrays(arrays, names=names)


def _json_value(value: Any, array_type: pa.DataType, column: OutColumn) -> Any:
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if column.scale is not None:  # half away from zero, as Salesforce rounds
            value = value.quantize(Decimal(1).scaleb(-column.scale), rounding=ROUND_HALF_UP)
        number = float(value)
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else number
    if isinstance(value, float):
        return round(value, column.scale) if column.scale is not None else value
    return value


def json_records(
    batch: pa.RecordBatch, columns: Sequence[OutColumn], *, clear_nulls: bool
) -> list[dict[str, Any]]:
    """The sObject Collections records of ``batch`` (no ``attributes``); a lookup header
    ``Account.External_Id__c`` becomes ``{"Account": {"External_Id__c": value}}``."""
    prepared = []
    for column in columns:
        array = batch.column(column.column)
        t = array.type
        temporal = pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t)
        values = (_text(array, column) if temporal else array).to_pylist()
        prepared.append((column, t, values))
    records: list[dict[str, Any]] = []
    for i in range(batch.num_rows):
        record: dict[str, Any] = {}
        for column, t, values in prepared:
            value = values[i]
            if value is None and not clear_nulls:
                continue
            value = None if value is None else _json_value(value, t, column)
            if "." in column.header:
                relationship, field = column.header.split(".", 1)
                if value is not None:
                    record[relationship] = {field: value}
                continue  # a lookup cannot be cleared through its parent's external id
            record[column.header] = value
        records.append(record)
    return records
