"""An incremental run asks "anything new?" of five objects per API call (REST Composite):
call counts are pinned from the run report and the org's own counter, the rows loaded are
the same as with separate calls, and a failing subrequest fails only its object."""

from __future__ import annotations

from pathlib import Path

import yaml

from lht_devorg import DevOrg

from .conftest import Workspace, make_workspace

STARTERS = ("Account", "Case", "Contact", "Lead", "Opportunity", "Task", "User")


def _composite_posts(org: DevOrg, since: int) -> int:
    return sum(
        1
        for method, path in org.faults.requests()[since:]
        if method == "POST" and path.split("?")[0].rstrip("/").endswith("/composite")
    )


def _staged(ws: Workspace, table: str) -> set[tuple]:
    """What a run staged, without the columns that name the batch or the run."""
    names, rows = ws.query(f"select * from salesforce_staging.{table}")
    keep = [i for i, n in enumerate(names) if n not in ("_lht_batch_id", "_lht_extracted_at")]
    return {tuple(row[i] for i in keep) for row in rows}


def test_seven_unchanged_objects_cost_describe_global_and_two_composite_calls(
    org: DevOrg, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    ws.sync()
    seen, before = len(org.faults.requests()), org.api_calls
    second = ws.sync().report
    assert {r["mode"] for r in second["results"]} == {"incremental"}
    assert second["api_calls"] == 3, "describeGlobal + 2 Composite requests"
    assert org.api_calls - before == 3, "the org counted other calls than the run report"
    assert _composite_posts(org, seen) == 2
    calls = {r["object_name"]: (r["api_calls"], r["api_calls_shared"]) for r in second["results"]}
    assert sorted(calls.values()) == [(0, 0)] * 5 + [(1, 1)] * 2, (
        "each Composite call counts whole, on one object"
    )
    assert second["run_api_calls"] == 1, "describeGlobal is the run's own call"
    assert sum(n for n, _ in calls.values()) + second["run_api_calls"] == second["api_calls"]

    off = ws.sync(extra_env={"LHT_COMPOSITE": "0"}).report
    assert off["api_calls"] == 2 * len(STARTERS) + 1, "LHT_COMPOSITE=0 asks each object separately"


def test_thirty_unchanged_objects_cost_at_most_seven_calls(org: DevOrg, tmp_path: Path) -> None:
    extra = [f"Thing_{n:02d}__c" for n in range(23)]
    org.engine.add_objects(
        [(name, f"a2{'0123456789ABCDEFGHIJKLMN'[n]}") for n, name in enumerate(extra)]
    )
    for name in extra:
        org.engine.create(name, {"Name": f"{name} one"})
    ws = make_workspace("duckdb", tmp_path, org)
    ws.run("lht", "add", *extra, "--project-dir", str(ws.project)).check()
    first = ws.sync().report
    assert len(first["results"]) == 30 and first["ok"]
    before = org.api_calls
    second = ws.sync().report
    assert {r["mode"] for r in second["results"]} == {"incremental"}
    assert second["api_calls"] <= 7, second["api_calls"]
    assert org.api_calls - before == second["api_calls"]


def test_changed_and_unchanged_objects_load_the_same_rows_as_separate_calls(
    org: DevOrg, tmp_path: Path
) -> None:
    grouped = make_workspace("duckdb", tmp_path / "grouped", org)
    separate = make_workspace("duckdb", tmp_path / "separate", org)
    grouped.sync()
    separate.sync(extra_env={"LHT_COMPOSITE": "0"})
    # a small delta (REST), a large one (Bulk, past LHT_REST_MAX_ROWS), soft and hard deletes
    for i in range(3):
        org.engine.create("Lead", {"LastName": f"Composite {i}", "Company": "Grouped Inc"})
    for (case_id,) in (
        org.engine.cursor()
        .execute(f'select "Id" from {org.engine.table("Case")} where not "IsDeleted" limit 40')
        .fetchall()
    ):
        org.engine.update("Case", case_id, {"Subject": "changed for the composite test"})
    contacts = [
        r[0]
        for r in org.engine.cursor()
        .execute(f'select "Id" from {org.engine.table("Contact")} where not "IsDeleted" limit 2')
        .fetchall()
    ]
    org.engine.delete("Contact", contacts[0])
    org.engine.purge("Contact", [contacts[1]])
    org.clock.advance(61)  # getDeleted covers whole minutes: both runs see the deletes
    env = {"LHT_REST_MAX_ROWS": "25"}
    a = grouped.sync(extra_env=env).report
    b = separate.sync(extra_env={**env, "LHT_COMPOSITE": "0"}).report
    engines = {r["object_name"]: r["engine"] for r in a["results"]}
    assert engines["Case"] == "bulk" and engines["Lead"] == "rest", engines
    assert {r["object_name"]: r["engine"] for r in b["results"]} == engines
    assert {r["object_name"]: (r["rows_written"], r["delete_markers"]) for r in a["results"]} == {
        r["object_name"]: (r["rows_written"], r["delete_markers"]) for r in b["results"]
    }
    assert a["api_calls"] < b["api_calls"]
    for table in ("lead", "case", "contact", "account"):
        assert _staged(grouped, table) == _staged(separate, table), table


def test_a_failing_subrequest_fails_only_its_object(org: DevOrg, tmp_path: Path) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    ws.sync()
    config_path = ws.project / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text())
    config.setdefault("vars", {})["lht_objects"] = {"Lead": {"where": "No_Such_Field__c = 'x'"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    seen = len(org.faults.requests())
    run = ws.sync(check=False)
    assert run.returncode == 1
    status = {r["object_name"]: r["status"] for r in run.report["results"]}
    assert status.pop("Lead") == "failed"
    assert set(status.values()) == {"ok"}
    lead = next(r for r in run.report["results"] if r["object_name"] == "Lead")
    assert "No_Such_Field__c" in lead["error"]
    assert _composite_posts(org, seen) == 2, "the neighbours were still checked together"


def test_an_org_that_refuses_composite_falls_back_to_separate_calls_and_says_so_once(
    org: DevOrg, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    ws.sync()
    org.faults.add("refuse", path="/composite", method="POST", times=10, status=404)
    run = ws.sync()
    assert run.report["ok"] is True
    assert org.faults.fired("refuse") == 1, "the refused resource was asked again in the same run"
    assert run.report["api_calls"] == 1 + 1 + 2 * len(
        STARTERS
    )  # describeGlobal, the refusal, separate checks
    assert " ".join(run.stderr.split()).count("refused the Composite resource") == 1
