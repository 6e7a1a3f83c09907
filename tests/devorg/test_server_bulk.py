"""Bulk API 2.0 query jobs through unmodified simple-salesforce and raw requests."""

from __future__ import annotations

import csv
import io
import time

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
)

from lht_devorg.errors import OrgError


def _create(api, soql: str, **extra) -> dict:
    response = api("POST", "jobs/query", json={"operation": "query", "query": soql, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def _wait(api, job_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = api("GET", f"jobs/query/{job_id}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_bulk2_query_downloads_every_record_over_several_pages(org, sf):
    live = org.engine.count("Account")
    pages = list(sf.bulk2.Account.query("SELECT Id, Name FROM Account", max_records=1000, wait=0.1))
    assert len(pages) == -(-live // 1000) >= 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(rows) == len({r["Id"] for r in rows}) == live


def test_bulk2_download_writes_one_file_per_page(org, sf, tmp_path):
    live = org.engine.count("Account")
    results = sf.bulk2.Account.download(
        "SELECT Id FROM Account", str(tmp_path), max_records=1000, wait=0.1
    )
    counts = [r["number_of_records"] for r in results]
    assert counts[:-1] == [1000] * (len(counts) - 1) and sum(counts) == live
    for result in results:
        lines = open(result["file"], encoding="utf-8").read().splitlines()
        assert lines[0] == '"Id"' and len(lines) == result["number_of_records"] + 1


def test_job_info_has_salesforce_keys_and_states(org, api):
    created = _create(api, "SELECT Id, Name FROM Account")
    assert created["state"] == "UploadComplete"
    assert set(created) == {
        "id",
        "operation",
        "object",
        "createdById",
        "createdDate",
        "systemModstamp",
        "state",
        "concurrencyMode",
        "contentType",
        "apiVersion",
        "lineEnding",
        "columnDelimiter",
    }
    assert created["id"].startswith("750") and created["apiVersion"] == 59.0
    assert (
        created["object"],
        created["contentType"],
        created["lineEnding"],
        created["columnDelimiter"],
    ) == ("Account", "CSV", "LF", "COMMA")
    info = _wait(api, created["id"])
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == org.engine.count("Account")
    assert {"retries", "totalProcessingTime"} <= set(info)


def test_results_before_completion_are_job_not_complete(org, api):
    org.faults.add("bulk_stuck")
    job = _create(api, "SELECT Id FROM Account")
    response = api("GET", f"jobs/query/{job['id']}/results")
    assert response.status_code == 412
    assert response.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    aborted = api("PATCH", f"jobs/query/{job['id']}", json={"state": "Aborted"}).json()
    assert aborted["state"] == "Aborted"


def test_bad_query_fails_at_job_creation(sf, api):
    response = api(
        "POST", "jobs/query", json={"operation": "query", "query": "SELECT Nope__c FROM Account"}
    )
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest):
        list(sf.bulk2.Account.query("SELECT BillingAddress FROM Account", wait=0.1))


def test_results_headers_locator_and_csv_content_type(org, api):
    live = org.engine.count("Account")
    assert 2000 < live < 4000
    job = _create(api, "SELECT Id, Name FROM Account")
    _wait(api, job["id"])
    first = api("GET", f"jobs/query/{job['id']}/results", params={"maxRecords": 2000})
    assert first.headers["Content-Type"] == "text/csv"
    assert first.headers["Sforce-NumberOfRecords"] == "2000"
    locator = first.headers["Sforce-Locator"]
    assert locator not in ("", "null")
    last = api(
        "GET", f"jobs/query/{job['id']}/results", params={"maxRecords": 2000, "locator": locator}
    )
    assert last.headers["Sforce-NumberOfRecords"] == str(live - 2000)
    assert last.headers["Sforce-Locator"] == "null"
    assert last.text.splitlines()[0] == '"Id","Name"'
    again = api(
        "GET", f"jobs/query/{job['id']}/results", params={"maxRecords": 2000, "locator": locator}
    )
    assert again.content == last.content  # a locator can be used again


def test_result_pages_lists_locator_urls_for_parallel_download(org, api, session):
    job = _create(api, "SELECT Id FROM Account")
    _wait(api, job["id"])
    body = api("GET", f"jobs/query/{job['id']}/resultPages").json()
    assert set(body) == {"resultPages", "nextRecordsUrl", "done"}
    urls = [p["resultUrl"] for p in body["resultPages"]]
    assert urls and all(
        u.startswith(f"/services/data/v59.0/jobs/query/{job['id']}/results?locator=") for u in urls
    )
    headers = {"Authorization": f"Bearer {org.new_token()}"}
    total = sum(
        int(
            session.get(org.instance_url + u, headers=headers, timeout=30).headers[
                "Sforce-NumberOfRecords"
            ]
        )
        for u in urls
    )
    assert body["done"] is True and total == org.engine.count("Account")


def test_delimiter_and_line_ending_are_honoured(api):
    job = _create(
        api, "SELECT Id, Name FROM Account LIMIT 3", columnDelimiter="PIPE", lineEnding="CRLF"
    )
    _wait(api, job["id"])
    text = api("GET", f"jobs/query/{job['id']}/results").content.decode("utf-8")
    assert text.startswith('"Id"|"Name"\r\n') and text.count("\r\n") == 4


def test_csv_quotes_values_and_leaves_null_empty(sf, api):
    new_id = sf.Account.create({"Name": 'Quote "this", please\nnext line', "Phone": None})["id"]
    job = _create(api, f"SELECT Id, Name, Phone FROM Account WHERE Id = '{new_id}'")
    _wait(api, job["id"])
    text = api("GET", f"jobs/query/{job['id']}/results").content.decode("utf-8")
    assert text == f'"Id","Name","Phone"\n"{new_id}","Quote ""this"", please\nnext line",\n'


def test_jobs_list_abort_and_delete(api):
    job = _create(api, "SELECT Id FROM Account")
    listed = api("GET", "jobs/query").json()
    assert {"done", "records", "nextRecordsUrl"} <= set(listed)
    assert job["id"] in [j["id"] for j in listed["records"]]
    _wait(api, job["id"])
    assert api("DELETE", f"jobs/query/{job['id']}").status_code == 204
    assert api("GET", f"jobs/query/{job['id']}").status_code == 404


def test_deleting_a_running_job_is_refused(org, api):
    org.faults.add("bulk_stuck")
    job = _create(api, "SELECT Id FROM Account")
    assert api("DELETE", f"jobs/query/{job['id']}").status_code == 400
    api("PATCH", f"jobs/query/{job['id']}", json={"state": "Aborted"})
    assert api("DELETE", f"jobs/query/{job['id']}").status_code == 204


def test_query_all_job_sees_deleted_records(sf, api):
    victim = sf.Opportunity.create(
        {"Name": "Lost", "StageName": "Prospecting", "CloseDate": "2024-06-01"}
    )["id"]
    sf.Opportunity.delete(victim)
    pages = list(sf.bulk2.Opportunity.query_all("SELECT Id, IsDeleted FROM Opportunity", wait=0.1))
    rows = {r["Id"]: r["IsDeleted"] for p in pages for r in csv.DictReader(io.StringIO(p))}
    assert rows[victim] == "true"


def test_results_of_a_failed_job_raise_in_simple_salesforce(org, sf):
    org.faults.add("bulk_failed", message="InternalServerError: simulated")
    with pytest.raises(Exception, match="simulated"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0.1))
    assert org.faults.fired("bulk_failed") == 1


def test_results_with_unknown_job_are_not_found(api):
    response = api("GET", "jobs/query/750000000000000AAA/results")
    assert response.status_code == 404


def test_general_error_for_412_in_simple_salesforce(org, sf):
    org.faults.add("bulk_stuck")
    job = sf.bulk2.Account._client.create_job("query", "SELECT Id FROM Account")
    with pytest.raises(SalesforceGeneralError) as failure:
        sf.bulk2.Account._client.get_query_results(job["id"])
    assert failure.value.status == 412
    sf.bulk2.Account._client.abort_job(job["id"], True)


TRICKY_NAMES = [
    "  Spaced out  ",
    'Quote "this", please',
    "Multi\nline",
    "Windows\r\nline",
    "tab\tinside",
    "pipe|semi;caret^",
    "ünïcødé – 日本 ✓",
    '"',
]


@pytest.fixture(scope="module")
def tricky_accounts(org) -> list[str]:
    """A few Accounts whose names need quoting, escaping or multi-byte UTF-8."""
    return [org.engine.create("Account", {"Name": name, "Phone": None}) for name in TRICKY_NAMES]


def _rs_tables(org) -> int:
    cur = org.engine.cursor()
    try:
        return cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = '_rs'"
        ).fetchone()[0]
    finally:
        cur.close()


def _pages(jobs, job_id: str, max_records: str) -> list[tuple[bytes, int]]:
    pages, locator = [], None
    while locator != "null":
        body, count, locator = jobs.results(job_id, "59.0", locator, max_records)
        pages.append((body, count))
    return pages


@pytest.mark.parametrize(
    ("delimiter", "line_ending", "order"),
    [("COMMA", "LF", ""), ("TAB", "CRLF", " ORDER BY Name DESC")],
)
def test_pages_of_any_size_are_slices_of_the_one_full_page(
    org, sf, tricky_accounts, delimiter, line_ending, order
):
    from lht_devorg.bulk.query import BulkJobs
    from lht_devorg.cursors import encode_locator

    soql = f"SELECT Id, Name, Phone, Description FROM Account{order}"
    sep, eol = {"COMMA": ",", "TAB": "\t"}[delimiter], {"LF": "\n", "CRLF": "\r\n"}[line_ending]
    rest = [(r["Id"], r["Name"]) for r in sf.query_all(soql)["records"]]
    tables_before = _rs_tables(org)
    jobs = BulkJobs(org.engine, job_seconds=0, chunk_rows=500)
    try:
        job = jobs.create(
            {
                "operation": "query",
                "query": soql,
                "columnDelimiter": delimiter,
                "lineEnding": line_ending,
            },
            "59.0",
        )
        deadline = time.monotonic() + 20
        while jobs.info(job["id"])["state"] != "JobComplete" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert jobs.info(job["id"])["numberRecordsProcessed"] == len(rest) > 2000
        assert _rs_tables(org) == tables_before  # streamed, not copied into a result table
        [(full, count)] = _pages(jobs, job["id"], "100000")
        header = f'"Id"{sep}"Name"{sep}"Phone"{sep}"Description"{eol}'.encode()
        assert full.startswith(header) and count == len(rest)
        rows = list(csv.reader(io.StringIO(full.decode(), newline=""), delimiter=sep))
        assert [(r[0], r[1]) for r in rows[1:]] == rest  # same rows, same order as REST
        assert {name for _, name in rest} >= set(TRICKY_NAMES)
        for size in (500, 700, 1000, 1333):
            pages = _pages(jobs, job["id"], str(size))
            assert [c for _, c in pages[:-1]] == [size] * (len(pages) - 1)
            assert all(body.startswith(header) for body, _ in pages)
            assert header + b"".join(body[len(header) :] for body, _ in pages) == full
        total = len(rest)
        for offset, limit in [(0, 1), (3, 9), (499, 2), (250, 500), (1999, 301), (total - 1, 5)]:
            end = min(offset + limit, total)
            cuts = [(0, offset), (offset, limit), (end, total - end)]
            parts = [
                jobs.results(job["id"], "59.0", encode_locator(o) if o else None, str(n))[0]
                for o, n in cuts
                if n
            ]
            assert header + b"".join(p[len(header) :] for p in parts) == full, (offset, limit)
        spool_file = jobs.spool_dir / f"{job['id']}.csv"
        assert spool_file.exists()
        jobs.delete(job["id"])
        assert not spool_file.exists()
    finally:
        jobs.close()


def test_a_job_whose_rendering_fails_ends_failed(org, monkeypatch):
    from lht_devorg.bulk.query import BulkJobs
    from lht_devorg.soql import render

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(render, "write_csv", broken)
    jobs = BulkJobs(org.engine, job_seconds=0, chunk_rows=500)
    try:
        job = jobs.create({"operation": "query", "query": "SELECT Id FROM Account"}, "59.0")
        deadline = time.monotonic() + 20
        while (
            jobs.info(job["id"])["state"] not in ("JobComplete", "Failed")
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        info = jobs.info(job["id"])
        assert info["state"] == "Failed"
        assert info["errorMessage"] == "InternalServerError: result rendering failed"
        with pytest.raises(OrgError) as failure:
            jobs.results(job["id"], "59.0", None, None)
        assert failure.value.status == 412
    finally:
        jobs.close()


def test_a_query_job_over_the_daily_allowance_is_refused_while_rest_still_answers(org, api):
    before = api("GET", "limits/").json()["DailyBulkV2QueryJobs"]
    _create(api, "SELECT Id FROM Account")
    assert (
        api("GET", "limits/").json()["DailyBulkV2QueryJobs"]["Remaining"] == before["Remaining"] - 1
    )
    org.limits.set_bulk_jobs(maximum=org.limits.bulk_jobs)
    try:
        refused = api(
            "POST", "jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
        )
        assert refused.status_code == 400
        assert refused.json()[0]["errorCode"] == "EXCEEDEDQUOTA"
        assert "24-hour" in refused.json()[0]["message"]
        assert api("GET", "limits/").json()["DailyBulkV2QueryJobs"]["Remaining"] == 0
        assert (
            api("GET", "query/", params={"q": "SELECT Id FROM Account LIMIT 1"}).status_code == 200
        )
    finally:
        org.limits.set_bulk_jobs(maximum=before["Max"])
