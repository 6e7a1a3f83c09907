"""The retry policy knows which writes are safe to repeat: an insert whose answer was lost (the
org applied it, then reset the connection) or that got a 5xx is not sent a second time, so
nothing is created twice; updates, upserts and deletes are retried as before."""

from __future__ import annotations

import json

import pytest

from lht.config import credentials_from_env, settings_from_env
from lht.errors import SalesforceError
from lht.salesforce import collections
from lht.salesforce.client import SalesforceClient, connect
from lht.salesforce.transport import repeatable
from lht_devorg import DevOrg

COLLECTIONS = "/composite/sobjects"


@pytest.fixture(autouse=True)
def _trust_the_org(small_org: DevOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", small_org.ca_path)


def _client(org: DevOrg) -> SalesforceClient:
    settings = settings_from_env({}, retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05)
    return connect(credentials_from_env(org.env("token")), settings)


def _count(org: DevOrg, external_id: str) -> int:
    return (
        org.engine.cursor()
        .execute(
            f'select count(*) from {org.engine.table("Account")} where "External_Id__c" = ?',
            [external_id],
        )
        .fetchone()[0]
    )


def _posts(org: DevOrg, path: str) -> int:
    return sum(
        1 for m, p in org.faults.requests() if m == "POST" and p.split("?")[0].endswith(path)
    )


@pytest.mark.parametrize(
    "fault", [{"kind": "drop_response"}, {"kind": "unavailable"}, {"kind": "reset"}]
)
def test_an_insert_is_not_repeated_once_it_may_have_reached_salesforce(
    small_org: DevOrg, fault: dict
) -> None:
    client = _client(small_org)
    small_org.faults.add(fault["kind"], path=COLLECTIONS, method="POST", times=5)
    with pytest.raises(SalesforceError):
        collections.send(
            client, "Account", "insert", [{"Name": "Lost answer", "External_Id__c": "LOST-1"}]
        )
    assert _posts(small_org, COLLECTIONS) == 1, small_org.faults.requests()
    assert _count(small_org, "LOST-1") == (1 if fault["kind"] == "drop_response" else 0)


def test_an_update_whose_answer_was_lost_is_sent_again(small_org: DevOrg) -> None:
    client = _client(small_org)
    (created,) = collections.send(
        client, "Account", "insert", [{"Name": "Before", "External_Id__c": "UPD-1"}]
    )
    lost = small_org.faults.add("drop_response", path=COLLECTIONS, method="PATCH")
    (updated,) = collections.send(
        client, "Account", "update", [{"Id": created.salesforce_id, "Name": "After"}]
    )
    assert lost.fired == 1 and updated.success
    name = (
        small_org.engine.cursor()
        .execute(
            f'select "Name" from {small_org.engine.table("Account")} where "Id" = ?',
            [created.salesforce_id],
        )
        .fetchone()
    )
    assert name == ("After",)


def test_a_bulk_ingest_job_create_whose_answer_was_lost_is_not_repeated(small_org: DevOrg) -> None:
    client = _client(small_org)
    small_org.faults.add("drop_response", path="/jobs/ingest", method="POST")
    body = json.dumps({"object": "Account", "operation": "insert", "contentType": "CSV"})
    with pytest.raises(SalesforceError):
        client.request("POST", client.base_url + "jobs/ingest", data=body, what="Creating a job")
    assert _posts(small_org, "/jobs/ingest") == 1


def test_only_creating_calls_are_not_repeatable(small_org: DevOrg) -> None:
    base = "https://example.my.salesforce.com/services/data/v59.0/"
    assert not repeatable("POST", base + "composite/sobjects")
    assert not repeatable("POST", base + "jobs/ingest")
    assert not repeatable("POST", base + "sobjects/Account/")
    assert repeatable("PATCH", base + "composite/sobjects")
    assert repeatable("PATCH", base + "composite/sobjects/Account/External_Id__c")
    assert repeatable("DELETE", base + "composite/sobjects?ids=001")
    assert repeatable("POST", base + "composite/sobjects/Account")  # retrieve by ids: a read
    assert repeatable("POST", base + "jobs/query")
    assert repeatable("PUT", base + "jobs/ingest/750x/batches")
