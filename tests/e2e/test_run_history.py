"""Every run becomes data: `lht sync`, `lht push` and `lht merge` append their reports to
`_lht_runs`, and `dbt build` turns them into `salesforce.lht_runs` and
`salesforce.lht_api_usage`, whose numbers add up to what the `--json` reports said. On
DuckDB and on the Snowflake dialect (fakesnow)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from merge.conftest import DEDUP_SQL, MERGE_COUNTS, add_merge_model

from lht_devorg import DevOrg

from .conftest import Workspace, make_workspace

DEMO_VARS = json.dumps({"lht_demo_push": True})


@pytest.fixture
def small_org() -> Iterator[DevOrg]:
    """A small org holding the seeded duplicate Accounts."""
    with DevOrg(counts=MERGE_COUNTS, bulk_job_seconds=0.1) as running:
        yield running


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def workspace(request: pytest.FixtureRequest, small_org: DevOrg, tmp_path: Path) -> Workspace:
    """A workspace on the small org, on DuckDB and on the Snowflake dialect."""
    fakesnow = request.getfixturevalue("fakesnow_server") if request.param == "snowflake" else None
    return make_workspace(request.param, tmp_path, small_org, fakesnow)


def _runs(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """salesforce.lht_runs, rows by run_id."""
    names, rows = ws.query("select * from salesforce.lht_runs")
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        record = dict(zip(names, row, strict=True))
        found.setdefault(record["run_id"], []).append(record)
    return found


def _check_adds_up(
    rows: list[dict[str, Any]], report: dict[str, Any], command: str, name_key: str
) -> None:
    items = {r["object_name"]: r for r in rows if r["object_name"] is not None}
    run_row = [r for r in rows if r["object_name"] is None]
    assert len(run_row) == 1, f"{command}: one run row, not {len(run_row)}"
    assert {r["command"] for r in rows} == {command}
    assert sum(r["api_calls"] for r in rows) == report["api_calls"], (
        f"{command}: the calls do not add up"
    )
    assert sum(r["rows_written"] for r in rows) == report["rows_written"], (
        f"{command}: the rows do not add up"
    )
    assert run_row[0]["api_calls"] == report["run_api_calls"]
    assert run_row[0]["exit_code"] == report["exit_code"] and run_row[0]["outcome"] == "ok"
    assert {n: (r["rows_written"], r["api_calls"], r["outcome"]) for n, r in items.items()} == {
        r[name_key]: (r["rows_written"], r["api_calls"], r["status"]) for r in report["results"]
    }


def test_two_syncs_a_push_and_a_merge_add_up_in_lht_runs(workspace: Workspace) -> None:
    ws = workspace
    add_merge_model(ws, "dedup_accounts", DEDUP_SQL)
    first = ws.sync().report
    ws.build("--vars", DEMO_VARS)
    ws.org.engine.create("Account", {"Name": "History probe"})
    second = ws.sync().report
    assert second["rows_written"] > 0 and second["run_api_calls"] >= 1, (
        "describeGlobal is the run's own call"
    )
    push = (
        ws.run(
            "lht",
            "push",
            "lht_demo_account_scores",
            "--json",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.profiles),
        )
        .check()
        .report
    )
    merge = (
        ws.run(
            "lht",
            "merge",
            "dedup_accounts",
            "--json",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.profiles),
        )
        .check()
        .report
    )
    assert push["rows_written"] > 0 and merge["rows_written"] > 0
    ws.build("--vars", DEMO_VARS)

    runs = _runs(ws)
    reports = {
        first["run_id"]: (first, "sync", "object_name"),
        second["run_id"]: (second, "sync", "object_name"),
        push["run_id"]: (push, "push", "name"),
        merge["run_id"]: (merge, "merge", "name"),
    }
    assert set(runs) == set(reports), "one run_id per run, and no other"
    for run_id, (report, command, key) in reports.items():
        _check_adds_up(runs[run_id], report, command, key)
    account = next(r for r in runs[second["run_id"]] if r["object_name"] == "Account")
    assert (account["mode"], account["engine"], account["rows_written"]) == (
        "incremental",
        "rest",
        1,
    )
    pushed = next(r for r in runs[push["run_id"]] if r["object_name"] == "lht_demo_account_scores")
    assert (pushed["mode"], pushed["rows_sent"], pushed["rows_failed"]) == (
        "update",
        push["results"][0]["sent"],
        0,
    )
    merged = next(r for r in runs[merge["run_id"]] if r["object_name"] == "dedup_accounts")
    assert (merged["engine"], merged["rows_merged"]) == ("soap", merge["results"][0]["merged"])

    names, usage = ws.query(
        "select usage_date, lht_api_calls, peak_used, daily_limit from salesforce.lht_api_usage"
    )
    today = dict(zip(names, usage[-1], strict=True))
    assert (
        len(usage) == 1
        and str(today["usage_date"]) == datetime.now(timezone.utc).date().isoformat()
    )
    assert today["lht_api_calls"] == sum(r["api_calls"] for r in (first, second, push, merge))
    assert today["daily_limit"] == ws.org.api_daily_max
    assert 0 < today["peak_used"] <= ws.org.api_calls, (
        "the org's usage as its Sforce-Limit-Info said"
    )


def test_a_dry_run_writes_no_run_row(small_org: DevOrg, tmp_path: Path) -> None:
    ws = make_workspace("duckdb", tmp_path, small_org)
    ws.sync("Account")
    ws.build("--select", "account")
    add_merge_model(ws, "dedup_accounts", DEDUP_SQL)
    ws.build("--select", "dedup_accounts")
    ws.run(
        "lht",
        "merge",
        "--dry-run",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
    ).check()
    names, rows = ws.query("select distinct command from salesforce_staging._lht_runs")
    assert [r[0] for r in rows] == ["sync"], "a dry run changed the run history"


def _refusals(ws: Workspace) -> list[dict[str, Any]]:
    names, rows = ws.query("select * from salesforce_staging._lht_runs where outcome = 'refused'")
    return [dict(zip(names, row, strict=True)) for row in rows]


def test_a_run_refused_before_it_starts_writes_its_run_row_alone(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lht.warehouse.lock import run_lock
    from lht.warehouse.target import load_target

    ws = workspace
    monkeypatch.chdir(
        ws.root
    )  # the target as the workspace's runs see it (a DuckDB path is relative)
    ws.sync("Account")
    bad = ws.sync("Account", extra_env={"LHT_API_BUDGET": "lots"}, check=False)
    assert bad.returncode == 2
    (refused,) = _refusals(ws)
    assert (refused["command"], refused["object_name"], refused["exit_code"]) == ("sync", None, 2)
    assert "LHT_API_BUDGET" in refused["error_message"]

    with run_lock(load_target(ws.project, ws.profiles)):  # another run holds the target
        locked = ws.run(
            "lht",
            "push",
            "--json",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.profiles),
        )
        assert locked.returncode == 2, "no push model: refused before the lock"
        ws.build("--select", "account", "--vars", DEMO_VARS)
        held = ws.sync("Account", check=False)
        assert held.returncode == 3
    later = ws.sync("Account").report  # on DuckDB the held file kept the refusal aside until now
    if ws.engine == "duckdb":
        assert not list(ws.duckdb_path.parent.glob("*runs-pending*")), "the spool was left"
    refusals = sorted(_refusals(ws), key=lambda r: r["started_at"])
    assert [(r["command"], r["exit_code"]) for r in refusals] == [
        ("sync", 2),
        ("push", 2),
        ("sync", 3),
    ]
    assert "holds the lock" in refusals[-1]["error_message"]
    names, rows = ws.query(
        "select run_id, count(*) from salesforce_staging._lht_runs group by run_id"
    )
    counts = dict(rows)
    assert all(counts[r["run_id"]] == 1 for r in refusals), "a refused run has its run row alone"
    assert counts[later["run_id"]] == 2

    status = (
        ws.run(
            "lht",
            "status",
            "--json",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.profiles),
        )
        .check()
        .report
    )
    last = status["last_runs"]
    assert [r["run_id"] for r in last][:1] == [later["run_id"]]
    assert [(r["command"], r["outcome"]) for r in last[1:4]] == [
        ("sync", "refused"),
        ("push", "refused"),
        ("sync", "refused"),
    ]
    table = ws.run(
        "lht", "status", "--project-dir", str(ws.project), "--profiles-dir", str(ws.profiles)
    ).check()
    assert "last runs" in table.stdout and "holds the lock" in table.stdout


def test_a_refusal_creates_no_warehouse(small_org: DevOrg, tmp_path: Path) -> None:
    ws = make_workspace("duckdb", tmp_path, small_org)
    assert ws.sync(extra_env={"LHT_API_BUDGET": "lots"}, check=False).returncode == 2
    assert not ws.duckdb_path.exists()
