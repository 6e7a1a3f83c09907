"""`lht sync` on the Snowflake dialect (fakesnow server): the statements of a 300,000-row sync,
counted where the server receives them, and kill -9 during and after the load.

One extract is one ``COPY INTO``; PUTs follow the bytes (one per rolled Parquet file), not
the batches. A run killed after its PUTs leaves no rows, and the rerun removes its files; a
run killed after its COPY but before its state duplicates nothing in the main table.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.conftest import BIN, Workspace, assert_main_table_matches_org, make_workspace

from lht_devorg import DevOrg
from lht_devorg.bulk.query import encode_locator

from .conftest import state_rows
from .test_crash_recovery import _kill, _sync_args, _wait_for

pytestmark = pytest.mark.snowflake

ROWS = 300_000
COUNTS = {
    "User": 5,
    "Account": ROWS,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}
FILE_MB = "16"
STALL = 60.0


def loader_puts(seen: list[str]) -> list[str]:
    """The loader's PUTs (fakesnow stages like GCS: the connector asks again for each file's
    presigned URL with ``PUT 'file://<name>'``; the loader's PUT names the file's full path)."""
    return [s for s in seen if s.upper().startswith("PUT 'FILE:///")]


@pytest.fixture
def big_ws(fakesnow_server: dict, tmp_path: Path) -> Iterator[Workspace]:
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.1) as org:
        yield make_workspace("snowflake", tmp_path, org, fakesnow_server)


@pytest.mark.slow
def test_a_300000_row_sync_is_one_copy_and_puts_follow_the_bytes(
    big_ws: Workspace, statements: list[str]
) -> None:
    before = len(statements)
    big_ws.sync("Account", extra_env={"LHT_SNOWFLAKE_FILE_MB": FILE_MB})
    sent = statements[before:]
    _, rows = big_ws.query(
        "select count(*), count(distinct _lht_batch_id) from salesforce_staging.account"
    )
    ((staged, batches),) = rows
    assert staged == ROWS
    copies = [s for s in sent if s.upper().startswith("COPY INTO")]
    # the extract's COPY, and on this first run (no run history to INSERT into yet) the run
    # history's own load of one batch into _lht_runs
    extract = [s for s in copies if '."ACCOUNT" FROM' in s.upper()]
    others = sorted(
        {s.split(" FROM ")[0] for s in copies} - {s.split(" FROM ")[0] for s in extract}
    )
    assert len(extract) == 1, copies
    assert all(o.upper().endswith('."_LHT_RUNS"') for o in others), copies
    puts = loader_puts(sent)
    assert batches >= 20 and 1 < len(puts) < batches / 2, (batches, len(puts))
    _, listed = big_ws.query("list @salesforce_staging.lht_load")
    assert listed == []


@pytest.fixture
def mid_org() -> Iterator[DevOrg]:
    """An org with 3,000 Accounts: a Bulk extract of several pages."""
    with DevOrg(counts={**COUNTS, "Account": 3000}, bulk_job_seconds=0.1) as org:
        yield org


def test_a_sync_killed_after_its_puts_loads_nothing_and_the_rerun_cleans_the_stage(
    fakesnow_server: dict, mid_org: DevOrg, tmp_path: Path
) -> None:
    small_org = mid_org
    ws = make_workspace("snowflake", tmp_path, small_org, fakesnow_server)
    ws.sync("Account")  # the staging table and the stage exist
    _, before = ws.query("select count(*) from salesforce_staging.account")
    env = {
        "LHT_REST_MAX_ROWS": "1",
        "LHT_BULK_PAGE_RECORDS": "500",
        "LHT_SNOWFLAKE_FILE_MB": "0.01",
        "LHT_DOWNLOAD_WORKERS": "1",
    }
    stall = small_org.faults.add(
        "stall", path=f"locator={encode_locator(2000)}", method="GET", times=1, seconds=STALL
    )
    proc = subprocess.Popen(
        [str(BIN / "lht"), *_sync_args(ws, True)],
        env={**ws.env, **env},
        cwd=ws.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert _wait_for(lambda: stall.fired >= 1, proc), (
        "the sync never reached the page it should stall at"
    )
    deadline = time.monotonic() + 30
    while not ws.query("list @salesforce_staging.lht_load")[1]:
        assert time.monotonic() < deadline, "no file reached the stage before the kill"
        time.sleep(0.1)
    assert _kill(proc)
    small_org.faults.clear()
    assert (
        ws.query("select count(*) from salesforce_staging.account")[1] == before
    )  # nothing half-loaded
    # the rerun's first load lists the stage and removes the killed run's files (a run that
    # loads nothing sends no stage statement at all: tests/e2e/test_fixed_costs.py), so one
    # record changes and the rerun loads it
    _, (first,) = ws.query("select id from salesforce_staging.account order by id limit 1")
    small_org.engine.update("Account", first[0], {"Description": "changed before the rerun"})
    ws.sync("Account")
    assert ws.query("list @salesforce_staging.lht_load")[1] == []
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")


def test_a_sync_killed_after_its_copy_before_its_state_duplicates_nothing(
    fakesnow_server: dict, small_org: DevOrg, tmp_path: Path
) -> None:
    ws = make_workspace("snowflake", tmp_path, small_org, fakesnow_server)
    ws.sync("Account")
    watermark = state_rows(ws)["account"]["watermark"]
    _, (first,) = ws.query("select id from salesforce_staging.account order by id limit 1")
    small_org.engine.update("Account", first[0], {"Description": "changed before the killed run"})
    stall = small_org.faults.add("stall", path="/deleted/", method="GET", times=1, seconds=STALL)
    # separate calls: the getDeleted check then comes after the records' COPY (grouped into a
    # Composite request it would come before the extract)
    proc = subprocess.Popen(
        [str(BIN / "lht"), *_sync_args(ws, False)],
        env={**ws.env, "LHT_COMPOSITE": "0"},
        cwd=ws.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert _wait_for(lambda: stall.fired >= 1, proc), "the sync never reached its deleted check"
    assert _kill(proc)
    small_org.faults.clear()
    assert (
        state_rows(ws)["account"]["watermark"] == watermark
    )  # state not saved: the rerun re-extracts
    ws.sync("Account")
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")
