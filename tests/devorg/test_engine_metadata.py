"""Describes and describeGlobal: real payloads kept intact, derived objects shaped like them."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from lht_devorg.core.engine import OrgEngine
from lht_devorg.errors import OrgError
from lht_devorg.ids import is_id, make_id, suffix, to18


@pytest.fixture(scope="module")
def eng():
    engine = OrgEngine()
    yield engine
    engine.close()


OBJECTS = [
    "Account",
    "Attachment",
    "Case",
    "Contact",
    "Invoice__c",
    "Lead",
    "Opportunity",
    "Task",
    "User",
]


def test_org_lists_its_objects_in_describe_global(eng):
    body = eng.describe_global()
    assert eng.objects() == OBJECTS
    assert [s["name"] for s in body["sobjects"]] == OBJECTS
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    keys = {len(s) for s in body["sobjects"]}
    assert keys == {28}, "every entry keeps the real describeGlobal keys"
    inv = next(s for s in body["sobjects"] if s["name"] == "Invoice__c")
    assert inv["custom"] is True and inv["keyPrefix"] == "a0B"
    assert inv["urls"]["describe"] == "/services/data/v59.0/sobjects/Invoice__c/describe"


@pytest.mark.parametrize("name", OBJECTS)
def test_every_field_has_the_57_keys_of_a_real_describe(eng, name):
    body = eng.describe(name)
    assert all(len(f) == 57 for f in body["fields"])
    assert body["name"] == name and body["fields"][0]["name"] == "Id"


@pytest.mark.parametrize("name", ["Account", "Contact", "Opportunity", "Lead", "Case", "Task"])
def test_real_payload_fields_are_kept_exactly(eng, name):
    real = json.loads(
        resources.files("lht_devorg.meta").joinpath("describes", f"{name}.json").read_text("utf-8")
    )
    ours = {f["name"]: f for f in eng.describe(name, "58.0")["fields"]}
    for field in real["fields"]:
        assert ours[field["name"]] == field


def test_describe_urls_follow_the_requested_version(eng):
    body = eng.describe("Account", "61.0")
    assert body["urls"]["describe"] == "/services/data/v61.0/sobjects/Account/describe"


def test_unknown_object_describe_is_not_found(eng):
    with pytest.raises(OrgError) as err:
        eng.describe("Nope__c")
    assert err.value.status == 404 and err.value.error_code == "NOT_FOUND"


def test_invoice_fields_have_the_declared_types_and_sizes(eng):
    f = {x["name"]: x for x in eng.describe("Invoice__c")["fields"]}
    assert (f["Amount__c"]["type"], f["Amount__c"]["precision"], f["Amount__c"]["scale"]) == (
        "currency",
        16,
        2,
    )
    assert (f["Tax_Rate__c"]["type"], f["Tax_Rate__c"]["precision"], f["Tax_Rate__c"]["scale"]) == (
        "percent",
        5,
        2,
    )
    assert (
        f["Total__c"]["calculated"]
        and f["Total__c"]["calculatedFormula"] == "Amount__c * (1 + Tax_Rate__c)"
    )
    assert (
        f["Account__c"]["referenceTo"] == ["Account"]
        and f["Account__c"]["relationshipName"] == "Account__r"
    )
    assert f["Notes__c"]["length"] == 131072 and f["Notes__c"]["type"] == "textarea"
    assert f["Site__c"]["type"] == "location"
    assert f["Site__Latitude__s"]["compoundFieldName"] == "Site__c"
    assert f["External_Ref__c"]["externalId"] is True
    assert (
        f["Pickup_Time__c"]["soapType"] == "xsd:time"
        and f["Categories__c"]["type"] == "multipicklist"
    )
    assert f["Name"]["autoNumber"] is True


def test_each_standard_object_has_a_calculated_field(eng):
    for name in ["Account", "Contact", "Opportunity", "Lead", "Case", "Task"]:
        assert any(
            f["calculated"] and f["calculatedFormula"] for f in eng.describe(name)["fields"]
        ), name


def test_user_is_completed_with_compound_name_and_address(eng):
    f = {x["name"]: x for x in eng.describe("User")["fields"]}
    assert (
        len(f) == 178
        and f["City"]["compoundFieldName"] == "Address"
        and f["Address"]["type"] == "address"
    )
    assert f["Email"]["soapType"] == "xsd:string" and f["Id"]["soapType"] == "tns:ID"


def test_attachment_body_is_base64(eng):
    f = {x["name"]: x for x in eng.describe("Attachment")["fields"]}
    assert f["Body"]["type"] == "base64" and f["Body"]["soapType"] == "xsd:base64Binary"


def test_case_safe_id_suffix_matches_salesforce():
    assert to18("0015000000Gv7qJ") == "0015000000Gv7qJAAR"
    assert suffix("001000000000000") == "AAA"
    assert is_id(make_id("001", 12345)) and not is_id("0015000000Gv7qJAAB")
