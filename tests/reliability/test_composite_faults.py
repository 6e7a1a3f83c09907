"""Faults on a grouped change check (the REST Composite request of an incremental run):
retried like any call, fallen back from when it keeps failing, a new session when it
expires, and a spent budget stops the run before any object starts."""

from __future__ import annotations

import pytest
from e2e.conftest import Workspace, assert_main_table_matches_org

from .conftest import assert_clean_failure, state_rows, sync_vv

FAST = {"LHT_RETRY_BACKOFF": "0.05", "LHT_MAX_RETRIES": "2", "LHT_HTTP_TIMEOUT": "5,3"}
COMPOSITE = "/composite"


@pytest.fixture
def engine_name() -> str:
    """Salesforce-side faults: DuckDB is enough (as in test_faults.py)."""
    return "duckdb"


def _baseline(ws: Workspace) -> dict:
    assert ws.sync("Account", "Contact", extra_env=FAST).report["ok"] is True
    rs = ws.org.engine.execute("SELECT Id FROM Account ORDER BY Id LIMIT 4", include_deleted=False)
    try:
        for record in ws.org.engine.page_records(rs, 0, rs.total_size):
            ws.org.engine.update(
                "Account", record["Id"], {"Description": "changed after the baseline"}
            )
    finally:
        ws.org.engine.release(rs)
    return state_rows(ws)


def _separate_queries(ws: Workspace, since: int) -> int:
    return sum(
        1
        for method, path in ws.org.faults.requests()[since:]
        if method == "GET" and "/queryAll" in path
    )


@pytest.mark.parametrize("kind", ["unavailable", "reset"])
def test_a_transient_composite_failure_is_retried_and_loses_nothing(
    ws: Workspace, kind: str
) -> None:
    _baseline(ws)
    seen = len(ws.org.faults.requests())
    ws.org.faults.add(kind, path=COMPOSITE, method="POST", times=2)
    run = sync_vv(ws, "Account", "Contact", extra_env=FAST)
    assert run.returncode == 0, run.stderr[-3000:]
    assert ws.org.faults.fired(kind) == 2
    assert _separate_queries(ws, seen) == 0, "the retried composite answer was not used"
    ws.build("--select", "account", "contact")
    assert_main_table_matches_org(ws, "Account")
    assert_main_table_matches_org(ws, "Contact")


def test_a_composite_request_that_keeps_failing_falls_back_to_separate_calls(ws: Workspace) -> None:
    _baseline(ws)
    seen = len(ws.org.faults.requests())
    ws.org.faults.add("unavailable", path=COMPOSITE, method="POST", times=1000)
    run = sync_vv(ws, "Account", "Contact", extra_env=FAST)
    assert run.returncode == 0, run.stderr[-3000:]
    assert ws.org.faults.fired("unavailable") == int(FAST["LHT_MAX_RETRIES"]) + 1
    assert _separate_queries(ws, seen) == 2, "each object did not ask on its own"
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")


def test_a_session_expiring_at_the_composite_request_logs_in_again(make_ws, small_org) -> None:
    ws = make_ws(small_org, flow="password")
    _baseline(ws)
    seen = len(ws.org.faults.requests())
    ws.org.faults.add("expired_session", path=COMPOSITE, method="POST", times=1)
    run = sync_vv(ws, "Account", "Contact", extra_env=FAST)
    assert run.returncode == 0, run.stderr[-3000:]
    assert ws.org.faults.fired("expired_session") == 1
    assert _separate_queries(ws, seen) == 0
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")


@pytest.mark.parametrize(
    ("env", "fault", "needle"),
    [
        ({"LHT_API_BUDGET": "1"}, None, "LHT_API_BUDGET=1"),
        ({}, "limit_exceeded", "limit"),
    ],
)
def test_a_spent_budget_at_the_composite_request_stops_the_run_before_any_object(
    ws: Workspace, env: dict[str, str], fault: str | None, needle: str
) -> None:
    before = _baseline(ws)
    seen = len(ws.org.faults.requests())
    if fault:
        ws.org.faults.add(fault, path=COMPOSITE, method="POST", times=1000)
    run = sync_vv(ws, "Account", "Contact", extra_env={**FAST, **env})
    assert run.returncode == 1
    report = run.report
    assert {r["status"] for r in report["results"]} == {"skipped"}
    assert all(needle.lower() in (r["error"] or "").lower() for r in report["results"]), report[
        "results"
    ]
    assert _separate_queries(ws, seen) == 0, "objects still called after the quota was spent"
    assert_clean_failure(run)
    after = state_rows(ws)
    for obj, row in before.items():
        assert after[obj]["watermark"] == row["watermark"], f"{obj}: the watermark moved"
    if env:
        assert report["api_calls"] == 1, "the budget counts real calls: describeGlobal only"
