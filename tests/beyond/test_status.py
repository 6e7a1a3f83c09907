"""`lht status`: per object the last sync, watermark, main-table rows, unmerged staged rows,
last run's API calls and freshness, as a table or JSON, from the warehouse alone."""

from __future__ import annotations

import json

import yaml
from e2e.conftest import Workspace


def _status(ws: Workspace, *args: str) -> str:
    return (
        ws.run(
            "lht",
            "status",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.profiles),
            *args,
        )
        .check()
        .stdout
    )


def test_status_reports_each_objects_sync_merge_and_freshness(workspace_any: Workspace) -> None:
    ws = workspace_any
    ws.sync("Account")
    ws.build("--select", "account")
    record_id = ws.org.engine.create("Account", {"Name": "Status probe"})
    last = ws.sync("Account").report["results"][0]
    assert last["rows_written"] > 0

    report = json.loads(_status(ws, "--json"))
    by_name = {o["object_name"]: o for o in report["objects"]}
    account = by_name["Account"]
    _, main = ws.query("select count(*) from salesforce.account")
    assert (
        account["main_rows"]
        == main[0][0]
        == ws.org.engine.count("Account", include_deleted=True) - 1
    )  # probe not merged
    assert account["unmerged_rows"] == last["rows_written"]
    assert account["last_run_api_calls"] == last["api_calls"]
    assert (
        account["watermark"] == last["watermark"] and account["watermark_field"] == "SystemModstamp"
    )
    assert account["freshness"] == "pass" and account["last_success_at"] is not None
    assert (
        by_name["Contact"]["freshness"] == "never synced"
        and by_name["Contact"]["main_rows"] is None
    )

    ws.build("--select", "account")
    assert json.loads(_status(ws, "Account", "--json"))["objects"][0]["unmerged_rows"] == 0
    assert record_id in {r["id"] for r in ws.main_rows("account")}

    table = _status(ws)
    assert "Account" in table and "never synced" in table and "not built" in table

    config_path = ws.project / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text())
    config["vars"]["lht_freshness_warn_hours"] = 0
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert json.loads(_status(ws, "Account", "--json"))["objects"][0]["freshness"] == "warn"
