"""Bulk API 2.0 jobs against the local org: failures, deadlines, damaged pages, clean-up."""

from __future__ import annotations

import logging
import re
import time

import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pytest

from lht.config import credentials_from_env, settings_from_env
from lht.errors import BulkJobError, ObjectNotFoundError
from lht.salesforce import bulk
from lht.salesforce.client import connect
from lht.salesforce.describe import plan_object
from lht.salesforce.extract import extract
from lht.salesforce.soql import build_soql
from lht.typemap import arrow_schema


def _client(org, **overrides):
    settings = settings_from_env(
        {}, retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05, **overrides
    )
    return connect(credentials_from_env(org.env("token")), settings)


def _account(client):
    return plan_object(client.describe("Account"))


def test_a_failed_job_raises_with_salesforces_error_message(org):
    client = _client(org)
    org.faults.add("bulk_failed", message="InvalidBatch: simulated quota trouble")
    extraction = extract(client, _account(client), client.settings, mode="bulk")
    with pytest.raises(BulkJobError, match="Failed: InvalidBatch: simulated quota trouble"):
        list(extraction.batches)


def test_a_job_stuck_past_the_deadline_is_aborted(org, caplog):
    client = _client(org, bulk_deadline_seconds=1)
    org.faults.add("bulk_stuck")
    extraction = extract(client, _account(client), client.settings, mode="bulk")
    with (
        caplog.at_level(logging.WARNING, logger="lht.salesforce.bulk"),
        pytest.raises(BulkJobError, match="aborted it") as err,
    ):
        list(extraction.batches)
    assert "LHT_BULK_DEADLINE_SECONDS" in str(err.value)
    assert re.search(r"Bulk job \S+ aborted", caplog.text)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_truncated_page_is_downloaded_again(org, workers):
    client = _client(org, bulk_page_records=100, download_workers=workers)
    org.faults.add("truncate_results", times=1)
    extraction = extract(client, _account(client), client.settings, mode="bulk")
    ids = [i for t in extraction.batches for i in t.column("Id").to_pylist()]
    assert org.faults.fired("truncate_results") == 1
    expected = org.engine.count("Account", include_deleted=True)
    assert len(ids) == len(set(ids)) == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_a_page_cut_short_after_some_blocks_resumes_without_repeating_rows(
    org, workers, monkeypatch
):
    monkeypatch.setattr(
        "lht.salesforce.arrowconv.CSV_BLOCK_BYTES", 4096
    )  # a 100-row page is ~10 blocks
    monkeypatch.setattr("lht.salesforce.arrowconv.CSV_TABLE_BYTES", 1)  # each block its own table
    client = _client(org, bulk_page_records=100, download_workers=workers)
    org.faults.add("truncate_results", times=2)
    extraction = extract(client, _account(client), client.settings, mode="bulk")
    batches = list(extraction.batches)
    ids = [i for t in batches for i in t.column("Id").to_pylist()]
    assert org.faults.fired("truncate_results") == 2
    expected = org.engine.count("Account", include_deleted=True)
    assert len(batches) > -(-expected // 100)  # pages were streamed in several blocks
    assert len(ids) == len(set(ids)) == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_larger_than_a_parsing_block_are_loaded_whole_and_once(org, workers, monkeypatch):
    monkeypatch.setattr(
        "lht.salesforce.arrowconv.CSV_BLOCK_BYTES", 2048
    )  # the header fits, the big row does not
    monkeypatch.setattr("lht.salesforce.arrowconv.CSV_TABLE_BYTES", 1)
    long_text = '東京 "quoted", line\n' * 1500  # ~40 KB of UTF-8 in one value
    big = org.engine.create("Account", {"Name": "Big", "Description": long_text})
    client = _client(org, bulk_page_records=100, download_workers=workers)
    tables = list(extract(client, _account(client), client.settings, mode="bulk").batches)
    rows = pa.concat_tables(tables)
    ids = rows.column("Id").to_pylist()
    assert len(ids) == len(set(ids)) == org.engine.count("Account", include_deleted=True)
    assert rows.filter(pa.compute.equal(rows.column("Id"), big)).column(
        "Description"
    ).to_pylist() == [long_text]


def test_a_page_that_stays_damaged_fails_the_extract(org):
    client = _client(org, bulk_page_records=100, download_workers=1)
    org.faults.add("truncate_results", times=10)
    extraction = extract(client, _account(client), client.settings, mode="bulk")
    with pytest.raises(BulkJobError, match="stayed damaged"):
        list(extraction.batches)


def test_finished_jobs_are_deleted_after_download(org, caplog):
    client = _client(org)
    with caplog.at_level(logging.INFO, logger="lht.salesforce.bulk"):
        extraction = extract(client, _account(client), client.settings, mode="bulk")
        assert sum(t.num_rows for t in extraction.batches) > 0
    job_id = re.search(r"Bulk job (\S+) created", caplog.text).group(1)
    with pytest.raises(ObjectNotFoundError):
        client.request("GET", client.base_url + f"jobs/query/{job_id}", what="job info")


def test_locator_and_parallel_downloads_give_the_same_rows(org):
    tables = []
    for workers in (1, 3):
        client = _client(org, bulk_page_records=100, download_workers=workers)
        plan = _account(client)
        tables.append(
            pa.concat_tables(
                list(extract(client, plan, client.settings, mode="bulk").batches)
            ).sort_by("Id")
        )
    assert tables[0].equals(tables[1])


def _recording_sleep(waits: list[float]):
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    return sleep


def test_query_job_polling_looks_after_a_tenth_of_a_second_then_backs_off_by_half(org):
    client = _client(org)
    org.faults.add("bulk_stuck")
    job_id = bulk.create_query_job(client, build_soql(_account(client), fields=["Id"]))
    waits: list[float] = []
    with pytest.raises(BulkJobError, match="aborted"):
        bulk.wait_for_job(client, job_id, 5.0, sleep=_recording_sleep(waits))
    bulk.delete_job(client, job_id)
    assert waits[:7] == pytest.approx([0.1 * 1.5**n for n in range(7)])
    assert sum(waits) <= 5.0 + 1e-9  # the last wait stops at the deadline


def test_ingest_job_polling_waits_half_a_second_five_times_then_backs_off_by_thirty_percent(org):
    client = _client(org)
    org.faults.add("bulk_stuck")
    job_id = bulk.create_query_job(client, build_soql(_account(client), fields=["Id"]))
    waits: list[float] = []
    with pytest.raises(BulkJobError, match="aborted"):
        bulk.wait_for_job(client, job_id, 5.0, sleep=_recording_sleep(waits), **bulk.INGEST_POLLS)
    bulk.delete_job(client, job_id)
    assert waits[:7] == pytest.approx([0.5] * 5 + [0.65, 0.845])


def test_polling_waits_are_capped(org):
    client = _client(org)
    org.faults.add("bulk_stuck")
    job_id = bulk.create_query_job(client, build_soql(_account(client), fields=["Id"]))
    waits: list[float] = []
    with pytest.raises(BulkJobError):
        bulk.wait_for_job(
            client,
            job_id,
            1.2,
            first_wait=0.05,
            steady_polls=1,
            factor=4,
            max_wait=0.3,
            sleep=_recording_sleep(waits),
        )
    bulk.delete_job(client, job_id)
    assert waits[:4] == pytest.approx([0.05, 0.2, 0.3, 0.3])


def test_bulk_pages_are_typed_by_the_plan_schema(org):
    client = _client(org, bulk_page_records=150, download_workers=1)
    plan = _account(client)
    batches = list(extract(client, plan, client.settings, mode="bulk").batches)
    assert len(batches) >= 3
    assert all(b.schema == arrow_schema(plan.fields) for b in batches)
