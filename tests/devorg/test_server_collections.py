"""sObject Collections and single-record upsert on the local org: insert, update, upsert on an
external id, delete, retrieve, allOrNone, lookups through a parent's external id, each
record's error in Salesforce's shape, and the injectable UNABLE_TO_LOCK_ROW."""

from __future__ import annotations

import uuid

import pytest

from lht_devorg.ids import make_id


def key(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def acct(**values) -> dict:
    return {"attributes": {"type": "Account"}, **values}


def collections(sf, method: str, path: str = "composite/sobjects", **kwargs):
    return sf.restful(path, method=method, **kwargs)


def stamp(sf, record_id: str) -> str:
    return sf.query(f"SELECT SystemModstamp FROM Account WHERE Id = '{record_id}'")["records"][0][
        "SystemModstamp"
    ]


def test_insert_answers_one_result_per_record_in_input_order(sf):
    names = [key("order") for _ in range(5)]
    body = {"allOrNone": False, "records": [acct(Name=n) for n in names]}
    results = collections(sf, "POST", json=body)
    assert [r["success"] for r in results] == [True] * 5
    for name, result in zip(names, results, strict=True):
        found = sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["records"]
        assert [r["Id"] for r in found] == [result["id"]]


def test_a_failed_record_does_not_stop_the_others_without_all_or_none(sf):
    body = {
        "allOrNone": False,
        "records": [acct(Name=key()), acct(Description="no name"), acct(Name=key())],
    }
    results = collections(sf, "POST", json=body)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [Name]",
            "fields": ["Name"],
        }
    ]


def test_all_or_none_rolls_back_an_update_too(sf):
    record_id = collections(sf, "POST", json={"records": [acct(Name="Before Rollback")]})[0]["id"]
    body = {
        "allOrNone": True,
        "records": [
            acct(id=record_id, Name="After Rollback"),
            acct(id=record_id, Customer_Tier__c="Platinum"),
        ],
    }
    results = collections(sf, "PATCH", json=body)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf.Account.get(record_id)["Name"] == "Before Rollback"


def test_more_than_200_records_fail_the_whole_call(api):
    body = {"records": [acct(Name=f"n{i}") for i in range(201)]}
    reply = api("POST", "composite/sobjects", json=body)
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_update_moves_system_modstamp_and_json_null_clears_a_field(sf, org_clock):
    record_id = collections(
        sf, "POST", json={"records": [acct(Name=key(), Description="keep me")]}
    )[0]["id"]
    before = stamp(sf, record_id)
    org_clock.advance(2)
    results = collections(
        sf, "PATCH", json={"records": [acct(id=record_id, Description=None, Account_Score__c=87.5)]}
    )
    assert results == [{"id": record_id, "success": True, "errors": []}]
    record = sf.Account.get(record_id)
    assert record["Description"] is None and record["Account_Score__c"] == 87.5
    assert stamp(sf, record_id) > before


def test_upsert_reports_created_then_updated_per_record(sf):
    first, second = key("ext"), key("ext")
    path = "composite/sobjects/Account/External_Id__c"
    results = collections(
        sf,
        "PATCH",
        path,
        json={
            "allOrNone": False,
            "records": [
                acct(External_Id__c=first, Name="Upsert One"),
                acct(External_Id__c=second, Name="Upsert Two"),
            ],
        },
    )
    assert [(r["success"], r["created"]) for r in results] == [(True, True), (True, True)]
    again = collections(
        sf,
        "PATCH",
        path,
        json={
            "records": [
                acct(External_Id__c=second, Name="Upsert Two, again"),
                acct(External_Id__c=key("ext"), Name="Three"),
            ]
        },
    )
    assert [(r["success"], r["created"]) for r in again] == [(True, False), (True, True)]
    assert again[0]["id"] == results[1]["id"]
    assert sf.Account.get(results[1]["id"])["Name"] == "Upsert Two, again"


def test_upsert_refuses_the_same_external_id_twice_in_one_call(sf):
    value = key("dup")
    results = collections(
        sf,
        "PATCH",
        "composite/sobjects/Account/External_Id__c",
        json={
            "records": [acct(External_Id__c=value, Name="A"), acct(External_Id__c=value, Name="B")]
        },
    )
    assert [r["errors"][0]["statusCode"] for r in results] == ["DUPLICATE_EXTERNAL_ID"] * 2


