"""The API budget stops a run cleanly and says what was spent; a second `lht sync` on the same
target refuses (or queues with --wait): never two writers of one object's state.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from e2e.conftest import BIN, Workspace, assert_main_table_matches_org
from orghooks import HeldCall

from .conftest import assert_clean_failure, state_rows

# Separate calls (LHT_COMPOSITE=0), so a budget of 2 runs out inside an object's sync and a
# stalled /queryAll holds the first run; grouped checks: test_composite_faults.py.
FAST = {"LHT_RETRY_BACKOFF": "0.05", "LHT_COMPOSITE": "0"}


def _baseline(ws: Workspace) -> dict:
    assert ws.sync("Account", "Contact", extra_env=FAST).report["ok"] is True
    for obj in ("Account", "Contact"):
        rs = ws.org.engine.execute(f"SELECT Id FROM {obj} LIMIT 3", include_deleted=False)
        try:
            for record in ws.org.engine.page_records(rs, 0, rs.total_size):
                ws.org.engine.update(
                    obj, record["Id"], {"Description": "changed after the baseline"}
                )
        finally:
            ws.org.engine.release(rs)
    return state_rows(ws)


def _assert_state_unchanged(ws: Workspace, before: dict) -> None:
    after = state_rows(ws)
    for obj, row in before.items():
        assert after[obj]["watermark"] == row["watermark"], f"{obj}: the watermark moved"
        assert after[obj]["last_success_at"] == row["last_success_at"], (
            f"{obj}: a success was recorded"
        )


def test_an_absolute_api_budget_stops_the_run_cleanly_and_reports_the_spend(ws: Workspace) -> None:
    before = _baseline(ws)
    run = ws.sync(
        "Account",
        "Contact",
        "--threads",
        "1",
        extra_env={**FAST, "LHT_API_BUDGET": "2"},
        check=False,
    )
    assert_clean_failure(run, "API budget", "LHT_API_BUDGET=2")
    report = run.report
    assert report["ok"] is False
    assert report["api_calls"] == 2, "the report does not say what was spent"
    assert {r["status"] for r in report["results"]} <= {"failed", "skipped"}
    _assert_state_unchanged(ws, before)
    # the next run with room to spend catches up: nothing was lost
    assert ws.sync("Account", "Contact", extra_env=FAST).report["ok"] is True
    ws.build("--select", "account", "contact")
    assert_main_table_matches_org(ws, "Account")


def test_a_budget_share_of_the_remaining_daily_requests_stops_the_run(ws: Workspace) -> None:
    before = _baseline(ws)
    ws.org.limits.set_used(ws.org.limits.daily_max - 10)  # 10 requests left today
    run = ws.sync(
        "Account",
        "Contact",
        "--threads",
        "1",
        extra_env={**FAST, "LHT_API_BUDGET_SHARE": "0.3"},
        check=False,
    )
    assert_clean_failure(run, "API budget", "LHT_API_BUDGET_SHARE")
    report = run.report
    assert report["api_calls"] <= 1 + 3, (
        "more than the share (0.3 of 10) plus the limits call was spent"
    )
    assert report["api_usage"]["max"] == ws.org.limits.daily_max
    _assert_state_unchanged(ws, before)


def _start_sync(ws: Workspace, *args: str) -> subprocess.Popen:
    argv = [
        str(BIN / "lht"),
        "sync",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        *args,
    ]
    return subprocess.Popen(
        argv,
        env={**ws.env, **FAST},
        cwd=ws.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_sync_on_the_same_target_refuses_or_waits_its_turn(ws: Workspace) -> None:
    _baseline(ws)
    with HeldCall(ws.org, path="/queryAll") as held:  # the first sync holds the lock until released
        first = _start_sync(ws, "Account")
        held.wait_reached(first)
        started = time.monotonic()
        second = ws.sync("Account", extra_env=FAST, check=False)
        refused_after = time.monotonic() - started
        assert second.returncode == 3
        assert_clean_failure(second, "Another lht sync holds the lock", "--wait")
        waiting = _start_sync(ws, "Account", "--wait")
        # the same run without --wait refused within `refused_after`: by then this one is at the
        # lock too, and it cannot pass it before the release (still running, not refused)
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=min(refused_after, 30))
        held.release()
        _, err_first = first.communicate(timeout=300)
        _, err_wait = waiting.communicate(timeout=300)
    assert first.returncode == 0, err_first[-2000:]
    assert waiting.returncode == 0, err_wait[-2000:]
    _, rows = ws.query(
        "select lower(object_name), count(*) from salesforce_staging._lht_state group by 1"
    )
    assert all(count == 1 for _, count in rows), f"two state rows for one object: {rows}"
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")
