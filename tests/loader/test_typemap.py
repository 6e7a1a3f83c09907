"""The type map: describe type -> Arrow -> DuckDB / Snowflake, as docs/design.md lays it out."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest

from lht.typemap import FieldSpec, arrow_schema, arrow_type, sql_type

TEXT = [
    "id",
    "reference",
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
    "base64",
    "anyType",
    "complexvalue",
    "json",
    "datacategorygroupreference",
    "masterrecord",
    "byte",
]


@pytest.mark.parametrize("sf_type", TEXT)
def test_text_types_are_strings_everywhere(sf_type: str) -> None:
    f = FieldSpec("F__c", sf_type, length=255)
    assert arrow_type(f) == pa.string()
    assert sql_type(f, "duckdb") == "VARCHAR"
    assert sql_type(f, "snowflake") == "VARCHAR"


@pytest.mark.parametrize(
    ("spec", "arrow", "duck", "snow"),
    [
        (FieldSpec("B", "boolean"), pa.bool_(), "BOOLEAN", "BOOLEAN"),
        (FieldSpec("I", "int", precision=9), pa.int64(), "BIGINT", "NUMBER(38,0)"),
        (FieldSpec("L", "long", precision=18), pa.int64(), "BIGINT", "NUMBER(38,0)"),
        (FieldSpec("C", "currency", 16, 2), pa.decimal128(16, 2), "DECIMAL(16,2)", "NUMBER(16,2)"),
        (FieldSpec("D", "double", 18, 0), pa.decimal128(18, 0), "DECIMAL(18,0)", "NUMBER(18,0)"),
        (
            FieldSpec("G", "double", 18, 15),
            pa.decimal128(18, 15),
            "DECIMAL(18,15)",
            "NUMBER(18,15)",
        ),
        (FieldSpec("P", "percent", 5, 2), pa.decimal128(5, 2), "DECIMAL(5,2)", "NUMBER(5,2)"),
        (FieldSpec("F", "double"), pa.float64(), "DOUBLE", "FLOAT"),
        (FieldSpec("Fc", "currency"), pa.float64(), "DOUBLE", "FLOAT"),
        (FieldSpec("Fp", "percent"), pa.float64(), "DOUBLE", "FLOAT"),
        (FieldSpec("Day", "date"), pa.date32(), "DATE", "DATE"),
        (
            FieldSpec("At", "datetime"),
            pa.timestamp("ms", tz="UTC"),
            "TIMESTAMPTZ",
            "TIMESTAMP_TZ(3)",
        ),
        (FieldSpec("T", "time"), pa.time32("ms"), "TIME", "TIME(3)"),
    ],
)
def test_typed_fields_follow_the_table(
    spec: FieldSpec, arrow: pa.DataType, duck: str, snow: str
) -> None:
    assert arrow_type(spec) == arrow
    assert sql_type(spec, "duckdb") == duck
    assert sql_type(spec, "snowflake") == snow


def test_an_unknown_type_is_text_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="lht.typemap")
    f = FieldSpec("Odd__c", "hologram")
    assert arrow_type(f) == pa.string()
    assert sql_type(f, "snowflake") == "VARCHAR"
    assert arrow_type(FieldSpec("Odd2__c", "HOLOGRAM")) == pa.string()
    assert sum("hologram" in r.getMessage().lower() for r in caplog.records) == 1


def test_compound_parents_are_not_loaded() -> None:
    fields = [
        FieldSpec("Id", "id"),
        FieldSpec("BillingAddress", "address"),
        FieldSpec("BillingCity", "string"),
        FieldSpec("Where__c", "location"),
    ]
    assert arrow_schema(fields).names == ["Id", "BillingCity"]
    with pytest.raises(ValueError, match="compound"):
        arrow_type(fields[1])


def test_type_names_are_matched_in_any_case() -> None:
    assert arrow_type(FieldSpec("A", "anytype")) == pa.string()
    assert arrow_type(FieldSpec("D", "DateTime")) == pa.timestamp("ms", tz="UTC")


def test_from_describe_reads_the_fields_we_need() -> None:
    entry = {
        "name": "AnnualRevenue",
        "type": "currency",
        "precision": 18,
        "scale": 0,
        "length": 0,
        "calculated": False,
        "label": "Annual Revenue",
        "nillable": True,
    }
    assert FieldSpec.from_describe(entry) == FieldSpec("AnnualRevenue", "currency", 18, 0, 0, False)
    formula = FieldSpec.from_describe(
        {"name": "Total__c", "type": "double", "precision": 0, "calculated": True}
    )
    assert formula.calculated and arrow_type(formula) == pa.float64()


def test_arrow_schema_keeps_describe_order_and_names() -> None:
    fields = [
        FieldSpec("SystemModstamp", "datetime"),
        FieldSpec("Id", "id"),
        FieldSpec("Amount", "currency", 16, 2),
    ]
    schema = arrow_schema(fields)
    assert schema.names == ["SystemModstamp", "Id", "Amount"]
    assert schema.field("Amount").type == pa.decimal128(16, 2)
