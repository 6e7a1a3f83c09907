"""REST resources through unmodified simple-salesforce (and raw requests for formats)."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from lht_devorg.cursors import CURSOR_IDLE_SECONDS

SF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def test_versions_list_names_each_version_with_label_and_url(org, session):
    body = session.get(f"{org.instance_url}/services/data/", timeout=30).json()
    v59 = next(v for v in body if v["version"] == "59.0")
    assert v59 == {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}


def test_describe_global_answers_304_when_metadata_is_unchanged(sf, api):
    first = api("GET", "sobjects")
    assert first.status_code == 200
    assert "Account" in [s["name"] for s in first.json()["sobjects"]]
    last_modified = first.headers["Last-Modified"]
    with pytest.raises(SalesforceGeneralError) as not_modified:
        sf.describe(headers={"If-Modified-Since": last_modified})
    assert not_modified.value.status == 304
    older = format_datetime(parsedate_to_datetime(last_modified) - timedelta(days=1), usegmt=True)
    assert sf.describe(headers={"If-Modified-Since": older})["sobjects"]


def test_object_describe_answers_304_until_a_field_is_added(org, sf, api):
    response = api("GET", "sobjects/Contact/describe")
    since = response.headers["Last-Modified"]
    not_modified = api("GET", "sobjects/Contact/describe", headers={"If-Modified-Since": since})
    assert not_modified.status_code == 304 and not_modified.content == b""
    org.engine.add_field("Contact", {"name": "Nickname__c", "type": "string", "length": 40})
    changed = api("GET", "sobjects/Contact/describe", headers={"If-Modified-Since": since})
    assert changed.status_code == 200
    assert "Nickname__c" in [f["name"] for f in changed.json()["fields"]]
    assert sf.Contact.describe()["name"] == "Contact"


def test_query_pages_follow_next_records_url_in_salesforce_shape(org, sf, api):
    live = org.engine.count("Account")
    assert live > 2000
    first = api("GET", "query/", params={"q": "SELECT Id, Name FROM Account"}).json()
    assert first["totalSize"] == live and first["done"] is False
    assert len(first["records"]) == 2000
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w{15}-2000", first["nextRecordsUrl"])
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    record = first["records"][0]
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{record['Id']}",
    }
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Account")]
    assert len(ids) == len(set(ids)) == live


def test_batch_size_header_sets_page_size_within_200_to_2000(org, sf):
    live = org.engine.count("Account")
    pages = []
    result = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=500"})
    pages.append(len(result["records"]))
    while not result["done"]:
        result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
        pages.append(len(result["records"]))
    assert pages == [500] * (live // 500) + ([live % 500] if live % 500 else [])
    tiny = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200


def test_query_all_includes_soft_deleted_records(org, sf):
    victim = sf.Lead.create({"LastName": "Gone", "Company": "Acme"})["id"]
    sf.Lead.delete(victim)
    live = {r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]}
    everything = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)["records"]
    assert victim not in live
    assert {r["Id"]: r["IsDeleted"] for r in everything}[victim] is True


def test_count_query_has_total_size_and_no_records(org, sf):
    result = sf.query("SELECT COUNT() FROM Account")
    assert result == {"totalSize": org.engine.count("Account"), "done": True, "records": []}


def test_cursor_unused_for_fifteen_minutes_is_an_invalid_query_locator(org, sf):
    first = sf.query("SELECT Id FROM Account")
    org._server.app.rest.cursors.age_all(CURSOR_IDLE_SECONDS + 1)
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert failure.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT NoSuchField__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM NoSuchObject__c", "INVALID_TYPE"),
    ],
)
def test_bad_queries_raise_malformed_request_with_salesforce_codes(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query(soql)
    assert failure.value.status == 400
    assert failure.value.content[0]["errorCode"] == code


def test_unknown_resource_raises_resource_not_found(sf, api):
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("no/such/thing")
    response = api("GET", "sobjects/NoSuchObject__c/describe")
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"


def test_limits_and_api_usage_header_come_from_one_counter(org, sf):
    before = org.api_calls
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == org.api_daily_max
    assert limits["DailyApiRequests"]["Remaining"] == org.api_daily_max - (before + 1)
    assert {"DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB"} <= set(limits)
    assert sf.api_usage["api-usage"].used == before + 1
    assert sf.api_usage["api-usage"].total == org.api_daily_max


def test_spent_allowance_refuses_calls_with_request_limit_exceeded(org, sf, api):
    org.limits.set_used(org.api_daily_max)
    try:
        response = api("GET", "limits/")
        assert response.status_code == 403
        assert response.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        assert (
            response.headers["Sforce-Limit-Info"]
            == f"api-usage={org.api_daily_max}/{org.api_daily_max}"
        )
        with pytest.raises(SalesforceRefusedRequest):
            sf.describe()
    finally:
        org.limits.set_used(0)


def test_error_responses_carry_the_limit_header(api):
    response = api("GET", "query/", params={"q": "SELECT Bogus FROM Account"})
    assert response.status_code == 400
    assert re.fullmatch(r"api-usage=\d+/\d+", response.headers["Sforce-Limit-Info"])


def test_deleted_lists_records_once_their_minute_is_covered(sf, org_clock):
    start = org_clock() - timedelta(minutes=5)
    victim = sf.Case.create({"Subject": "to delete"})["id"]
    sf.Case.delete(victim)
    end = org_clock() + timedelta(minutes=5)
    assert victim not in [r["id"] for r in sf.Case.deleted(start, end)["deletedRecords"]]
    org_clock.advance(61)
    body = sf.Case.deleted(start, end)
    assert victim in [r["id"] for r in body["deletedRecords"]]
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert SF_DATETIME.match(body["latestDateCovered"])
    assert body["latestDateCovered"][17:19] == "00"  # whole minutes


def test_updated_lists_changed_ids(sf, org_clock):
    start = org_clock() - timedelta(minutes=5)
    new_id = sf.Account.create({"Name": "Fresh"})["id"]
    org_clock.advance(61)
    body = sf.Account.updated(start, org_clock() + timedelta(minutes=2))
    assert new_id in body["ids"] and SF_DATETIME.match(body["latestDateCovered"])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (timedelta(days=-31), timedelta(0)),  # older than 30 days
        (timedelta(0), timedelta(seconds=-120)),  # end before start
        (timedelta(seconds=-20), timedelta(seconds=-10)),  # same minute
    ],
)
def test_replication_windows_salesforce_refuses(sf, org_clock, start, end):
    now = org_clock().replace(second=30)
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Account.deleted(now + start, now + end)
    assert failure.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_record_create_get_update_delete(sf):
    created = sf.Account.create({"Name": "ACME – NORTH", "AnnualRevenue": 2500000})
    assert created["success"] is True and created["errors"] == []
    record = sf.Account.get(created["id"])
    assert record["Name"] == "ACME – NORTH"
    assert SF_DATETIME.match(record["SystemModstamp"])
    assert sf.Account.update(created["id"], {"Name": "Renamed"}) == 204
    assert sf.Account.get(created["id"])["Name"] == "Renamed"
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(created["id"])


def test_composite_create_update_delete(api):
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Composite One"},
            {"attributes": {"type": "Contact"}, "LastName": "Composite"},
        ],
    }
    created = api("POST", "composite/sobjects", json=body).json()
    assert [r["success"] for r in created] == [True, True]
    ids = [r["id"] for r in created]
    updated = api(
        "PATCH",
        "composite/sobjects",
        json={
            "records": [{"attributes": {"type": "Account"}, "id": ids[0], "Name": "Composite Uno"}]
        },
    ).json()
    assert updated == [{"id": ids[0], "success": True, "errors": []}]
    deleted = api("DELETE", "composite/sobjects", params={"ids": ",".join(ids)}).json()
    assert [r["success"] for r in deleted] == [True, True]


def test_composite_all_or_none_rolls_back_every_record(api, sf):
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Rolled Back"},
            {"attributes": {"type": "Account"}, "NoSuchField__c": "x"},
        ],
    }
    results = api("POST", "composite/sobjects", json=body).json()
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    found = sf.query("SELECT Id FROM Account WHERE Name = 'Rolled Back'")
    assert found["totalSize"] == 0


def test_attachment_body_returns_the_blob_bytes(sf, api):
    record = sf.query("SELECT Id, Body, BodyLength FROM Attachment LIMIT 1")["records"][0]
    assert record["Body"] == f"/services/data/v59.0/sobjects/Attachment/{record['Id']}/Body"
    blob = api("GET", f"sobjects/Attachment/{record['Id']}/Body")
    assert blob.status_code == 200
    assert len(blob.content) == record["BodyLength"]


def test_every_authenticated_call_counts_once_and_logins_do_not(org, api, session):
    before = org.api_calls
    job = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}
    ).json()
    api("GET", f"jobs/query/{job['id']}")
    api("GET", "sobjects/NoSuchObject__c/describe")  # errors count too
    session.post(
        f"{org.login_url}/services/oauth2/token",
        timeout=30,
        data={
            "grant_type": "client_credentials",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
        },
    )  # logins do not
    session.get(
        f"{org.instance_url}/services/data/v59.0/limits/",
        timeout=30,
        headers={"Authorization": "Bearer invalid"},
    )  # neither do 401s
    assert org.api_calls == before + 3


def test_json_answers_have_salesforce_content_type_and_dates(api):
    response = api("GET", "sobjects/Account/describe")
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert parsedate_to_datetime(response.headers["Last-Modified"]).tzinfo is not None
    job = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}
    ).json()
    assert SF_DATETIME.match(job["createdDate"]) and SF_DATETIME.match(job["systemModstamp"])


def test_connections_are_kept_alive_between_calls(org):
    import http.client
    import ssl

    context = ssl.create_default_context(cafile=org.ca_path)
    connection = http.client.HTTPSConnection("127.0.0.1", org.port, context=context, timeout=30)
    headers = {"Authorization": f"Bearer {org.new_token()}"}
    try:
        for path in ("limits/", "sobjects", "limits/"):
            connection.request("GET", f"/services/data/v59.0/{path}", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200 and not response.will_close
        first_socket = connection.sock
        connection.request("GET", "/services/data/v59.0/limits/", headers=headers)
        connection.getresponse().read()
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_query_longer_than_the_uri_limit_is_refused(sf):
    long_where = " OR ".join(f"Name = 'Company number {i}'" for i in range(700))
    with pytest.raises(SalesforceGeneralError) as failure:
        sf.query(f"SELECT Id FROM Account WHERE {long_where}")
    assert failure.value.status == 414
