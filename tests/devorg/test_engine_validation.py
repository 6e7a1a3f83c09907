"""Describe-driven write checks and batched writes on the engine: the same results, row by
row, as single-record writes would give, in input order."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_fixtures import SMALL, Clock, rest_records

from lht_devorg.core import batchwrite
from lht_devorg.core.engine import OrgEngine
from lht_devorg.core.validate import bulk_error, csv_value
from lht_devorg.errors import OrgError
from lht_devorg.ids import make_id


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def eng(clock):
    engine = OrgEngine(clock=clock)
    engine.seed(SMALL, seed=1)
    yield engine
    engine.close()


def field(eng: OrgEngine, obj: str, name: str) -> dict:
    return eng.schema.require(obj).field(name)


def one(eng: OrgEngine, obj: str, record_id: str, fields: str) -> dict:
    return rest_records(
        eng, f"SELECT {fields} FROM {obj} WHERE Id = '{record_id}'", include_deleted=True
    )[0]


def apply(eng: OrgEngine, *args, **kwargs):
    with eng.transaction():
        return batchwrite.apply(eng, *args, **kwargs)


def test_seeded_external_ids_and_restricted_picklist_are_in_the_describe(eng):
    for obj in ("Account", "Contact"):
        ext = field(eng, obj, "External_Id__c")
        assert (
            ext["externalId"],
            ext["unique"],
            ext["idLookup"],
            ext["createable"],
            ext["updateable"],
        ) == (True, True, True, True, True)
    tier = field(eng, "Account", "Customer_Tier__c")
    assert tier["restrictedPicklist"] and [p["value"] for p in tier["picklistValues"]] == [
        "Gold",
        "Silver",
        "Bronze",
    ]
    assert (
        one(eng, "Account", make_id("001", 3), "External_Id__c")["External_Id__c"] == "ACC-00000003"
    )
    assert (
        one(eng, "Contact", make_id("003", 3), "External_Id__c")["External_Id__c"] == "CON-00000003"
    )


@pytest.mark.parametrize(
    "obj, name, text, expected",
    [
        ("Invoice__c", "Is_Disputed__c", "true", True),
        ("Invoice__c", "Is_Disputed__c", "FALSE", False),
        ("Invoice__c", "Quantity__c", "12", "12"),
        ("Invoice__c", "Paid_At__c", "2025-01-02T03:04:05.000Z", "2025-01-02T03:04:05.000Z"),
        ("Invoice__c", "Notes__c", "#N/A", None),
        ("Invoice__c", "Notes__c", "two\nlines", "two\nlines"),
    ],
)
def test_csv_cells_convert_by_field_type(eng, obj, name, text, expected):
    assert csv_value(field(eng, obj, name), text) == expected


@pytest.mark.parametrize(
    "name, text",
    [
        ("Is_Disputed__c", "yes please"),
        ("Quantity__c", "1,5"),
        ("Paid_At__c", "2025-01-02 03:04:05"),
        ("Due_Date__c", "2025-02-30"),
    ],
)
def test_csv_cells_of_the_wrong_type_are_refused(eng, name, text):
    with pytest.raises(OrgError) as caught:
        csv_value(field(eng, "Invoice__c", name), text)
    assert caught.value.error_code == "INVALID_TYPE_ON_FIELD_IN_RECORD"


def test_bulk_error_text_is_code_message_fields():
    exc = OrgError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
    assert bulk_error(exc) == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert (
        bulk_error(OrgError(400, "ENTITY_IS_DELETED", "entity is deleted", []))
        == "ENTITY_IS_DELETED:entity is deleted:--"
    )


def test_two_updates_of_one_record_in_a_batch_apply_in_order(eng):
    rid = make_id("001", 2)
    results = apply(
        eng,
        "Account",
        "update",
        [{"Id": rid, "Description": "first"}, {"Id": rid, "Description": "second", "Phone": "1"}],
    )
    assert [r.error for r in results] == [None, None]
    assert one(eng, "Account", rid, "Description, Phone") | {"attributes": None} == {
        "attributes": None,
        "Description": "second",
        "Phone": "1",
    }


def test_a_unique_value_twice_in_one_batch_fails_the_later_row(eng):
    results = apply(
        eng,
        "Account",
        "insert",
        [
            {"Name": "a", "External_Id__c": "SAME"},
            {"Name": "b", "External_Id__c": "same"},
            {"Name": "c", "External_Id__c": "ACC-00000001"},
        ],
    )
    assert results[0].error is None
    assert [r.error.error_code for r in results[1:]] == ["DUPLICATE_VALUE", "DUPLICATE_VALUE"]
    assert results[1].error.message.endswith(results[0].record_id)
    assert results[2].error.message.endswith(make_id("001", 1))


def test_batched_upsert_matches_case_insensitively_and_creates_the_rest(eng):
    results = apply(
        eng,
        "Account",
        "upsert",
        [
            {"External_Id__c": "acc-00000004", "Description": "matched"},
            {"External_Id__c": "NEW-1", "Name": "New One"},
            {"External_Id__c": "NEW-2"},
        ],
        "External_Id__c",
    )
    assert (results[0].record_id, results[0].created) == (make_id("001", 4), False)
    assert results[1].created is True
    assert results[2].error.error_code == "REQUIRED_FIELD_MISSING"
    assert one(eng, "Account", results[1].record_id, "External_Id__c")["External_Id__c"] == "NEW-1"


def test_batched_update_of_unknown_and_deleted_records(eng):
    deleted = (
        eng.cursor().execute('SELECT "Id" FROM account WHERE "IsDeleted" LIMIT 1').fetchone()[0]
    )
    results = apply(
        eng,
        "Account",
        "update",
        [
            {"Id": deleted, "Name": "x"},
            {"Id": make_id("001", 99999), "Name": "x"},
            {"Name": "no id"},
            {"Id": "001bad", "Name": "x"},
        ],
    )
    assert [r.error.error_code for r in results] == [
        "ENTITY_IS_DELETED",
        "ENTITY_IS_DELETED",
        "MISSING_ARGUMENT",
        "MALFORMED_ID",
    ]


def test_every_batched_write_moves_system_modstamp(eng, clock):
    rid = make_id("001", 5)
    clock.tick(60)
    apply(
        eng,
        "Account",
        "upsert",
        [{"External_Id__c": "ACC-00000005", "Description": "pushed"}],
        "External_Id__c",
    )
    stamps = one(eng, "Account", rid, "LastModifiedDate, SystemModstamp")
    assert stamps["SystemModstamp"] == stamps["LastModifiedDate"] == "2026-03-01T12:01:00.000+0000"
    clock.tick(60)  # getUpdated covers whole minutes only
    updated = eng.updated(
        "Account",
        dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 3, 1, 12, 5, tzinfo=dt.timezone.utc),
    )
    assert rid in updated["ids"]


def test_formulas_follow_batched_writes(eng):
    rid = make_id("001", 6)
    apply(eng, "Account", "update", [{"Id": rid, "AnnualRevenue": 20_000_000}])
    assert one(eng, "Account", rid, "Tier__c")["Tier__c"] == "Enterprise"


def test_a_required_field_cannot_be_cleared_by_an_update(eng):
    with pytest.raises(OrgError) as caught:
        eng.update("Account", make_id("001", 7), {"Name": None})
    assert caught.value.error_code == "REQUIRED_FIELD_MISSING"