def test_upsert_on_a_field_that_is_no_external_id_is_refused(api):
    reply = api(
        "PATCH", "composite/sobjects/Account/Description", json={"records": [acct(Name="x")]}
    )
    assert reply.status_code == 404
    assert "external ID field" in reply.json()[0]["message"]


def test_a_unique_external_id_refuses_a_duplicate_value(sf):
    value = key("uniq")
    first = collections(sf, "POST", json={"records": [acct(Name="U1", External_Id__c=value)]})[0]
    second = collections(
        sf, "POST", json={"records": [acct(Name="U2", External_Id__c=value.upper())]}
    )[0]
    assert second["success"] is False
    error = second["errors"][0]
    assert error["statusCode"] == "DUPLICATE_VALUE"
    assert error["message"] == (
        f"duplicate value found: External_Id__c duplicates value on record with id: {first['id']}"
    )


@pytest.mark.parametrize(
    "values, code, fields",
    [
        ({"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        (
            {"Name": "ok", "Customer_Tier__c": "Platinum"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Customer_Tier__c"],
        ),
        ({"Name": "ok", "Tier__c": "Gold"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Tier__c"]),
        ({"Name": "ok", "NoSuchField__c": 1}, "INVALID_FIELD", []),
        ({"Name": "ok", "ParentId": "not-an-id"}, "MALFORMED_ID", ["ParentId"]),
        ({"Description": "no name"}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": "ok", "id": "001000000000001AAA"}, "INVALID_FIELD", ["Id"]),
    ],
)
def test_each_rejected_record_carries_salesforce_error_code(sf, values, code, fields):
    result = collections(sf, "POST", json={"records": [acct(**values)]})[0]
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == code
    assert result["errors"][0]["fields"] == fields


def test_restricted_picklist_accepts_its_values(sf):
    result = collections(sf, "POST", json={"records": [acct(Name=key(), Customer_Tier__c="Gold")]})[
        0
    ]
    assert result["success"] is True
    assert sf.Account.get(result["id"])["Customer_Tier__c"] == "Gold"


def test_update_of_a_deleted_record_and_of_a_malformed_id(sf):
    record_id = collections(sf, "POST", json={"records": [acct(Name=key())]})[0]["id"]
    assert collections(sf, "DELETE", params={"ids": record_id})[0]["success"] is True
    results = collections(
        sf, "PATCH", json={"records": [acct(id=record_id, Name="x"), acct(id="001xyz", Name="x")]}
    )
    assert [r["errors"][0]["statusCode"] for r in results] == ["ENTITY_IS_DELETED", "MALFORMED_ID"]


def test_delete_reports_each_id_and_all_or_none_keeps_every_record(sf):
    live = collections(sf, "POST", json={"records": [acct(Name=key()), acct(Name=key())]})
    ids = [r["id"] for r in live]
    results = collections(sf, "DELETE", params={"ids": f"{ids[0]},bogus", "allOrNone": "true"})
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "MALFORMED_ID",
    ]
    assert sf.Account.get(ids[0])["Id"] == ids[0]
    results = collections(sf, "DELETE", params={"ids": ",".join(ids), "allOrNone": "false"})
    assert [r["success"] for r in results] == [True, True]
    again = collections(sf, "DELETE", params={"ids": ids[0]})
    assert again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_retrieve_by_ids_answers_in_input_order_with_null_for_missing(sf, api):
    created = collections(
        sf,
        "POST",
        json={
            "records": [acct(Name="R1", Account_Score__c=1), acct(Name="R2", Account_Score__c=2)]
        },
    )
    ids = [r["id"] for r in created]
    missing = make_id("001", 9_999_999)
    posted = collections(
        sf,
        "POST",
        "composite/sobjects/Account",
        json={"ids": [ids[1], missing, ids[0]], "fields": ["Name", "Account_Score__c"]},
    )
    assert [r and r["Name"] for r in posted] == ["R2", None, "R1"]
    assert posted[0]["attributes"]["type"] == "Account" and posted[0]["Account_Score__c"] == 2
    got = api(
        "GET", "composite/sobjects/Account", params={"ids": ",".join(ids), "fields": "Name"}
    ).json()
    assert [r["Name"] for r in got] == ["R1", "R2"]
    sneaky = api(
        "POST", "composite/sobjects/Account", json={"ids": ids, "fields": ["Name FROM Contact"]}
    )
    assert sneaky.status_code == 400 and sneaky.json()[0]["errorCode"] == "INVALID_FIELD"


def test_lookup_set_through_the_parent_external_id(sf):
    parent_key = key("parent")
    parent = collections(
        sf, "POST", json={"records": [acct(Name="Parent Co", External_Id__c=parent_key)]}
    )[0]
    contact = {
        "attributes": {"type": "Contact"},
        "LastName": "Child",
        "Account": {"External_Id__c": parent_key},
    }
    result = collections(
        sf, "POST", json={"records": [contact, {**contact, "Account": {"External_Id__c": "nope"}}]}
    )
    assert result[0]["success"] is True
    assert sf.Contact.get(result[0]["id"])["AccountId"] == parent["id"]
    assert result[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert "Foreign key external ID: nope not found" in result[1]["errors"][0]["message"]


def test_unable_to_lock_row_fails_only_the_next_n_row_writes(sf, admin):
    assert (
        admin(
            "POST",
            "faults",
            json={"kind": "unable_to_lock_row", "times": 2, "path": "composite/sobjects"},
        ).status_code
        == 201
    )
    results = collections(sf, "POST", json={"records": [acct(Name=key()) for _ in range(4)]})
    codes = [r["errors"][0]["statusCode"] if not r["success"] else "ok" for r in results]
    assert codes == ["UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW", "ok", "ok"]
    again = collections(sf, "POST", json={"records": [acct(Name=key())]})
    assert again[0]["success"] is True


def test_single_record_upsert_creates_updates_and_answers_300_for_several(api, sf):
    value = key("single")
    path = f"sobjects/Account/External_Id__c/{value}"
    created = api("PATCH", path, json={"Name": "Single Upsert"})
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": True,
    }
    updated = api("PATCH", path, json={"Name": "Single Upsert 2"})
    assert updated.status_code == 200 and updated.json()["created"] is False
    assert updated.json()["id"] == created.json()["id"]
    fetched = api("GET", path)
    assert fetched.status_code == 200 and fetched.json()["Name"] == "Single Upsert 2"
    assert sf.Account.get_by_custom_id("External_Id__c", value)["Id"] == created.json()["id"]


def test_single_record_upsert_answers_204_before_api_46(org, session):
    value = key("v45")
    url = f"{org.instance_url}/services/data/v45.0/sobjects/Account/External_Id__c/{value}"
    headers = {"Authorization": f"Bearer {org.new_token()}"}
    assert (
        session.patch(url, json={"Name": "Old API"}, headers=headers, timeout=30).status_code == 201
    )
    assert (
        session.patch(url, json={"Name": "Old API 2"}, headers=headers, timeout=30).status_code
        == 204
    )


def test_several_matches_answer_300_with_the_record_urls(api, org):
    email = f"{key('multi')}@example.com"
    # Contact.Email is an idLookup field that is not unique: it can match several records
    ids = [
        api("POST", "sobjects/Contact", json={"LastName": "Twin", "Email": email}).json()["id"]
        for _ in range(2)
    ]
    reply = api("PATCH", f"sobjects/Contact/Email/{email}", json={"Title": "x"})
    assert reply.status_code == 300
    assert sorted(reply.json()) == sorted(f"/services/data/v59.0/sobjects/Contact/{i}" for i in ids)
    assert api("GET", f"sobjects/Contact/Email/{email}").status_code == 300


def test_single_record_create_sets_a_lookup_through_the_parent_external_id(sf):
    parent_key = key("rest-parent")
    parent_id = sf.Account.create({"Name": "REST Parent", "External_Id__c": parent_key})["id"]
    child = sf.Contact.create({"LastName": "REST Child", "Account": {"External_Id__c": parent_key}})
    assert sf.Contact.get(child["id"])["AccountId"] == parent_id
