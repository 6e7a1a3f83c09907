"""The column-wise path of a Bulk ingest update chunk gives, row for row, the results and the
stored values of the record-by-record path (batchwrite.apply on the parsed cells): every
Salesforce error code and message, the precedence of several errors in one row, and the
audit stamps."""

from __future__ import annotations

import pytest
from engine_fixtures import SMALL, Clock

from lht_devorg.core import batchwrite
from lht_devorg.core.engine import OrgEngine
from lht_devorg.core.validate import row_lock
from lht_devorg.ids import make_id
from lht_devorg.ingest import colwise, runner


class _Rollback(Exception):
    pass


@pytest.fixture
def eng():
    clock = Clock()
    engine = OrgEngine(clock=clock)
    engine.seed(SMALL, seed=1)
    clock.tick(60)
    with engine.transaction():
        batchwrite.apply(engine, "Account", "delete", [{"Id": make_id("001", 9)}])
    clock.tick(60)
    yield engine
    engine.close()


def _written(eng: OrgEngine, header: list[str], chunk: list[list[str]], columnwise: bool):
    """(per-row results, the chunk's records afterwards); the writes are rolled back."""
    obj = eng.schema.require("Account")
    fields = runner._columns(eng.schema, "Account", header, "update", None)
    assert colwise.applies("update", header, fields, chunk)
    locked = make_id("001", 7)

    def before_row(values: dict) -> None:
        if values.get("Id") == locked:
            raise row_lock(locked)

    names = ", ".join(
        f'"{n}"' for n in dict.fromkeys(["Id", "SystemModstamp", "LastModifiedDate", *header])
    )
    outcome = {}
    try:
        with eng.transaction():
            if columnwise:
                results = colwise.apply_update(eng, obj, header, fields, chunk, before_row)
            else:
                rows = [runner._values(header, fields, row) for row in chunk]
                results = batchwrite.apply(eng, "Account", "update", rows, None, before_row)
            outcome["results"] = [
                (
                    r.record_id,
                    r.created,
                    r.error and (r.error.error_code, r.error.message, r.error.fields),
                )
                for r in results
            ]
            outcome["records"] = eng._con.execute(
                f'SELECT {names} FROM account ORDER BY "Id"'
            ).fetchall()
            raise _Rollback
    except _Rollback:
        pass
    return outcome["results"], outcome["records"]


HEADER = [
    "Id",
    "Name",
    "Description",
    "Account_Score__c",
    "Customer_Tier__c",
    "NumberOfEmployees",
    "Phone",
    "AnnualRevenue",
]
CHUNK = [
    [make_id("001", 1), "Acme", "two\nlines", "12.5", "Gold", "40", "555-0100", "1000"],  # good
    [make_id("001", 2), "", "", "", "", "", "", ""],  # nothing set: stamps move
    [make_id("001", 3), "B", "x" * 32001, "abc", "Platinum", "", "", ""],  # the type error wins
    [make_id("001", 4), "C", "x" * 32001, "", "Platinum", "", "", ""],  # the value's error wins
    [make_id("001", 5), "#N/A", "", "", "", "", "", ""],  # required field cleared
    [make_id("001", 6), "D", "x" * 32001, "", "", "", "", ""],  # text too long
    [make_id("001", 7), "E", "", "", "", "", "", ""],  # row lock (the fault)
    [make_id("001", 8), "F", "", "1000", "", "", "", ""],  # number out of range
    [make_id("001", 9), "G", "", "", "", "", "", ""],  # in the recycle bin
    ["not-an-id", "H", "", "", "", "", "", ""],  # malformed Id
    ["", "I", "", "", "", "", "", ""],  # no Id
    [make_id("001", 10), "J", "", ""],  # too few cells
    [make_id("001", 11), "K", "#N/A", "3.14159", "Silver", "12", "#N/A", "2.5"],  # rounding, clears
    [make_id("001", 12)[:15], "L", "", "-0", "", "007", "", "-12"],  # a 15-character Id
    [make_id("001", 13), "M", "", "1,5", "", "x", "", ""],  # two type errors: the first
    [make_id("001", 14), "N", "", "", "#N/A", "#N/A", "", "#N/A"],  # nulls on nillable fields
    [make_id("001", 15), "O", "", "", "Platinum", "", "", ""],  # restricted picklist
    [make_id("001", 16), "P", "", "", "", "3000000000", "", ""],  # an int past its digits
]


def test_update_chunk_has_the_row_by_row_results_and_values(eng):
    rows_results, rows_records = _written(eng, HEADER, CHUNK, columnwise=False)
    cols_results, cols_records = _written(eng, HEADER, CHUNK, columnwise=True)
    assert cols_results == rows_results
    assert cols_records == rows_records
    codes = [r[2] and r[2][0] for r in cols_results]
    assert codes == [
        None,
        None,
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "STRING_TOO_LONG",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "UNABLE_TO_LOCK_ROW",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
        "MISSING_ARGUMENT",
        "INVALID_FIELD",
        None,
        None,
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        None,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "NUMBER_OUTSIDE_VALID_RANGE",
    ]


def test_a_column_that_is_not_updateable_fails_only_the_rows_that_set_it(eng):
    header = ["Id", "Name", "CreatedDate"]
    chunk = [
        [make_id("001", 1), "A", "2025-01-01T00:00:00.000Z"],
        [make_id("001", 2), "B", ""],
        [make_id("001", 3), "C", "#N/A"],
        [make_id("001", 4), "D", "not a date"],
    ]
    rows_results, rows_records = _written(eng, header, chunk, columnwise=False)
    cols_results, cols_records = _written(eng, header, chunk, columnwise=True)
    assert cols_results == rows_results
    assert cols_records == rows_records
    assert [r[2] and r[2][0] for r in cols_results] == [
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        None,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
    ]


def test_chunks_the_column_wise_path_does_not_take(eng):
    schema = eng.schema
    twice = [[make_id("001", 1), "A"], [make_id("001", 1)[:15], "B"]]
    assert not colwise.applies(
        "update",
        ["Id", "Name"],
        runner._columns(schema, "Account", ["Id", "Name"], "update", None),
        twice,
    )
    unique = ["Id", "External_Id__c"]
    assert not colwise.applies(
        "update",
        unique,
        runner._columns(schema, "Account", unique, "update", None),
        [[make_id("001", 1), "X"]],
    )
    lookup = ["Id", "Parent.External_Id__c"]
    assert not colwise.applies(
        "update",
        lookup,
        runner._columns(schema, "Account", lookup, "update", None),
        [[make_id("001", 1), "X"]],
    )
    assert not colwise.applies(
        "insert", ["Name"], runner._columns(schema, "Account", ["Name"], "insert", None), [["A"]]
    )
