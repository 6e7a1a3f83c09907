"""Faults from the org: each is either recovered (and the main table still equals the org)
or ends the run non-zero with a message naming the problem, the object's state untouched.
One retry policy with backoff for transient errors, none for permanent ones.
"""

from __future__ import annotations

import pytest
from e2e.conftest import Workspace, assert_main_table_matches_org

from .conftest import assert_clean_failure, assert_no_secret_leaked, state_rows, sync_vv

#: Fast retries and a short read timeout, so a fault costs seconds, not minutes.
# These faults target single calls (/queryAll, /jobs/query/...): the checks are asked one by
# one here (LHT_COMPOSITE=0); faults on a grouped Composite check: test_composite_faults.py.
FAST = {
    "LHT_RETRY_BACKOFF": "0.05",
    "LHT_MAX_RETRIES": "4",
    "LHT_HTTP_TIMEOUT": "5,3",
    "LHT_COMPOSITE": "0",
}
#: Force the Bulk API 2.0 path on a small org, with several result pages.
BULK = {**FAST, "LHT_REST_MAX_ROWS": "1", "LHT_BULK_PAGE_RECORDS": "2", "LHT_DOWNLOAD_WORKERS": "1"}


@pytest.fixture
def engine_name() -> str:
    """Faults are Salesforce-side, so they run on DuckDB; what they write on the Snowflake
    dialect is covered by the bad-data, budget, concurrency and crash tests."""
    return "duckdb"


def _baseline(ws: Workspace) -> dict:
    """A first successful sync of Account; then a few records change in the org.
    Returns Account's state row."""
    assert ws.sync("Account", extra_env=FAST).report["ok"] is True
    ids = [r["Id"] for r in _first_accounts(ws, 5)]
    for i, record_id in enumerate(ids):
        ws.org.engine.update("Account", record_id, {"Description": f"changed after baseline {i}"})
    return state_rows(ws)["account"]


def _first_accounts(ws: Workspace, n: int) -> list[dict]:
    rs = ws.org.engine.execute(
        f"SELECT Id FROM Account ORDER BY Id LIMIT {n}", include_deleted=False
    )
    try:
        return ws.org.engine.page_records(rs, 0, rs.total_size)
    finally:
        ws.org.engine.release(rs)


def _assert_recovered(
    ws: Workspace, env: dict[str, str], fault_kind: str, *, kept_columns: set[str] = frozenset()
) -> dict:
    run = sync_vv(ws, "Account", extra_env=env)
    assert run.returncode == 0, f"{fault_kind}: not recovered:\n{run.stderr[-3000:]}"
    assert ws.org.faults.fired(fault_kind) >= 1, f"the {fault_kind} fault never fired"
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account", kept_columns=kept_columns)
    assert_no_secret_leaked(run, ws.org, ws)
    return run.report


def _assert_failed_cleanly(
    ws: Workspace, before: dict, env: dict[str, str], fault_kind: str, *must_mention: str
) -> str:
    run = sync_vv(ws, "Account", extra_env=env)
    assert ws.org.faults.fired(fault_kind) >= 1, f"the {fault_kind} fault never fired"
    assert run.returncode != 0
    report = run.report
    assert report["ok"] is False
    error = report["results"][0]["error"] or ""
    for needle in must_mention:
        assert needle.lower() in error.lower(), (
            f"the report's error does not mention {needle!r}: {error}"
        )
    assert_clean_failure(run)
    after = state_rows(ws)["account"]
    assert after["watermark"] == before["watermark"], "a failed run moved the watermark"
    assert after["last_success_at"] == before["last_success_at"], "a failed run recorded a success"
    assert_no_secret_leaked(run, ws.org, ws)
    return error


# -- transient faults: retried with backoff, then the run succeeds -----------------------------
@pytest.mark.parametrize("kind", ["unavailable", "reset"])
def test_a_burst_of_transient_rest_errors_is_retried_and_loses_nothing(
    ws: Workspace, kind: str
) -> None:
    _baseline(ws)
    ws.org.faults.add(kind, path="/queryAll", times=3)
    report = _assert_recovered(ws, FAST, kind)
    assert report["results"][0]["api_calls"] >= 3 + 1, "retries were not counted as calls spent"


def test_a_read_timeout_is_retried_and_loses_nothing(ws: Workspace) -> None:
    _baseline(ws)
    ws.org.faults.add("stall", path="/queryAll", times=1, seconds=6)
    _assert_recovered(ws, {**FAST, "LHT_HTTP_TIMEOUT": "5,1"}, "stall")


def test_transient_errors_during_bulk_polling_and_download_are_retried(ws: Workspace) -> None:
    _baseline(ws)
    ws.org.faults.add("unavailable", path="/jobs/query/", method="GET", times=2)
    ws.org.faults.add("reset", path="/results", times=2)
    report = _assert_recovered(ws, BULK, "unavailable")
    assert report["results"][0]["engine"] == "bulk"
    assert ws.org.faults.fired("reset") == 2


def test_a_server_that_stays_unavailable_fails_the_run_without_moving_state(ws: Workspace) -> None:
    before = _baseline(ws)
    ws.org.faults.add("unavailable", path="/queryAll", times=1000)
    _assert_failed_cleanly(ws, before, FAST, "unavailable", "503")
    assert ws.org.faults.fired("unavailable") == int(FAST["LHT_MAX_RETRIES"]) + 1, (
        "a transient error was not retried exactly LHT_MAX_RETRIES times"
    )


