"""Bulk API 1.0 (``/services/async/NN.N/job``) in the local org, through simple-salesforce's
``sf.bulk`` (JSON jobs) and through the calls Data Loader and jsforce make (XML job
documents, CSV batches, the ``X-SFDC-Session`` header)."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

NS = "http://www.force.com/2009/06/asyncapi/dataload"


def tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def job_xml(**items: str) -> bytes:
    root = ET.Element(tag("jobInfo"))
    for name, value in items.items():
        ET.SubElement(root, tag(name)).text = value
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


@pytest.fixture
def bulk1(org, session):
    """Raw Bulk 1.0 calls with the session id in ``X-SFDC-Session``:
    ``bulk1("POST", "job", data=..., content_type="application/xml")``."""
    token = org.new_token()

    def call(
        method: str, path: str, content_type: str = "application/xml; charset=UTF-8", **kwargs
    ):
        headers = {
            "X-SFDC-Session": token,
            "Content-Type": content_type,
            **kwargs.pop("headers", {}),
        }
        return session.request(
            method,
            f"{org.instance_url}/services/async/59.0/{path}",
            headers=headers,
            timeout=30,
            **kwargs,
        )

    return call


def xml_of(response) -> ET.Element:
    assert response.headers["Content-Type"].startswith("application/xml"), response.headers
    return ET.fromstring(response.content)


def wait_for_batch(bulk1, job_id: str, batch_id: str) -> tuple[list[str], ET.Element]:
    """Poll a batch until it is Completed or Failed: the states seen, the last batchInfo."""
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = xml_of(bulk1("GET", f"job/{job_id}/batch/{batch_id}"))
        state = info.findtext(tag("state"))
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("Completed", "Failed"):
            return seen, info
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} never finished: {seen}")


def names(sf: Salesforce, ids: list[str]) -> dict[str, str]:
    quoted = ", ".join(f"'{i}'" for i in ids)
    return {
        r["Id"]: r["Name"]
        for r in sf.query_all(f"SELECT Id, Name FROM Account WHERE Id IN ({quoted})")["records"]
    }


# -- simple-salesforce's sf.bulk (JSON jobs) --------------------------------------------------
def test_bulk_insert_gives_one_result_per_record_in_order_failed_rows_included(sf):
    tag_ = uuid.uuid4().hex[:8]
    records = [
        {"Name": f"B1 one {tag_}"},
        {"Website": "no-name.example"},
        {"Name": f"B1 three {tag_}"},
    ]
    results = sf.bulk.Account.insert(records, batch_size=2)  # two batches, Parallel
    assert [r["success"] for r in results] == [True, False, True]
    assert [r["created"] for r in results] == [True, False, True]
    assert results[1]["id"] is None
    assert results[1]["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [Name]",
            "fields": ["Name"],
        }
    ]
    assert names(sf, [results[0]["id"], results[2]["id"]]) == {
        results[0]["id"]: f"B1 one {tag_}",
        results[2]["id"]: f"B1 three {tag_}",
    }


def test_bulk_update_in_serial_mode_then_delete(sf):
    created = [
        r["id"]
        for r in sf.bulk.Account.insert([{"Name": "B1 to update"}, {"Name": "B1 to update"}])
    ]
    updated = sf.bulk.Account.update(
        [{"Id": created[0], "Name": "B1 updated"}, {"Id": created[1], "Name": None}],
        use_serial=True,
    )
    assert [(r["id"], r["success"], r["created"]) for r in updated] == [
        (created[0], True, False),
        (created[1], False, False),
    ]
    assert updated[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert names(sf, created) == {created[0]: "B1 updated", created[1]: "B1 to update"}
    deleted = sf.bulk.Account.delete([{"Id": i} for i in created], include_detailed_results=True)
    # the detailed results join each result to its request record (GET .../batch/ID/request)
    assert [(r["id"], r["success"], r["Id"]) for r in deleted] == [
        (created[0], True, created[0]),
        (created[1], True, created[1]),
    ]
    assert names(sf, created) == {}


def test_bulk_hard_delete_leaves_nothing_in_the_recycle_bin(sf):
    created = sf.bulk.Account.insert([{"Name": "B1 hard delete"}])[0]["id"]
    assert sf.bulk.Account.hard_delete([{"Id": created}])[0]["success"] is True
    assert sf.query_all(f"SELECT Id FROM Account WHERE Id = '{created}'")["records"] == []


def test_bulk_upsert_on_an_external_id_tells_created_from_updated(sf):
    first, second = f"b1-{uuid.uuid4().hex[:10]}", f"b1-{uuid.uuid4().hex[:10]}"
    sf.bulk.Account.upsert([{"External_Id__c": first, "Name": "Up one"}], "External_Id__c")
    results = sf.bulk.Account.upsert(
        [
            {"External_Id__c": first, "Name": "Up one again"},
            {"External_Id__c": second, "Name": "Up two"},
        ],
        "External_Id__c",
    )
    assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True)]
    found = sf.query(f"SELECT Name FROM Account WHERE External_Id__c = '{first}'")["records"]
    assert [r["Name"] for r in found] == ["Up one again"]


def test_bulk_query_returns_records_with_datetimes_as_epoch_milliseconds(sf):
    rest = sf.query("SELECT Id, Name, CreatedDate FROM Account ORDER BY Id LIMIT 3")["records"]
    records = sf.bulk.Account.query(
        "SELECT Id, Name, CreatedDate FROM Account ORDER BY Id LIMIT 3", wait=0.1
    )
    assert [r["Id"] for r in records] == [r["Id"] for r in rest]
    assert records[0]["attributes"]["type"] == "Account"
    created = datetime.strptime(rest[0]["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")  # ...000+0000
    assert records[0]["CreatedDate"] == round(created.timestamp() * 1000)


def test_bulk_query_all_includes_deleted_records(sf):
    gone = sf.Account.create({"Name": f"B1 gone {uuid.uuid4().hex[:8]}"})["id"]
    sf.Account.delete(gone)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{gone}'"
    assert sf.bulk.Account.query(soql, wait=0.1) == []
    assert [(r["Id"], r["IsDeleted"]) for r in sf.bulk.Account.query_all(soql, wait=0.1)] == [
        (gone, True)
    ]


def test_a_query_the_org_cannot_run_fails_its_batch(sf):
    with pytest.raises(SalesforceGeneralError, match="No such column 'Nope'"):
        sf.bulk.Account.query("SELECT Nope FROM Account", wait=0.1)


def test_an_invalid_session_is_refused_with_invalid_session_id(org, session):
    bad = Salesforce(
        session_id="00D000000000000!nope", instance_url=org.instance_url, session=session
    )
    with pytest.raises(SalesforceMalformedRequest) as caught:
        bad.bulk.Account.insert([{"Name": "never"}])
    assert caught.value.status == 400
    assert caught.value.content == {
        "exceptionCode": "InvalidSessionId",
        "exceptionMessage": "Invalid session id",
    }
    # XML clients (Data Loader, jsforce) get the XML error, with the same HTTP 400
    response = session.post(
        f"{org.instance_url}/services/async/59.0/job",
        data=job_xml(operation="insert"),
        headers={"X-SFDC-Session": "nope", "Content-Type": "application/xml"},
        timeout=30,
    )
    assert response.status_code == 400
    error = xml_of(response)
    assert error.tag == tag("error")
    assert error.findtext(tag("exceptionCode")) == "InvalidSessionId"


def test_the_bearer_header_is_taken_too(org, session):
    response = session.post(
        f"{org.instance_url}/services/async/59.0/job",
        json={"operation": "insert", "object": "Account", "contentType": "JSON"},
        headers={"Authorization": f"Bearer {org.new_token()}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "Open"


# -- XML job documents and CSV batches (as Data Loader and jsforce send them) --------------
def test_csv_batch_results_come_in_request_order_after_queued_in_progress_completed(bulk1, sf):
    job = xml_of(
        bulk1("POST", "job", data=job_xml(operation="insert", object="Account", contentType="CSV"))
    )
    job_id = job.findtext(tag("id"))
    assert (
        job.findtext(tag("state")) == "Open" and job.findtext(tag("concurrencyMode")) == "Parallel"
    )
    csv_body = 'Name,AnnualRevenue\n"B1 csv, quoted",12\n,3\nB1 csv third,abc\n'
    added = bulk1(
        "POST", f"job/{job_id}/batch", content_type="text/csv; charset=UTF-8", data=csv_body
    )
    assert added.status_code == 201
    batch_id = xml_of(added).findtext(tag("id"))
    seen, info = wait_for_batch(bulk1, job_id, batch_id)
    assert seen[-1] == "Completed" and seen[0] in ("Queued", "InProgress")
    assert "InProgress" in seen
    assert (
        info.findtext(tag("numberRecordsProcessed")),
        info.findtext(tag("numberRecordsFailed")),
    ) == ("3", "2")
    result = bulk1("GET", f"job/{job_id}/batch/{batch_id}/result")
    assert result.headers["Content-Type"].startswith("text/csv")
    lines = result.text.splitlines()
    assert lines[0] == '"Id","Success","Created","Error"'
    assert lines[1].endswith('"true","true",""') and lines[2].startswith(
        '"","false","false","REQUIRED_FIELD_MISSING:'
    )
    assert lines[3].startswith('"","false","false","INVALID_TYPE_ON_FIELD_IN_RECORD:')
    new_id = lines[1].split(",")[0].strip('"')
    assert names(sf, [new_id]) == {new_id: "B1 csv, quoted"}
    assert bulk1("GET", f"job/{job_id}/batch/{batch_id}/request").text == csv_body
    closed = xml_of(bulk1("POST", f"job/{job_id}", data=job_xml(state="Closed")))
    assert closed.findtext(tag("state")) == "Closed"
    counts = {
        name: closed.findtext(tag(name))
        for name in (
            "numberBatchesTotal",
            "numberBatchesCompleted",
            "numberRecordsProcessed",
            "numberRecordsFailed",
        )
    }
    assert counts == {
        "numberBatchesTotal": "1",
        "numberBatchesCompleted": "1",
        "numberRecordsProcessed": "3",
        "numberRecordsFailed": "2",
    }
    refused = bulk1("POST", f"job/{job_id}/batch", content_type="text/csv", data="Name\nlate\n")
    assert refused.status_code == 400
    assert xml_of(refused).findtext(tag("exceptionCode")) == "InvalidJobState"


def test_serial_batches_run_one_after_another_in_the_order_added(bulk1):
    key = f"b1-serial-{uuid.uuid4().hex[:8]}"
    job_id = xml_of(
        bulk1(
            "POST",
            "job",
            data=job_xml(
                operation="upsert",
                object="Account",
                externalIdFieldName="External_Id__c",
                concurrencyMode="Serial",
                contentType="CSV",
            ),
        )
    ).findtext(tag("id"))
    batch_ids = [
        xml_of(
            bulk1(
                "POST",
                f"job/{job_id}/batch",
                content_type="text/csv",
                data=f"External_Id__c,Name\n{key},Name {n}\n",
            )
        ).findtext(tag("id"))
        for n in range(3)
    ]
    listed = xml_of(bulk1("GET", f"job/{job_id}/batch"))
    assert [b.findtext(tag("id")) for b in listed.findall(tag("batchInfo"))] == batch_ids
    created = []
    for batch_id in batch_ids:
        assert wait_for_batch(bulk1, job_id, batch_id)[0][-1] == "Completed"
        rows = bulk1("GET", f"job/{job_id}/batch/{batch_id}/result").text.splitlines()
        created.append(rows[1].split(",")[2])
    assert created == [
        '"true"',
        '"false"',
        '"false"',
    ]  # the first batch created it, the others updated


def test_csv_query_batch_lists_a_result_then_serves_its_rows(bulk1, sf):
    job_id = xml_of(
        bulk1("POST", "job", data=job_xml(operation="query", object="Account", contentType="CSV"))
    ).findtext(tag("id"))
    soql = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 5"
    batch_id = xml_of(
        bulk1("POST", f"job/{job_id}/batch", content_type="text/csv", data=soql)
    ).findtext(tag("id"))
    seen, info = wait_for_batch(bulk1, job_id, batch_id)
    assert seen[-1] == "Completed" and info.findtext(tag("numberRecordsProcessed")) == "5"
    listed = xml_of(bulk1("GET", f"job/{job_id}/batch/{batch_id}/result"))
    assert listed.tag == tag("result-list")
    result_ids = [r.text for r in listed.findall(tag("result"))]
    assert len(result_ids) == 1 and result_ids[0].startswith("752")
    data = bulk1("GET", f"job/{job_id}/batch/{batch_id}/result/{result_ids[0]}")
    lines = data.text.splitlines()
    assert lines[0] == '"Id","Name"'
    assert [line.split(",")[0].strip('"') for line in lines[1:]] == [
        r["Id"] for r in sf.query(soql)["records"]
    ]


def test_an_aborted_job_takes_no_more_batches(bulk1):
    job_id = xml_of(
        bulk1("POST", "job", data=job_xml(operation="insert", object="Account", contentType="CSV"))
    ).findtext(tag("id"))
    aborted = xml_of(bulk1("POST", f"job/{job_id}", data=job_xml(state="Aborted")))
    assert aborted.findtext(tag("state")) == "Aborted"
    refused = bulk1("POST", f"job/{job_id}/batch", content_type="text/csv", data="Name\nx\n")
    assert xml_of(refused).findtext(tag("exceptionCode")) == "InvalidJobState"


def test_unknown_jobs_and_bad_job_requests_are_refused_as_bulk_1_refuses_them(bulk1):
    unknown = bulk1("GET", "job/750000000000000AAA")
    assert unknown.status_code == 400
    assert xml_of(unknown).findtext(tag("exceptionCode")) == "InvalidJob"
    no_object = bulk1(
        "POST", "job", data=job_xml(operation="insert", object="NoSuchThing", contentType="CSV")
    )
    assert (
        xml_of(no_object).findtext(tag("exceptionMessage")) == "Unable to find object: NoSuchThing"
    )
    not_xml = bulk1("POST", "job", data=b"<jobInfo")
    assert xml_of(not_xml).findtext(tag("exceptionCode")) == "InvalidXML"
    as_json = bulk1(
        "POST",
        "job",
        content_type="application/json",
        json={"operation": "merge", "object": "Account"},
    )
    assert as_json.status_code == 400
    assert as_json.json()["exceptionCode"] == "InvalidJob"


def test_a_batch_with_an_unknown_field_fails_as_a_whole(bulk1):
    job_id = xml_of(
        bulk1("POST", "job", data=job_xml(operation="insert", object="Account", contentType="CSV"))
    ).findtext(tag("id"))
    batch_id = xml_of(
        bulk1("POST", f"job/{job_id}/batch", content_type="text/csv", data="Name,Nope__c\nx,y\n")
    ).findtext(tag("id"))
    seen, info = wait_for_batch(bulk1, job_id, batch_id)
    assert seen[-1] == "Failed"
    assert info.findtext(tag("stateMessage")) == "InvalidBatch : Field name not found : Nope__c"
    assert (
        xml_of(bulk1("GET", f"job/{job_id}/batch/{batch_id}/result")).findtext(tag("exceptionCode"))
        == "InvalidBatch"
    )


def test_xml_batches_are_written_with_nil_for_null(bulk1, sf):
    job_id = xml_of(
        bulk1("POST", "job", data=job_xml(operation="insert", object="Account", contentType="XML"))
    ).findtext(tag("id"))
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    root = ET.Element(tag("sObjects"))
    record = ET.SubElement(root, tag("sObject"))
    ET.SubElement(record, tag("Name")).text = "B1 from XML"
    ET.SubElement(record, tag("Website"), {f"{{{xsi}}}nil": "true"})
    batch_id = xml_of(bulk1("POST", f"job/{job_id}/batch", data=ET.tostring(root))).findtext(
        tag("id")
    )
    assert wait_for_batch(bulk1, job_id, batch_id)[0][-1] == "Completed"
    results = xml_of(bulk1("GET", f"job/{job_id}/batch/{batch_id}/result"))
    (result,) = results.findall(tag("result"))
    assert (result.findtext(tag("success")), result.findtext(tag("created"))) == ("true", "true")
    assert names(sf, [result.findtext(tag("id"))]) == {result.findtext(tag("id")): "B1 from XML"}


def test_each_batch_counts_toward_daily_bulk_api_batches(sf):
    before = sf.limits()["DailyBulkApiBatches"]["Remaining"]
    sf.bulk.Account.insert(
        [{"Name": "B1 count a"}, {"Name": "B1 count b"}, {"Name": "B1 count c"}], batch_size=1
    )
    assert sf.limits()["DailyBulkApiBatches"]["Remaining"] <= before - 3
