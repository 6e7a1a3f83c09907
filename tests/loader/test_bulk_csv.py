"""Bulk API 2.0 CSV pages and REST records parse into the type map's Arrow types."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from lht.salesforce.arrowconv import clean_csv_bytes, csv_batches, records_to_table

SCHEMA = pa.schema(
    [
        ("Id", pa.string()),
        ("Name", pa.string()),
        ("Stamp", pa.timestamp("ms", tz="UTC")),
        ("At", pa.time32("ms")),
        ("Day", pa.date32()),
        ("Flag", pa.bool_()),
        ("Amount", pa.decimal128(18, 2)),
        ("Ratio", pa.float64()),
        ("Count", pa.int64()),
    ]
)
TRICKY = [
    "ACME – NORTH",
    "0012",
    "20",
    "1e5",
    "NA",
    "null",
    "nan",
    "None",
    "TRUE",
    'line1\r\nline2, "quoted"',
    "x" * 131_072,
    "東京 🚀 café",
]


def csv_to_table(data: bytes, schema: pa.Schema) -> pa.Table:
    """A whole page parsed the way the loader streams it (cleaned, then in blocks)."""
    return pa.concat_tables(list(csv_batches(io.BytesIO(clean_csv_bytes(data)), schema)))


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def test_text_that_looks_like_other_things_stays_text_byte_for_byte():
    lines = ['"Id","Name"'] + [f'"{i:03d}",{_quote(v)}' for i, v in enumerate(TRICKY)]
    data = ("\n".join(lines) + "\n").encode()
    table = csv_to_table(data, pa.schema([("Id", pa.string()), ("Name", pa.string())]))
    assert table.column("Name").to_pylist() == TRICKY


def test_only_an_empty_unquoted_cell_is_null_and_a_bom_and_nul_bytes_are_stripped():
    data = '\ufeff"Id","Name","Stamp","At","Day","Flag","Amount","Ratio","Count"\n'.encode()
    data += (
        b'"1",,,,,,,,\n"2","N\x00A","2024-01-15T10:30:00.123Z","10:30:00.000Z","0001-01-01",'
        b'"true","9999999999999999.99","1e5","20"\n'
    )
    rows = csv_to_table(data, SCHEMA).to_pylist()
    assert all(v is None for k, v in rows[0].items() if k != "Id")
    assert rows[1] == {
        "Id": "2",
        "Name": "NA",
        "Stamp": datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=timezone.utc),
        "At": time(10, 30),
        "Day": date(1, 1, 1),
        "Flag": True,
        "Amount": Decimal("9999999999999999.99"),
        "Ratio": 100000.0,
        "Count": 20,
    }


def test_date_and_datetime_extremes_survive():
    data = (
        b'"Id","Stamp","Day","At"\n"1","9999-12-31T23:59:59.999Z","9999-12-31","23:59:59.999Z"\n'
        b'"2","0001-01-01T00:00:00.000Z","0001-01-01","00:00:00.000Z"\n'
    )
    schema = pa.schema(
        [SCHEMA.field("Id"), SCHEMA.field("Stamp"), SCHEMA.field("Day"), SCHEMA.field("At")]
    )
    rows = csv_to_table(data, schema).to_pylist()
    assert rows[0]["Stamp"] == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
    assert rows[1]["Day"] == date(1, 1, 1) and rows[0]["At"] == time(23, 59, 59, 999000)


def test_a_page_missing_a_column_is_an_error():
    with pytest.raises((KeyError, ValueError, pa.ArrowInvalid)):
        csv_to_table(b'"Id"\n"1"\n', SCHEMA)


def test_rest_records_parse_to_the_same_values_as_csv():
    record = {
        "attributes": {"type": "Account"},
        "Id": "2",
        "Name": "0012",
        "Stamp": "2024-01-15T10:30:00.123+0000",
        "At": "10:30:00.000Z",
        "Day": "0001-01-01",
        "Flag": True,
        "Amount": Decimal("-9999999999999999.99"),
        "Ratio": Decimal("1E+5"),
        "Count": 20,
    }
    row = records_to_table([record, {"Id": "3"}], SCHEMA).to_pylist()
    assert row[0]["Stamp"] == datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=timezone.utc)
    assert row[0]["Amount"] == Decimal("-9999999999999999.99") and row[0]["Name"] == "0012"
    assert row[0]["Count"] == 20 and row[0]["At"] == time(10, 30)
    assert row[1]["Name"] is None and row[1]["Flag"] is None
