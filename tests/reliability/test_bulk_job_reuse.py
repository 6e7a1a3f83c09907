"""A sync killed (kill -9) while it downloads a Bulk job's results: the next run takes the same
job up again instead of creating a second query job (Salesforce keeps results for 7 days),
and the main tables equal the org after `dbt build`. On DuckDB and the Snowflake dialect.

The org's ``stall`` fault holds the download at its second results page, so the kill lands
mid-download; the org counts the query jobs created (``DailyBulkV2QueryJobs``).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from e2e.conftest import Workspace, assert_main_table_matches_org

from lht_devorg import DevOrg
from lht_devorg.bulk.query import encode_locator

from .test_crash_recovery import _kill, _start, _sync_args, _wait_for

ACCOUNTS = 3000
COUNTS = {
    "User": 5,
    "Account": ACCOUNTS,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}
#: Bulk above 500 rows, pages of 1,000 read one after the other by locator
STALL = 15.0
ENV = {
    "LHT_REST_MAX_ROWS": "500",
    "LHT_BULK_PAGE_RECORDS": "1000",
    "LHT_DOWNLOAD_WORKERS": "1",
    "LHT_RETRY_BACKOFF": "0.05",
}


@pytest.fixture
def bulk_org():
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.2) as org:
        yield org


def _kill_mid_download(ws: Workspace, *, full: bool) -> None:
    """Start `lht sync Account` and kill -9 it while its second results page downloads."""
    stall = ws.org.faults.add(
        "stall", path=f"locator={encode_locator(1000)}", method="GET", times=1, seconds=STALL
    )
    proc = _start(ws, "lht", *_sync_args(ws, full), env=ENV)
    assert _wait_for(lambda: stall.fired >= 1, proc), (
        "the sync never reached its second results page"
    )
    assert _kill(proc), "the sync ended before it could be killed"
    ws.org.faults.clear()


def _history(ws: Workspace) -> list[dict]:
    run = ws.run(
        "lht",
        "jobs",
        "history",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def _account(run) -> dict:
    return next(r for r in run.report["results"] if r["object_name"].lower() == "account")


def test_a_sync_killed_mid_download_reuses_its_bulk_job_and_creates_no_second_one(
    make_ws, bulk_org: DevOrg
) -> None:
    ws = make_ws(bulk_org)
    _kill_mid_download(ws, full=False)
    assert bulk_org.limits.bulk_jobs == 1
    [left] = _history(ws)
    assert (
        left["status"] == "open" and left["object_name"] == "Account" and left["reused_by"] is None
    )
    rerun = ws.sync("Account", extra_env=ENV)
    assert bulk_org.limits.bulk_jobs == 1, "the run after the kill created a second Bulk query job"
    line = _account(rerun)
    assert line["engine"] == "bulk" and line["bulk_job_reused"] is True
    assert line["bulk_job_id"] == left["job_id"]
    assert line["rows_written"] == ACCOUNTS, "the reused job's rows were not all written once"
    assert any(f"reused Bulk job {left['job_id']}" in note for note in line["notes"]), line["notes"]
    [after] = _history(ws)
    assert after["job_id"] == left["job_id"] and after["reused_by"] == rerun.report["run_id"]
    assert after["status"] == "done"
    assert all(
        job.deleted for job in bulk_org.bulk.registry.created() if job.id == left["job_id"]
    ), "the job was not deleted once its rows were written"

    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")


def test_a_reused_job_dates_the_sync_from_its_creation_so_later_changes_are_not_missed(
    make_ws, bulk_org: DevOrg
) -> None:
    """Records changed or deleted after the killed run's job was created are not in its
    results: the run that reuses it keeps its watermark and deletion check before the job's
    creation, so the next run reads them."""
    ws = make_ws(bulk_org)
    _kill_mid_download(ws, full=False)
    [left] = _history(ws)
    created = datetime.fromisoformat(left["created_at"])
    rs = bulk_org.engine.execute("SELECT Id FROM Account", include_deleted=False)
    try:
        edited, deleted = [r["Id"] for r in bulk_org.engine.page_records(rs, 0, 2)]
    finally:
        bulk_org.engine.release(rs)
    bulk_org.engine.update("Account", edited, {"Description": "edited after the job was created"})
    bulk_org.engine.delete("Account", deleted)

    rerun = ws.sync("Account", extra_env=ENV)
    assert _account(rerun)["bulk_job_reused"] is True
    _, rows = ws.query("select deleted_checked_until from salesforce_staging._lht_state")
    covered = rows[0][0]
    covered = covered if covered.tzinfo else covered.replace(tzinfo=created.tzinfo)
    assert covered <= created, (
        "the full run's deletion check claims times after the reused job's creation"
    )

    ws.sync("Account", extra_env=ENV)  # incremental: reads what changed since the job's creation
    assert bulk_org.limits.bulk_jobs == 1
    ws.build("--select", "account")
    main = assert_main_table_matches_org(ws, "Account")
    assert main[edited]["description"] == "edited after the job was created"
    assert main[deleted]["_lht_is_deleted"] is True
