"""ObjectPlan from real describe shapes (the describes the local org ships)."""

from __future__ import annotations

import json
import logging
from importlib import resources

import pytest

from lht.errors import SalesforceError
from lht.salesforce.describe import drop_field, plan_object, without_bulk


def _describe(name: str) -> dict:
    return json.loads(
        (resources.files("lht_devorg.meta") / "describes" / f"{name}.json").read_text()
    )


def test_address_parents_are_skipped_and_their_components_loaded():
    plan = plan_object(_describe("Account"))
    names = plan.field_names
    assert "BillingAddress" not in names and "ShippingAddress" not in names
    assert {"BillingStreet", "BillingCity", "BillingLatitude", "ShippingPostalCode"} <= set(names)
    assert plan.skipped["BillingAddress"] == "compound address: loaded as components"


def test_string_compound_parents_are_ordinary_fields():
    assert "Name" in plan_object(_describe("Contact")).field_names
    assert "Name" in plan_object(_describe("Account")).field_names
    lead = plan_object(_describe("Lead"))
    assert {"Name", "FirstName", "LastName"} <= set(lead.field_names)
    assert "Address" in lead.skipped


def test_fields_keep_describe_order_and_canonical_names():
    raw = _describe("Contact")
    loaded = [f["name"] for f in raw["fields"] if f["type"] not in ("address", "location")]
    assert list(plan_object(raw).field_names) == loaded


def test_watermark_prefers_systemmodstamp_then_lastmodifieddate_then_createddate():
    raw = _describe("Account")
    assert plan_object(raw).watermark_field == "SystemModstamp"
    no_sms = {**raw, "fields": [f for f in raw["fields"] if f["name"] != "SystemModstamp"]}
    assert plan_object(no_sms).watermark_field == "LastModifiedDate"
    only_created = {
        **raw,
        "fields": [
            f for f in raw["fields"] if f["name"] not in ("SystemModstamp", "LastModifiedDate")
        ],
    }
    assert plan_object(only_created).watermark_field == "CreatedDate"
    none = {
        **raw,
        "fields": [
            f
            for f in raw["fields"]
            if f["name"] not in ("SystemModstamp", "LastModifiedDate", "CreatedDate")
        ],
    }
    assert plan_object(none).watermark_field is None


def _with_field(raw: dict, **field) -> dict:
    base = {"length": 0, "precision": 0, "scale": 0, "calculated": False, "nillable": True}
    return {**raw, "fields": [*raw["fields"], {**base, **field}]}


def test_base64_and_json_fields_make_the_object_rest_only():
    raw = _with_field(_describe("Account"), name="Logo__c", type="base64")
    plan = plan_object(raw)
    assert plan.rest_only == ("Logo__c",) and not plan.uses_bulk and plan.bulk_supported
    assert plan_object(_describe("Account")).uses_bulk


def test_calculated_fields_are_the_formula_fields():
    raw = _with_field(
        _describe("Account"),
        name="Score__c",
        type="double",
        precision=18,
        scale=2,
        calculated=True,
        calculatedFormula="1+1",
    )
    assert plan_object(raw).formula_fields == ("Score__c",)


def test_non_queryable_object_is_a_clear_error():
    with pytest.raises(SalesforceError, match="cannot be queried"):
        plan_object({**_describe("Account"), "queryable": False})


def test_drop_field_logs_the_name_and_reason_and_records_it(caplog):
    plan = plan_object(_describe("Account"))
    with caplog.at_level(logging.WARNING, logger="lht.salesforce.describe"):
        smaller = drop_field(plan, "description", "query rejects it")
    assert "Description" not in smaller.field_names
    assert smaller.skipped["Description"] == "query rejects it"
    assert "Account.Description" in caplog.text and "query rejects it" in caplog.text
    with pytest.raises(SalesforceError):
        drop_field(plan, "Id", "no")


def test_without_bulk_keeps_fields_but_routes_to_rest():
    plan = without_bulk(plan_object(_describe("Task")), "INVALIDENTITY")
    assert not plan.uses_bulk and plan.fields


@pytest.mark.parametrize(
    ("flags", "strategy"),
    [
        ({}, "getdeleted"),
        ({"replicateable": True, "deletable": False}, "getdeleted"),
        ({"replicateable": False}, "reconcile"),
        ({"replicateable": False, "deletable": True}, "reconcile"),
        ({"replicateable": False, "deletable": False}, "none"),
    ],
)
def test_the_delete_strategy_follows_describes_flags(flags: dict, strategy: str) -> None:
    describe = {
        "name": "AccountHistory",
        **flags,
        "fields": [
            {"name": "Id", "type": "id"},
            {"name": "CreatedDate", "type": "datetime"},
            {"name": "Field", "type": "picklist"},
        ],
    }
    plan = plan_object(describe)
    assert plan.delete_strategy == strategy
    assert drop_field(plan, "Field", "test").delete_strategy == strategy
    # an append-only history object has only CreatedDate: it is the watermark
    assert plan.watermark_field == "CreatedDate"
