"""Fault injection from Python (``org.faults``) and from the admin endpoint."""

from __future__ import annotations

import csv
import io
import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8", errors="replace"))))[1:]


def test_unavailable_answers_503_for_the_next_matching_calls_only(org, sf):
    org.faults.add("unavailable", path="/limits", times=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as failure:
            sf.limits()
        assert failure.value.status == 503
        assert failure.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.limits()["DailyApiRequests"]
    assert sf.describe()["sobjects"]


def test_fault_matches_on_method(org, api):
    org.faults.add("unavailable", method="POST")
    assert api("GET", "limits/").status_code == 200
    assert api("POST", "sobjects/Account/", json={"Name": "x"}).status_code == 503


def test_reset_drops_the_connection(org, api):
    org.faults.add("reset", path="/limits")
    with pytest.raises(requests.exceptions.ConnectionError):
        api("GET", "limits/")
    assert api("GET", "limits/").status_code == 200


def test_stall_delays_past_a_client_timeout(org, session):
    org.faults.add("stall", path="/limits", seconds=1.5)
    with pytest.raises(requests.exceptions.Timeout):
        session.get(
            f"{org.instance_url}/services/data/v59.0/limits/",
            timeout=0.5,
            headers={"Authorization": f"Bearer {org.new_token()}"},
        )
    assert org.faults.fired("stall") == 1


def test_expired_session_fault_makes_a_logged_in_client_log_in_again(org, session):
    sf = Salesforce(
        consumer_key=org.client_id,
        consumer_secret=org.client_secret,
        domain=org.domain,
        session=session,
    )
    before = sf.session_id
    org.faults.add("expired_session", path="/sobjects")
    assert sf.describe()["sobjects"]
    assert sf.session_id != before


def test_expired_session_fault_raises_for_a_bearer_client(org, sf):
    org.faults.add("expired_session")
    with pytest.raises(SalesforceExpiredSession):
        sf.describe()


def test_limit_exceeded_fault_raises_refused_request(org, sf):
    org.faults.add("limit_exceeded", path="/query")
    with pytest.raises(SalesforceRefusedRequest) as failure:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert failure.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def _finished(api, job_id: str, timeout: float = 60) -> dict:
    """The job's info once it is in a final state (polled, as a client does)."""
    deadline = time.monotonic() + timeout
    while (info := api("GET", f"jobs/query/{job_id}").json())["state"] not in (
        "JobComplete",
        "Failed",
        "Aborted",
    ):
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {info}"
        time.sleep(0.05)
    return info


def test_bulk_stuck_job_never_completes(org, api):
    org.faults.add("bulk_stuck")
    job = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()
    control = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()
    assert _finished(api, control["id"])["state"] == "JobComplete"  # a job created later is done
    assert api("GET", f"jobs/query/{job['id']}").json()["state"] == "InProgress"
    api("PATCH", f"jobs/query/{job['id']}", json={"state": "Aborted"})


def test_bulk_failed_job_reports_its_error_message(org, api):
    org.faults.add("bulk_failed", message="Simulated failure")
    job = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()
    info = _finished(api, job["id"])
    assert (info["state"], info["errorMessage"]) == ("Failed", "Simulated failure")


@pytest.mark.parametrize("mode", ["short", "drop"])
def test_truncated_results_page_still_claims_the_full_count(org, api, mode):
    job = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id, Name FROM Account"}
    ).json()
    assert _finished(api, job["id"])["state"] == "JobComplete"
    org.faults.add("truncate_results", mode=mode)
    url = f"jobs/query/{job['id']}/results"
    if mode == "drop":
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            api("GET", url, params={"maxRecords": 1000})
    else:
        cut = api("GET", url, params={"maxRecords": 1000})
        assert cut.headers["Sforce-NumberOfRecords"] == "1000"
        assert len(_rows(cut.content)) < 1000
    full = api("GET", url, params={"maxRecords": 1000})
    assert len(_rows(full.content)) == 1000


def test_field_removed_between_describe_and_query(org, sf):
    org.engine.add_field("Lead", {"name": "Doomed__c", "type": "string", "length": 20})
    fields = [f["name"] for f in sf.Lead.describe()["fields"]]
    assert "Doomed__c" in fields
    org.faults.add("remove_field", path="/query", object="Lead", field="Doomed__c")
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query(f"SELECT {', '.join(['Id', 'Doomed__c'])} FROM Lead")
    assert failure.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_admin_endpoint_arms_faults_and_reports_fired_counts(org, admin, api):
    armed = admin("POST", "faults", json={"kind": "unavailable", "path": "/limits", "times": 1})
    assert armed.status_code == 201
    assert api("GET", "limits/").status_code == 503
    report = admin("GET", "faults").json()
    assert report["fired"] >= 1
    assert [f["fired"] for f in report["faults"] if f["id"] == armed.json()["id"]] == [1]


def test_admin_endpoint_refuses_without_the_admin_token(org, session):
    armed = org.faults.report()  # faults other tests armed on this org and left behind
    response = session.post(
        f"{org.instance_url}/__devorg/faults",
        json={"kind": "reset"},
        headers={"Authorization": f"Bearer {org.new_token()}"},
        timeout=30,
    )
    assert response.status_code == 401
    assert org.faults.report() == armed


def test_admin_purge_removes_records_from_query_all(org, sf, admin):
    victim = sf.Task.create({"Subject": "purge me"})["id"]
    assert admin("POST", "purge", json={"object": "Task", "ids": [victim]}).status_code == 200
    everything = sf.query_all("SELECT Id FROM Task", include_deleted=True)["records"]
    assert victim not in {r["Id"] for r in everything}


def test_admin_rejects_unknown_fault_kinds(admin):
    response = admin("POST", "faults", json={"kind": "meteor"})
    assert response.status_code == 400 and "meteor" in response.json()[0]["message"]


def test_silent_formula_change_keeps_system_modstamp(org, sf, admin):
    new_id = sf.Account.create({"Name": "Mid", "AnnualRevenue": 700000})["id"]
    before = sf.Account.get(new_id)
    assert (
        admin(
            "POST", "formula", json={"object": "Account", "field": "Tier__c", "ids": [before["Id"]]}
        ).status_code
        == 200
    )
    after = sf.Account.get(before["Id"])
    assert after["SystemModstamp"] == before["SystemModstamp"]
    assert after["Tier__c"] != before["Tier__c"]


def test_request_log_lists_what_clients_sent(org, api):
    org.faults.clear()
    api("GET", "query/", params={"q": "SELECT Id FROM Lead LIMIT 1"})
    api("GET", "limits/")
    sent = org.faults.requests()
    assert sent[-1] == ("GET", "/services/data/v59.0/limits/")
    assert sent[-2][0] == "GET" and sent[-2][1].startswith("/services/data/v59.0/query/?q=SELECT")


def test_skip_lets_the_first_matching_calls_through_then_refuses_with_the_error_code(org, api):
    fault = org.faults.add(
        "refuse", path="/limits", skip=2, status=400, error_code="INVALIDJOBSTATE"
    )
    assert [api("GET", "limits/").status_code for _ in range(2)] == [200, 200]
    refused = api("GET", "limits/")
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert api("GET", "limits/").status_code == 200 and fault.fired == 1


def test_drop_response_applies_the_write_then_resets_the_connection(org, api):
    org.faults.add("drop_response", path="/sobjects/Account", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        api("POST", "sobjects/Account/", json={"Name": "Applied, answer lost"})
    found = api(
        "GET", "query/", params={"q": "SELECT Id FROM Account WHERE Name = 'Applied, answer lost'"}
    )
    assert found.json()["totalSize"] == 1
