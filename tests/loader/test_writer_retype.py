"""A field whose type changes in Salesforce: the staging column follows, every value exact,
on DuckDB and on the Snowflake dialect (fakesnow server, real write_pandas)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from lht.typemap import FieldSpec, arrow_schema
from lht.warehouse.connection import Warehouse
from lht.warehouse.retype import TEXT, column_shapes, join, shape
from lht.warehouse.writer import write_batch

EXTRACTED = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _write(wh: Warehouse, rows: list[dict], fields: list[FieldSpec]) -> None:
    schema = arrow_schema(fields)
    table = pa.Table.from_pylist(
        [{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema
    )
    write_batch(wh, "Opportunity", table, fields, extracted_at=EXTRACTED)


def _values(wh: Warehouse, column: str) -> dict[str, object]:
    rows = wh.execute(
        f"SELECT {wh.quote('Id')}, {wh.quote(column)} FROM {wh.staging_table('Opportunity')}"
    )
    return dict(rows)


def _spec(sf_type: str, precision: int = 0, scale: int = 0) -> list[FieldSpec]:
    return [
        FieldSpec("Id", "id"),
        FieldSpec("Amount__c", sf_type, precision=precision, scale=scale),
    ]


def test_decimal_places_growing_widen_the_column_and_keep_every_value_exact(wh: Warehouse) -> None:
    _write(wh, [{"Id": "o1", "Amount__c": Decimal("999999999999999999")}], _spec("currency", 18, 0))
    _write(wh, [{"Id": "o2", "Amount__c": Decimal("1234.56")}], _spec("currency", 18, 2))
    assert column_shapes(wh, "opportunity")["amount__c"] == "decimal(20,2)"
    assert _values(wh, "Amount__c") == {
        "o1": Decimal("999999999999999999"),
        "o2": Decimal("1234.56"),
    }


def test_precision_or_scale_going_down_keeps_the_wider_column(wh: Warehouse) -> None:
    _write(wh, [{"Id": "o1", "Amount__c": Decimal("12345678.25")}], _spec("currency", 10, 2))
    _write(wh, [{"Id": "o2", "Amount__c": Decimal("7")}], _spec("currency", 5, 0))
    assert column_shapes(wh, "opportunity")["amount__c"] == "decimal(10,2)"
    assert _values(wh, "Amount__c") == {"o1": Decimal("12345678.25"), "o2": Decimal("7")}


def test_a_number_field_turned_text_stores_text_and_keeps_the_old_numbers(wh: Warehouse) -> None:
    _write(wh, [{"Id": "o1", "Amount__c": Decimal("12")}], _spec("double", 10, 0))
    _write(wh, [{"Id": "o2", "Amount__c": "twelve boxes"}], _spec("string"))
    assert column_shapes(wh, "opportunity")["amount__c"] == TEXT
    assert _values(wh, "Amount__c") == {"o1": "12", "o2": "twelve boxes"}
    # and back to a number: the column stays text, the number is stored as its text
    _write(wh, [{"Id": "o3", "Amount__c": Decimal("3.5")}], _spec("double", 10, 1))
    assert _values(wh, "Amount__c") == {"o1": "12", "o2": "twelve boxes", "o3": "3.5"}


def test_an_integer_field_turned_decimal_keeps_its_digits(wh: Warehouse) -> None:
    _write(wh, [{"Id": "o1", "Amount__c": 9_000_000_000_000_000_000}], _spec("long"))
    _write(wh, [{"Id": "o2", "Amount__c": Decimal("0.25")}], _spec("percent", 5, 2))
    # DuckDB: DECIMAL(21,2); Snowflake stores integers as NUMBER(38,0), which leaves no room
    # for decimal places, so the column becomes text there
    values = {k: Decimal(str(v)) for k, v in _values(wh, "Amount__c").items()}
    assert values == {"o1": Decimal("9000000000000000000"), "o2": Decimal("0.25")}


@pytest.mark.parametrize(
    ("stored", "wanted", "joined"),
    [
        ("decimal(18,0)", "decimal(18,2)", "decimal(20,2)"),
        ("decimal(18,2)", "decimal(18,0)", "decimal(20,2)"),
        ("decimal(10,2)", "decimal(5,0)", "decimal(10,2)"),
        ("decimal(38,0)", "decimal(18,2)", TEXT),
        ("int", "decimal(18,0)", "decimal(19,0)"),
        ("decimal(19,0)", "int", "decimal(19,0)"),
        ("float", "decimal(18,2)", TEXT),
        ("decimal(18,2)", TEXT, TEXT),
        (TEXT, "decimal(18,2)", TEXT),
        ("date", "timestamp", TEXT),
    ],
)
def test_the_join_of_two_types_holds_both_exactly(stored: str, wanted: str, joined: str) -> None:
    assert join(stored, wanted) == joined


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("DECIMAL(18,0)", "decimal(18,0)"),
        ("NUMBER(20,2)", "decimal(20,2)"),
        ("VARCHAR", TEXT),
        ("TEXT", TEXT),
        ("TIMESTAMP WITH TIME ZONE", "timestamp"),
        ("TIMESTAMP_TZ(3)", "timestamp"),
        ("BIGINT", "int"),
        ("TIME(3)", "time"),
    ],
)
def test_both_engines_type_names_compare_as_one_shape(declared: str, expected: str) -> None:
    assert shape(declared) == expected
