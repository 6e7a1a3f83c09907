"""Values in Salesforce's write formats (the old tool's bugs 4 and 8: NULL could never clear a
field; datetimes went out with a space instead of `T`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from lht.salesforce.values import BULK_NULL, OutColumn, csv_table, json_records

UTC = dt.timezone.utc
BATCH = pa.record_batch(
    {
        "at": pa.array(
            [dt.datetime(2024, 3, 1, 12, 30, 5, 120000, tzinfo=UTC), None],
            pa.timestamp("us", tz="UTC"),
        ),
        "naive": pa.array([dt.datetime(2024, 3, 1, 12, 30, 5), None], pa.timestamp("us")),
        "day": pa.array([dt.date(2024, 2, 29), None]),
        "flag": pa.array([False, None]),
        "amount": pa.array([Decimal("12.345"), None], pa.decimal128(12, 3)),
        "text": pa.array(['line 1\nline 2, "quoted"', None]),
        "parent": pa.array(["EXT-1", None]),
    }
)
COLUMNS = [
    OutColumn("at", "When__c", "datetime"),
    OutColumn("naive", "Naive__c", "datetime"),
    OutColumn("day", "Day__c", "date"),
    OutColumn("flag", "Flag__c", "boolean"),
    OutColumn("amount", "Amount__c", "currency", scale=2),
    OutColumn("text", "Description"),
    OutColumn("parent", "Account.External_Id__c"),
]


def test_bulk_cells_use_salesforce_formats_and_null_means_leave_unless_clear_nulls() -> None:
    kept = csv_table(BATCH, COLUMNS, clear_nulls=False).to_pylist()
    assert kept[0] == {
        "When__c": "2024-03-01T12:30:05.120Z",
        "Naive__c": "2024-03-01T12:30:05.000Z",
        "Day__c": "2024-02-29",
        "Flag__c": "false",
        "Amount__c": "12.35",
        "Description": 'line 1\nline 2, "quoted"',
        "Account.External_Id__c": "EXT-1",
    }
    assert set(kept[1].values()) == {None}  # an empty cell: leave the field as it is
    cleared = csv_table(BATCH, COLUMNS, clear_nulls=True).to_pylist()[1]
    assert {k for k, v in cleared.items() if v == BULK_NULL} == set(cleared) - {
        "Account.External_Id__c"
    }


def test_collections_records_are_typed_json_and_null_is_sent_only_with_clear_nulls() -> None:
    first, empty = json_records(BATCH, COLUMNS, clear_nulls=False)
    assert first == {
        "When__c": "2024-03-01T12:30:05.120Z",
        "Naive__c": "2024-03-01T12:30:05.000Z",
        "Day__c": "2024-02-29",
        "Flag__c": False,
        "Amount__c": 12.35,
        "Description": 'line 1\nline 2, "quoted"',
        "Account": {"External_Id__c": "EXT-1"},
    }
    assert empty == {}
    cleared = json_records(BATCH, COLUMNS, clear_nulls=True)[1]
    assert cleared == {
        "When__c": None,
        "Naive__c": None,
        "Day__c": None,
        "Flag__c": None,
        "Amount__c": None,
        "Description": None,
    }
