"""Bulk API 2.0 ingest jobs on the local org, driven by simple-salesforce's bulk2 and by raw
calls: every operation, the job's states, the three result files, Bulk's cell rules (empty
= leave as is, #N/A = null), lookups through a parent's external id, failures whole and per row."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest


def key(prefix: str = "B") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def wait_final(api, job_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = api("GET", f"jobs/ingest/{job_id}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never finished")


def run_job(api, obj: str, operation: str, data: str | bytes, **options) -> dict:
    job = api(
        "POST",
        "jobs/ingest",
        json={"object": obj, "operation": operation, "contentType": "CSV", **options},
    ).json()
    body = data.encode() if isinstance(data, str) else data
    upload = api(
        "PUT", f"jobs/ingest/{job['id']}/batches", data=body, headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201, upload.text
    assert (
        api("PATCH", f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).status_code
        == 200
    )
    return wait_final(api, job["id"])


def results(api, job_id: str, kind: str) -> list[dict]:
    reply = api("GET", f"jobs/ingest/{job_id}/{kind}/")
    assert reply.status_code == 200
    return rows(reply.text)


def test_bulk2_insert_reports_successes_and_failures_per_row(sf):
    name = key("ins")
    outcome = sf.bulk2.Account.insert(
        records=[
            {"Name": name, "Customer_Tier__c": "Gold"},
            {"Name": key(), "Customer_Tier__c": "Platinum"},
        ],
        wait=0.1,
    )
    assert outcome[0]["numberRecordsProcessed"] == 2 and outcome[0]["numberRecordsFailed"] == 1
    job_id = outcome[0]["job_id"]
    ok = rows(sf.bulk2.Account.get_successful_records(job_id))
    assert [(r["sf__Created"], r["Name"]) for r in ok] == [("true", name)]
    assert sf.Account.get(ok[0]["sf__Id"])["Customer_Tier__c"] == "Gold"
    bad = rows(sf.bulk2.Account.get_failed_records(job_id))
    assert bad[0]["sf__Error"] == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Customer Tier: bad value for "
        "restricted picklist field: Platinum:Customer_Tier__c --"
    )
    assert bad[0]["Customer_Tier__c"] == "Platinum"
    assert rows(sf.bulk2.Account.get_unprocessed_records(job_id)) == []


def test_bulk2_upsert_tells_created_from_updated(sf):
    first, second = key("up"), key("up")
    sf.bulk2.Account.upsert(
        records=[{"External_Id__c": first, "Name": "One"}],
        external_id_field="External_Id__c",
        wait=0.1,
    )
    outcome = sf.bulk2.Account.upsert(
        records=[
            {"External_Id__c": first, "Name": "One again"},
            {"External_Id__c": second, "Name": "Two"},
        ],
        external_id_field="External_Id__c",
        wait=0.1,
    )
    ok = {
        r["External_Id__c"]: r
        for r in rows(sf.bulk2.Account.get_successful_records(outcome[0]["job_id"]))
    }
    assert (ok[first]["sf__Created"], ok[second]["sf__Created"]) == ("false", "true")
    assert sf.Account.get_by_custom_id("External_Id__c", first)["Name"] == "One again"


def test_empty_cell_leaves_a_field_and_na_clears_it(sf, api, org_clock):
    created = sf.bulk2.Account.insert(
        records=[{"Name": key(), "Description": "keep", "Phone": "123"}], wait=0.1
    )
    record_id = rows(sf.bulk2.Account.get_successful_records(created[0]["job_id"]))[0]["sf__Id"]
    before = sf.Account.get(record_id)["SystemModstamp"]
    org_clock.advance(2)
    info = run_job(
        api, "Account", "update", f"Id,Description,Phone,Account_Score__c\n{record_id},,#N/A,42.5\n"
    )
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        1,
        0,
    )
    record = sf.Account.get(record_id)
    assert (record["Description"], record["Phone"], record["Account_Score__c"]) == (
        "keep",
        None,
        42.5,
    )
    assert record["SystemModstamp"] > before


def test_values_in_salesforce_formats_and_multiline_text(sf, api):
    notes = 'line one\nline "two", with a comma'
    data = (
        "Amount__c,Paid_At__c,Due_Date__c,Is_Disputed__c,Notes__c,Status__c\n"
        f'10.5,2025-03-04T05:06:07.000Z,2025-04-01,true,"{notes.replace(chr(34), chr(34) * 2)}",Paid\n'
        "11,2025-03-04T07:06:07+02:00,2025-04-01,false,,Sent\n"
        "12,2025-03-04 05:06:07,2025-04-01,false,,Sent\n"
        "13,2025-03-04T05:06:07Z,04/01/2025,false,,Sent\n"
        "abc,2025-03-04T05:06:07Z,2025-04-01,maybe,,Sent\n"
    )
    info = run_job(api, "Invoice__c", "insert", data)
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (5, 3)
    ok = results(api, info["id"], "successfulResults")
    first = sf.Invoice__c.get(ok[0]["sf__Id"])
    assert first["Notes__c"] == notes and first["Is_Disputed__c"] is True
    assert first["Paid_At__c"] == "2025-03-04T05:06:07.000+0000"
    assert sf.Invoice__c.get(ok[1]["sf__Id"])["Paid_At__c"] == "2025-03-04T05:06:07.000+0000"
    errors = [r["sf__Error"] for r in results(api, info["id"], "failedResults")]
    assert all(e.startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:") for e in errors), errors
    assert "Paid At: value not of required type: 2025-03-04 05:06:07" in errors[0]


def test_lookup_column_through_the_parent_external_id(sf, api):
    parent = key("par")
    sf.bulk2.Account.insert(records=[{"Name": "Parent", "External_Id__c": parent}], wait=0.1)
    parent_id = sf.Account.get_by_custom_id("External_Id__c", parent)["Id"]
    info = run_job(
        api, "Contact", "insert", f"LastName,Account.External_Id__c\nKid,{parent}\nOrphan,missing\n"
    )
    assert info["numberRecordsFailed"] == 1
    ok = results(api, info["id"], "successfulResults")
    assert sf.Contact.get(ok[0]["sf__Id"])["AccountId"] == parent_id
    failed = results(api, info["id"], "failedResults")
    assert failed[0]["sf__Error"].startswith(
        "INVALID_FIELD:Foreign key external ID: missing not found"
    )
    assert failed[0]["Account.External_Id__c"] == "missing"


def test_delete_and_hard_delete(sf):
    made = sf.bulk2.Account.insert(records=[{"Name": key()}, {"Name": key()}], wait=0.1)
    ids = [r["sf__Id"] for r in rows(sf.bulk2.Account.get_successful_records(made[0]["job_id"]))]
    soft = sf.bulk2.Account.delete(records=[{"Id": ids[0]}], wait=0.1)
    assert soft[0]["numberRecordsFailed"] == 0
    assert (
        sf.query_all(f"SELECT IsDeleted FROM Account WHERE Id = '{ids[0]}'", include_deleted=True)[
            "records"
        ][0]["IsDeleted"]
        is True
    )
    hard = sf.bulk2.Account.hard_delete(records=[{"Id": ids[1]}, {"Id": ids[0]}], wait=0.1)
    assert hard[0]["numberRecordsFailed"] == 0
    assert (
        sf.query_all(
            f"SELECT Id FROM Account WHERE Id IN ('{ids[0]}', '{ids[1]}')", include_deleted=True
        )["totalSize"]
        == 0
    )
    again = sf.bulk2.Account.delete(records=[{"Id": ids[1]}], wait=0.1)
    failed = rows(sf.bulk2.Account.get_failed_records(again[0]["job_id"]))
    assert (
        failed[0]["sf__Error"] == "ENTITY_IS_DELETED:entity is deleted:--"
        and failed[0]["sf__Id"] == ids[1]
    )


def test_job_states_over_time_and_one_upload_per_job(api):
    job = api("POST", "jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    assert job["state"] == "Open" and job["contentUrl"].endswith(f"jobs/ingest/{job['id']}/batches")
    assert api("PUT", f"jobs/ingest/{job['id']}/batches", data=b"Name\nS1\n").status_code == 201
    second = api("PUT", f"jobs/ingest/{job['id']}/batches", data=b"Name\nS2\n")
    assert second.status_code == 400 and "only do 'PUT' once" in second.json()[0]["message"]
    assert api("DELETE", f"jobs/ingest/{job['id']}").status_code == 400  # Open: not deletable
    closed = api("PATCH", f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    seen = {closed["state"]}
    info = closed
    while info["state"] not in ("JobComplete", "Failed"):
        info = api("GET", f"jobs/ingest/{job['id']}").json()
        seen.add(info["state"])
        time.sleep(0.02)
    assert seen >= {"UploadComplete", "InProgress", "JobComplete"}
    assert api("PATCH", f"jobs/ingest/{job['id']}", json={"state": "Aborted"}).status_code == 400
    assert api("DELETE", f"jobs/ingest/{job['id']}").status_code == 204
    assert api("GET", f"jobs/ingest/{job['id']}").status_code == 404


def test_results_are_refused_before_the_job_is_final(api):
    job = api("POST", "jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    assert api("GET", f"jobs/ingest/{job['id']}/successfulResults").status_code == 400


def test_aborted_job_leaves_every_row_unprocessed(api, sf):
    name = key("abort")
    job = api("POST", "jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    api("PUT", f"jobs/ingest/{job['id']}/batches", data=f"Name\n{name}\n{name}2\n".encode())
    assert (
        api("PATCH", f"jobs/ingest/{job['id']}", json={"state": "Aborted"}).json()["state"]
        == "Aborted"
    )
    assert [r["Name"] for r in results(api, job["id"], "unprocessedrecords")] == [name, f"{name}2"]
    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["totalSize"] == 0
    assert api("DELETE", f"jobs/ingest/{job['id']}").status_code == 204


@pytest.mark.parametrize(
    "operation, data, options, message",
    [
        ("insert", "Name,Bogus__c\nx,y\n", {}, "InvalidBatch : Field name not found : Bogus__c"),
        (
            "upsert",
            "Name\nx\n",
            {"externalIdFieldName": "External_Id__c"},
            "Field name not found : External_Id__c",
        ),
        ("delete", "Id,Name\n001000000000001,x\n", {}, "must contain only ids"),
        ("insert", "Name\r\nx\r\n", {}, "LineEnding is invalid"),
    ],
)
def test_a_refused_upload_fails_the_job_and_leaves_rows_unprocessed(
    api, operation, data, options, message
):
    info = run_job(api, "Account", operation, data, **options)
    assert info["state"] == "Failed" and message in info["errorMessage"]
    assert len(results(api, info["id"], "unprocessedrecords")) == 1


def test_upsert_needs_an_external_id_field(api):
    reply = api(
        "POST",
        "jobs/ingest",
        json={"object": "Account", "operation": "upsert", "externalIdFieldName": "Description"},
    )
    assert reply.status_code == 400 and reply.json()[0]["errorCode"] == "INVALIDJOB"


def test_pipe_delimiter_and_crlf_line_endings(api, sf):
    name = key("pipe")
    info = run_job(
        api,
        "Account",
        "insert",
        f"Name|Description\r\n{name}|a, b\r\n",
        columnDelimiter="PIPE",
        lineEnding="CRLF",
    )
    assert info["numberRecordsFailed"] == 0
    reply = api("GET", f"jobs/ingest/{info['id']}/successfulResults")
    assert reply.text.startswith('"sf__Id"|"sf__Created"|"Name"|"Description"\r\n')
    assert (
        sf.query(f"SELECT Description FROM Account WHERE Name = '{name}'")["records"][0][
            "Description"
        ]
        == "a, b"
    )


def test_unable_to_lock_row_fails_the_next_rows_of_an_ingest_job(api, admin):
    admin("POST", "faults", json={"kind": "unable_to_lock_row", "times": 1, "path": "jobs/ingest/"})
    info = run_job(api, "Account", "insert", f"Name\n{key()}\n{key()}\n")
    failed = results(api, info["id"], "failedResults")
    assert info["numberRecordsFailed"] == 1
    assert failed[0]["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access")


def test_upload_over_the_size_limit_is_refused(org, api):
    job = api("POST", "jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    saved, org.ingest.max_upload_bytes = org.ingest.max_upload_bytes, 10
    try:
        reply = api("PUT", f"jobs/ingest/{job['id']}/batches", data=b"Name\n" + b"x" * 20 + b"\n")
    finally:
        org.ingest.max_upload_bytes = saved
    assert reply.status_code == 400 and "150 MB" in reply.json()[0]["message"]


def test_every_ingest_call_counts_and_the_list_pages(org, api):
    before = org.api_calls
    info = run_job(api, "Account", "insert", f"Name\n{key()}\n")
    reply = api("GET", "jobs/ingest")
    assert reply.headers["Sforce-Limit-Info"].startswith("api-usage=")
    listed = reply.json()
    assert listed["done"] is True and info["id"] in [j["id"] for j in listed["records"]]
    assert org.api_calls - before >= 5  # create, upload, close, poll, list
    limits = api("GET", "limits").json()
    assert limits["DailyBulkApiBatches"]["Remaining"] < limits["DailyBulkApiBatches"]["Max"]


def test_polymorphic_lookup_column_names_the_parent_type(sf, api):
    parent = key("what")
    sf.Account.create({"Name": "What Parent", "External_Id__c": parent})
    parent_id = sf.Account.get_by_custom_id("External_Id__c", parent)["Id"]
    info = run_job(api, "Task", "insert", f"Subject,Account:What.External_Id__c\nCall,{parent}\n")
    assert info["numberRecordsFailed"] == 0, results(api, info["id"], "failedResults")
    task_id = results(api, info["id"], "successfulResults")[0]["sf__Id"]
    assert sf.Task.get(task_id)["WhatId"] == parent_id
