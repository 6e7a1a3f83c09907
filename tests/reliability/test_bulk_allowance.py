"""An org whose daily Bulk query jobs are spent (DailyBulkV2QueryJobs: Salesforce refuses
the job with ExceededQuota): large objects are read by REST in the same run, paged, within
LHT_API_BUDGET, and the report says so; a budget that cannot cover the pages fails the object
clearly. On DuckDB and the Snowflake dialect."""

from __future__ import annotations

import pytest
from e2e.conftest import assert_main_table_matches_org

from lht_devorg import DevOrg

from .conftest import assert_clean_failure, staging_tables

COUNTS = {
    "User": 5,
    "Account": 5000,
    "Contact": 700,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}
ENV = {"LHT_REST_MAX_ROWS": "500", "LHT_RETRY_BACKOFF": "0.05"}


@pytest.fixture
def spent_org():
    """An org whose Bulk query jobs for the day are all used."""
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.1) as org:
        org.limits.set_bulk_jobs(used=10_000)
        yield org


def _job_posts(org: DevOrg) -> int:
    return sum(
        1
        for method, path in org.faults.requests()
        if method == "POST" and path.rstrip("/").endswith("/jobs/query")
    )


def test_objects_refused_a_bulk_job_for_the_daily_allowance_are_read_by_rest(
    make_ws, spent_org: DevOrg
) -> None:
    ws = make_ws(spent_org)
    run = ws.sync(
        "Account", "Contact", "--threads", "1", extra_env={**ENV, "LHT_API_BUDGET": "200"}
    )
    lines = {r["object_name"]: r for r in run.report["results"]}
    for name, rows in (("Account", 5000), ("Contact", 700)):
        assert lines[name]["status"] == "ok" and lines[name]["engine"] == "rest"
        assert lines[name]["rows_written"] == rows
        assert any("Bulk API refused the query job" in note for note in lines[name]["notes"]), (
            lines[name]["notes"]
        )
    assert _job_posts(spent_org) == 1, (
        "the second object asked for a Bulk job although the first was refused"
    )
    ws.build("--select", "account", "contact")
    assert_main_table_matches_org(ws, "Account")
    assert_main_table_matches_org(ws, "Contact")


def test_a_budget_too_small_for_the_rest_pages_fails_the_object_naming_lht_api_budget(
    make_ws, spent_org: DevOrg
) -> None:
    ws = make_ws(spent_org)
    # describe, count and the refused job: 3 calls; 5,000 rows by REST need 3 pages more
    run = ws.sync("Account", extra_env={**ENV, "LHT_API_BUDGET": "5"}, check=False)
    assert run.returncode == 1
    assert_clean_failure(run, "LHT_API_BUDGET", "Bulk", "5,000 rows")
    assert (
        "account" not in staging_tables(ws)
        or ws.query("select count(*) from salesforce_staging.account")[1][0][0] == 0
    )