# -- sessions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("flow", ["password", "client_credentials", "jwt"])
def test_a_session_expiring_mid_run_logs_in_again_for_every_login_flow(
    make_ws, small_org, flow: str
) -> None:
    ws = make_ws(small_org, flow=flow)
    _baseline(ws)
    # the session dies between pages: the REST query and then a Bulk poll get 401
    ws.org.faults.add("expired_session", path="/queryAll", times=1)
    ws.org.faults.add("expired_session", path="/jobs/query/", method="GET", times=1)
    report = _assert_recovered(ws, BULK, "expired_session")
    assert ws.org.faults.fired("expired_session") == 2
    assert report["results"][0]["engine"] == "bulk"


def test_an_expired_access_token_fails_clearly_without_moving_state(ws: Workspace) -> None:
    before = _baseline(ws)
    ws.org.faults.add("expired_session", path="/queryAll", times=1)
    _assert_failed_cleanly(ws, before, FAST, "expired_session", "SF_ACCESS_TOKEN")


def test_request_limit_exceeded_stops_the_run_without_retrying_or_moving_state(
    ws: Workspace,
) -> None:
    before = _baseline(ws)
    ws.org.faults.add("limit_exceeded", path="/queryAll", times=1000)
    _assert_failed_cleanly(ws, before, FAST, "limit_exceeded", "limit")
    assert ws.org.faults.fired("limit_exceeded") == 1, "a permanent error was retried"


# -- Bulk API 2.0 jobs -------------------------------------------------------------------------
def test_a_failed_bulk_job_fails_the_run_with_salesforces_reason(ws: Workspace) -> None:
    before = _baseline(ws)
    ws.org.faults.add(
        "bulk_failed", times=1, message="InternalServerError: the query ran out of time"
    )
    _assert_failed_cleanly(ws, before, BULK, "bulk_failed", "Failed", "ran out of time")


def test_a_bulk_job_stuck_past_the_deadline_is_aborted(ws: Workspace) -> None:
    before = _baseline(ws)
    ws.org.faults.add("bulk_stuck", times=1)
    error = _assert_failed_cleanly(
        ws,
        before,
        {**BULK, "LHT_BULK_DEADLINE_SECONDS": "2"},
        "bulk_stuck",
        "aborted",
        "LHT_BULK_DEADLINE_SECONDS",
    )
    aborts = [p for m, p in ws.org.faults.requests() if m == "PATCH" and "/jobs/query/" in p]
    assert aborts, f"lht said it aborted the job but sent no abort: {error}"


@pytest.mark.parametrize("mode", ["short", "cut"])
def test_a_truncated_results_page_is_downloaded_again(ws: Workspace, mode: str) -> None:
    """``short``: half the page with a matching Content-Length (the row count gives it away);
    ``cut``: the connection closes before Content-Length bytes arrived."""
    _baseline(ws)
    ws.org.faults.add("truncate_results", times=1, mode=mode)
    report = _assert_recovered(ws, BULK, "truncate_results")
    assert report["results"][0]["engine"] == "bulk"


# -- the schema changes under a running sync ---------------------------------------------------
def test_a_field_deleted_between_describe_and_query_is_dropped_and_the_rest_loaded(
    ws: Workspace,
) -> None:
    _baseline(ws)
    ws.org.faults.add("remove_field", path="/queryAll", times=1, object="Account", field="Site")
    # README (faults table): a field deleted while a sync runs keeps its column, NULL for new rows
    report = _assert_recovered(
        ws, {**FAST, "LHT_DESCRIBE_MAX_AGE": "0"}, "remove_field", kept_columns={"site"}
    )
    assert report["results"][0]["status"] == "ok"


def test_a_field_added_between_describe_and_query_appears_on_the_next_run(ws: Workspace) -> None:
    _baseline(ws)
    field = {"name": "Region__c", "label": "Region", "type": "string", "length": 40, "custom": True}
    ws.org.faults.add("add_field", path="/queryAll", times=1, object="Account", field=field)
    # the run's describe (read once, before the query) predates the field: the run recovers
    # without it, and the next run adds the column (README, faults table: "a field added")
    run = sync_vv(ws, "Account", extra_env=FAST)
    assert run.returncode == 0, f"add_field: not recovered:\n{run.stderr[-3000:]}"
    assert ws.org.faults.fired("add_field") >= 1, "the add_field fault never fired"
    assert_no_secret_leaked(run, ws.org, ws)
    for record in _first_accounts(ws, 3):
        ws.org.engine.update("Account", record["Id"], {"Region__c": "EMEA"})
    assert ws.sync("Account", extra_env=FAST).report["ok"] is True
    ws.build("--select", "account")
    main = assert_main_table_matches_org(ws, "Account")
    assert sorted(r["region__c"] for r in main.values() if r.get("region__c")) == ["EMEA"] * 3


def test_an_object_the_user_cannot_see_fails_alone_and_names_the_object(ws: Workspace) -> None:
    """Salesforce answers NOT_FOUND / INVALID_TYPE for an object the user lost access to,
    exactly as for one that does not exist."""
    before = _baseline(ws)
    # registered while the user could still see it (`lht add` checks the org, so: offline)
    ws.run("lht", "add", "Ghost__c", "--offline", "--project-dir", str(ws.project)).check()
    run = ws.sync("Account", "Ghost__c", extra_env=FAST, check=False)
    assert_clean_failure(run, "Ghost__c")
    results = {r["object_name"]: r for r in run.report["results"]}
    assert results["Account"]["status"] == "ok"
    assert results["Ghost__c"]["status"] == "failed"
    assert "profile" in results["Ghost__c"]["error"] or "access" in results["Ghost__c"]["error"]
    assert "ghost__c" not in state_rows(ws)
    assert state_rows(ws)["account"]["watermark"] >= before["watermark"]
