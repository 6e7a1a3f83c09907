"""``POST composite``: subrequests with references, per-subrequest status and body, the
documented caps, ``allOrNone``, and one API call for the whole request."""

from __future__ import annotations

from datetime import timedelta, timezone
from urllib.parse import quote

import pytest

from lht_devorg import DevOrg

V = "/services/data/v59.0"


def _composite(api, subrequests: list[dict], **extra):
    return api("POST", "composite", json={"compositeRequest": subrequests, **extra})


def _query(ref: str, soql: str, resource: str = "query") -> dict:
    return {"method": "GET", "url": f"{V}/{resource}/?q={quote(soql)}", "referenceId": ref}


def test_subrequests_answer_in_order_each_with_its_status_and_body(api, sf) -> None:
    reply = _composite(
        api,
        [
            _query("accounts", "SELECT Id, Name FROM Account ORDER BY Id LIMIT 2"),
            {"method": "GET", "url": f"{V}/sobjects/Account/describe", "referenceId": "describe"},
            _query("bad", "SELECT NoSuchField__c FROM Account"),
        ],
    )
    assert reply.status_code == 200
    answers = reply.json()["compositeResponse"]
    assert [a["referenceId"] for a in answers] == ["accounts", "describe", "bad"]
    assert [a["httpStatusCode"] for a in answers] == [200, 200, 400]
    alone = sf.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 2")
    assert [r["Id"] for r in answers[0]["body"]["records"]] == [r["Id"] for r in alone["records"]]
    assert answers[1]["body"]["name"] == "Account"
    assert answers[2]["body"][0]["errorCode"] == "INVALID_FIELD"


def test_a_later_subrequest_uses_an_earlier_result_through_a_reference(api, sf) -> None:
    answers = _composite(
        api,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "newAccount",
                "body": {"Name": "Composite Parent"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "newContact",
                "body": {"LastName": "Composite Child", "AccountId": "@{newAccount.id}"},
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Account/@{{newAccount.id}}",
                "referenceId": "readBack",
            },
            _query("first", "SELECT Id FROM Contact ORDER BY Id LIMIT 1"),
            {
                "method": "GET",
                "url": f"{V}/sobjects/Contact/@{{first.records[0].Id}}",
                "referenceId": "indexed",
            },
        ],
    ).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 201, 200, 200, 200]
    account_id = answers[0]["body"]["id"]
    contact = sf.Contact.get(answers[1]["body"]["id"])
    assert contact["AccountId"] == account_id
    assert answers[2]["body"]["Name"] == "Composite Parent"
    assert answers[4]["body"]["Id"] == answers[3]["body"]["records"][0]["Id"]


def test_a_reference_to_a_failed_subrequest_halts_only_what_depends_on_it(api) -> None:
    answers = _composite(
        api,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "broken",
                "body": {"NoSuchField__c": "x"},
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Account/@{{broken.id}}",
                "referenceId": "dependent",
            },
            _query("independent", "SELECT COUNT() FROM Account"),
        ],
    ).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [400, 400, 200]
    assert answers[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answers[2]["body"]["totalSize"] > 0


def test_all_or_none_rolls_back_every_change_when_one_subrequest_fails(api, sf) -> None:
    answers = _composite(
        api,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "kept",
                "body": {"Name": "Composite Rolled Back"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "broken",
                "body": {"NoSuchField__c": "x"},
            },
            _query("after", "SELECT COUNT() FROM Account"),
        ],
        allOrNone=True,
    ).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [400, 400, 400]
    assert answers[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert answers[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert answers[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Composite Rolled Back'")["totalSize"] == 0


def test_all_or_none_commits_when_every_subrequest_succeeds(api, sf) -> None:
    answers = _composite(
        api,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "one",
                "body": {"Name": "Composite Committed"},
            },
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Account/@{{one.id}}",
                "referenceId": "two",
                "body": {"Description": "edited in the same request"},
            },
        ],
        allOrNone=True,
    ).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 204]
    found = sf.query("SELECT Description FROM Account WHERE Name = 'Composite Committed'")
    assert [r["Description"] for r in found["records"]] == ["edited in the same request"]


@pytest.mark.parametrize(
    ("subrequests", "message"),
    [
        ([_query(f"q{i}", "SELECT Id FROM Account LIMIT 1") for i in range(6)], "query"),
        (
            [
                {"method": "GET", "url": f"{V}/sobjects/Account/describe", "referenceId": f"d{i}"}
                for i in range(26)
            ],
            "25",
        ),
        ([_query("same", "SELECT Id FROM Account LIMIT 1")] * 2, "Duplicate referenceId"),
        (
            [{"method": "GET", "url": "/services/oauth2/userinfo", "referenceId": "x"}],
            "/services/data/",
        ),
    ],
)
def test_requests_past_the_documented_caps_are_refused_whole(api, subrequests, message) -> None:
    reply = _composite(api, subrequests)
    assert reply.status_code == 400
    assert message in reply.json()[0]["message"]


def test_the_whole_request_counts_as_one_api_call(api, org: DevOrg) -> None:
    subrequests = [_query(f"q{i}", "SELECT Id FROM Account LIMIT 1") for i in range(5)]
    end = org.engine.now().replace(tzinfo=timezone.utc)
    window = f"start={quote((end - timedelta(days=1)).isoformat())}&end={quote(end.isoformat())}"
    subrequests += [
        {"method": "GET", "url": f"{V}/sobjects/Account/deleted/?{window}", "referenceId": f"d{i}"}
        for i in range(5)
    ]
    before = org.api_calls
    reply = _composite(api, subrequests)
    assert [a["httpStatusCode"] for a in reply.json()["compositeResponse"]] == [200] * 10
    assert org.api_calls == before + 1
    used = int(reply.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    limits = api("GET", "limits").json()["DailyApiRequests"]
    assert limits["Max"] - limits["Remaining"] == used + 1  # + the limits call itself


def test_a_refuse_fault_answers_the_composite_resource_as_a_proxy_would(api, admin) -> None:
    armed = admin(
        "POST",
        "faults",
        json={"kind": "refuse", "path": "/composite", "method": "POST", "params": {"status": 405}},
    )
    assert armed.status_code in (200, 201)
    assert _composite(api, [_query("q", "SELECT Id FROM Account LIMIT 1")]).status_code == 405
    assert _composite(api, [_query("q", "SELECT Id FROM Account LIMIT 1")]).status_code == 200
