"""`lht sync --dry-run`: the plan per object at the cost of describe, count and limits calls;
nothing written to the warehouse. On DuckDB and the Snowflake dialect."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from e2e.conftest import Workspace, org_records

from .conftest import staging_tables


def _warehouse(ws: Workspace) -> dict[str, int]:
    """Every staging table and its row count: what a dry run must leave as it found."""
    return {
        t: int(ws.query(f"select count(*) from salesforce_staging.{t}")[1][0][0])
        for t in sorted(staging_tables(ws))
    }


def _dry_run(ws: Workspace, *objects: str) -> dict:
    run = ws.run(
        "lht",
        "sync",
        "--dry-run",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        *objects,
        extra_env={"LHT_REST_MAX_ROWS": "40"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def _only_describe_count_limits(calls: list[tuple[str, str]]) -> None:
    for method, target in calls:
        path = urlsplit(target).path.rstrip("/")
        assert method == "GET", f"a dry run sent {method} {path}"
        if path.endswith(("/describe", "/sobjects", "/limits")):
            continue
        assert path.endswith(("/query", "/queryAll")), f"a dry run called {path}"
        soql = parse_qs(urlsplit(target).query)["q"][0]
        assert soql.upper().startswith("SELECT COUNT() FROM"), f"a dry run queried records: {soql}"


def test_dry_run_plans_each_object_with_describe_and_count_calls_only_and_writes_nothing(
    ws: Workspace,
) -> None:
    ws.sync("Account")
    ws.org.engine.add_field("Account", {"name": "Lht_Tier__c", "type": "string", "length": 20})
    before = _warehouse(ws)
    seen = len(ws.org.faults.requests())

    plan = _dry_run(ws, "Account", "Contact")

    _only_describe_count_limits(ws.org.faults.requests()[seen:])
    assert _warehouse(ws) == before, "the dry run wrote to the warehouse"
    lines = {o["object_name"]: o for o in plan["objects"]}
    account, contact = lines["Account"], lines["Contact"]
    assert plan["dry_run"] is True and plan["exit_code"] == 0
    assert account["mode"] == "incremental" and account["engine"] == "rest"
    assert account["fields_added"] == ["Lht_Tier__c"] and account["fields_removed"] == []
    assert account["calls"]["backfill"] >= 1
    assert contact["mode"] == "full" and contact["rows"] == len(org_records(ws.org, "Contact"))
    assert contact["engine"] == ("bulk" if contact["rows"] > 40 else "rest")
    assert contact["expected_calls"] >= 2 and plan["expected_calls"] >= contact["expected_calls"]
    assert plan["api_calls"] >= 3  # a describe per object, counts, the limits


def test_dry_run_of_a_warehouse_never_synced_plans_full_loads_and_creates_nothing(
    ws: Workspace,
) -> None:
    plan = _dry_run(ws, "Account")
    [account] = plan["objects"]
    assert account["mode"] == "full" and account["rows"] == len(org_records(ws.org, "Account"))
    assert account["engine"] == "bulk" and account["calls"]["results_pages"] >= 1
    assert "_lht_state" not in staging_tables(ws)
