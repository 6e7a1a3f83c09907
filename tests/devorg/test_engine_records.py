"""OrgEngine record changes keep Salesforce's semantics: audit stamps, recycle bin, purge,
getDeleted/getUpdated, schema changes and formula values that change silently."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from engine_fixtures import SMALL, UTC, Clock, rest_records

from lht_devorg.core.engine import OrgEngine
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


fetch = partial(rest_records, include_deleted=True)


def stamps(eng: OrgEngine, obj: str, record_id: str) -> dict:
    return fetch(
        eng,
        f"SELECT CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM {obj} "
        f"WHERE Id = '{record_id}'",
    )[0]


def test_create_stamps_the_clock_truncated_to_the_second(eng, clock):
    new_id = eng.create("Account", {"Name": "Fresh Co", "AnnualRevenue": 1500})
    rec = stamps(eng, "Account", new_id)
    assert (
        rec["CreatedDate"]
        == rec["LastModifiedDate"]
        == rec["SystemModstamp"]
        == "2026-03-01T12:00:00.000+0000"
    )
    assert len(new_id) == 18 and new_id.startswith("001")
    assert fetch(eng, f"SELECT Tier__c FROM Account WHERE Id = '{new_id}'")[0]["Tier__c"] == "SMB"


def test_created_ids_follow_seeded_ids_and_keep_default_order(eng):
    first = eng.create("Contact", {"LastName": "Zed"})
    second = eng.create("Contact", {"LastName": "Aa"})
    assert first == make_id("003", SMALL["Contact"] + 1) and second > first
    ids = [r["Id"] for r in fetch(eng, "SELECT Id FROM Contact")]
    assert ids == sorted(ids) and ids[-2:] == [first, second]


def test_update_moves_last_modified_and_system_modstamp(eng, clock):
    rid = make_id("001", 20)
    before = stamps(eng, "Account", rid)
    clock.tick(90)
    eng.update("Account", rid, {"Phone": "+1 415 555 0000"})
    after = stamps(eng, "Account", rid)
    assert after["LastModifiedDate"] == after["SystemModstamp"] == "2026-03-01T12:01:30.000+0000"
    assert after["CreatedDate"] == before["CreatedDate"]


def test_delete_moves_only_system_modstamp_and_hides_the_row_from_query(eng, clock):
    rid = make_id("001", 21)
    before = stamps(eng, "Account", rid)
    clock.tick(60)
    eng.delete("Account", rid)
    after = stamps(eng, "Account", rid)
    assert after["IsDeleted"] is True and after["LastModifiedDate"] == before["LastModifiedDate"]
    assert after["SystemModstamp"] == "2026-03-01T12:01:00.000+0000"
    assert not fetch(eng, f"SELECT Id FROM Account WHERE Id = '{rid}'", include_deleted=False)


def test_undelete_restores_and_moves_system_modstamp_again(eng, clock):
    rid = make_id("003", 5)
    eng.delete("Contact", rid)
    clock.tick(30)
    eng.undelete("Contact", rid)
    rec = stamps(eng, "Contact", rid)
    assert rec["IsDeleted"] is False and rec["SystemModstamp"] == "2026-03-01T12:00:30.000+0000"
    assert rec["LastModifiedDate"] <= rec["SystemModstamp"]


def test_purge_removes_the_row_but_get_deleted_still_lists_it(eng, clock):
    rid = make_id("001", 22)
    eng.delete("Account", rid)
    clock.tick(120)
    eng.purge("Account", [rid])
    assert not fetch(eng, f"SELECT Id FROM Account WHERE Id = '{rid}'", include_deleted=True)
    clock.tick(120)
    body = eng.deleted("Account", dt.datetime(2026, 2, 28, tzinfo=UTC), clock.now)
    assert {"id": rid, "deletedDate": "2026-03-01T12:00:00.000+0000"} in body["deletedRecords"]
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}


def test_get_deleted_covers_whole_minutes_only(eng, clock):
    rid = make_id("001", 23)
    clock.tick(50)
    eng.delete("Account", rid)  # at 12:00:50
    body = eng.deleted("Account", dt.datetime(2026, 3, 1, 11, 0, tzinfo=UTC), clock.now)
    assert body["latestDateCovered"] == "2026-03-01T12:00:00.000+0000"
    assert rid not in [r["id"] for r in body["deletedRecords"]]
    clock.tick(60)
    later = eng.deleted("Account", dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC), clock.now)
    assert rid in [r["id"] for r in later["deletedRecords"]]


def test_get_updated_lists_changed_live_records(eng, clock):
    rid = make_id("006", 3)
    clock.tick(61)
    eng.update("Opportunity", rid, {"Description": "moved"})
    clock.tick(120)
    body = eng.updated("Opportunity", dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC), clock.now)
    assert body["ids"] == [rid] and body["latestDateCovered"] == "2026-03-01T12:03:00.000+0000"


def test_formula_changes_silently_without_moving_stamps(eng, clock):
    rid = make_id("a0B", 10)
    before = fetch(
        eng, f"SELECT Total__c, SystemModstamp, LastModifiedDate FROM Invoice__c WHERE Id = '{rid}'"
    )[0]
    clock.tick(600)
    eng.change_formula_silently("Invoice__c", "Total__c", [rid])
    after = fetch(
        eng, f"SELECT Total__c, SystemModstamp, LastModifiedDate FROM Invoice__c WHERE Id = '{rid}'"
    )[0]
    assert after["Total__c"] != before["Total__c"]
    assert (after["SystemModstamp"], after["LastModifiedDate"]) == (
        before["SystemModstamp"],
        before["LastModifiedDate"],
    )


def test_added_field_is_described_queryable_and_bumps_metadata_time(eng, clock):
    before = eng.metadata_changed_at("Account")
    clock.tick(5)
    eng.add_field(
        "Account", {"name": "Region__c", "type": "string", "label": "Region", "length": 40}
    )
    field = next(f for f in eng.describe("Account")["fields"] if f["name"] == "Region__c")
    assert len(field) == 57 and field["custom"] is True and field["soapType"] == "xsd:string"
    assert eng.metadata_changed_at(
        "Account"
    ) > before and eng.metadata_changed_at() >= eng.metadata_changed_at("Account")
    assert eng.metadata_changed_at("Contact") < eng.metadata_changed_at("Account")
    rid = eng.create("Account", {"Name": "Regional", "Region__c": "EMEA"})
    assert fetch(eng, f"SELECT Region__c FROM Account WHERE Id = '{rid}'")[0]["Region__c"] == "EMEA"


def test_removed_field_makes_queries_naming_it_fail_with_invalid_field(eng):
    eng.remove_field("Account", "SLA__c")
    assert "SLA__c" not in [f["name"] for f in eng.describe("Account")["fields"]]
    with pytest.raises(OrgError) as err:
        eng.execute("SELECT Id, SLA__c FROM Account", include_deleted=False)
    assert err.value.error_code == "INVALID_FIELD"


def test_empty_string_is_stored_as_null(eng):
    rid = eng.create("Account", {"Name": "Blank fields", "Description": ""})
    assert (
        fetch(eng, f"SELECT Description FROM Account WHERE Id = '{rid}'")[0]["Description"] is None
    )


def test_create_without_required_field_is_refused(eng):
    with pytest.raises(OrgError) as err:
        eng.create("Account", {"Phone": "1"})
    assert (err.value.status, err.value.error_code, err.value.fields) == (
        400,
        "REQUIRED_FIELD_MISSING",
        ["Name"],
    )


def test_read_only_field_cannot_be_written(eng):
    with pytest.raises(OrgError) as err:
        eng.create("Invoice__c", {"Total__c": 5})
    assert err.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_unknown_record_is_not_found(eng):
    with pytest.raises(OrgError) as err:
        eng.update("Account", make_id("001", 99_999), {"Name": "x"})
    assert (err.value.status, err.value.body()) == (
        404,
        [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
    )


def test_get_record_returns_every_field_with_attributes(eng):
    rid = make_id("003", 1)
    rec = eng.get_record("Contact", rid, api_version="58.0")
    assert rec["attributes"]["url"] == f"/services/data/v58.0/sobjects/Contact/{rid}"
    assert rec["Name"] == "José Müller-Lüdenscheidt"
    assert set(rec) - {"attributes"} == {f["name"] for f in eng.describe("Contact")["fields"]}


def test_threads_can_query_page_and_write_at_the_same_time(eng):
    import csv
    import io
    import threading

    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(15):
                rs = eng.execute(
                    "SELECT Id, Name, CreatedDate FROM Account", include_deleted=True, bulk=True
                )
                rows = list(csv.reader(io.StringIO(eng.page_csv(rs, 0, 1000).decode(), newline="")))
                assert len(rows) == rs.total_size + 1
                eng.release(rs)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer() -> None:
        try:
            for k in range(15):
                rid = eng.create("Account", {"Name": f"Threaded {k}"})
                eng.update("Account", rid, {"Phone": str(k)})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [
        threading.Thread(target=writer) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert eng.count("Account", include_deleted=True) == SMALL["Account"] + 30


@pytest.mark.parametrize(
    "obj, field",
    [
        ("Account", "Tier__c"),
        ("Contact", "Mailing_Label__c"),
        ("Opportunity", "Weighted_Amount__c"),
        ("Lead", "Lead_Score__c"),
        ("Case", "Priority_Score__c"),
        ("Task", "Is_High_Priority__c"),
        ("Invoice__c", "Total__c"),
    ],
)
def test_every_formula_can_change_silently_for_all_records_again_and_again(eng, obj, field):
    def snapshot() -> dict:
        return {
            r[0]: r[1:]
            for r in eng.cursor()
            .execute(
                f'SELECT "Id", "{field}", "SystemModstamp", "LastModifiedDate" FROM {eng.table(obj)}'
            )
            .fetchall()
        }

    before = snapshot()
    eng.change_formula_silently(obj, field)
    after = snapshot()
    eng.change_formula_silently(obj, field)
    again = snapshot()
    nonzero = [k for k, v in before.items() if v[0] not in (None, 0)]
    assert nonzero and all(
        after[k][0] != before[k][0] and again[k][0] != after[k][0] for k in nonzero
    )
    assert all(after[k][1:] == before[k][1:] == again[k][1:] for k in before)
