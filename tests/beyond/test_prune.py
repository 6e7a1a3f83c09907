"""`lht prune`: merged staged rows older than the cutoff go, unmerged batches and every Id's
newest rows stay, so dbt and a later full refresh still give main tables equal to the org."""

from __future__ import annotations

import json

from e2e.conftest import Workspace, assert_main_table_matches_org


def _staged(ws: Workspace) -> list[tuple]:
    _, rows = ws.query(
        "select Id, _lht_batch_id, _lht_kind, SystemModstamp from salesforce_staging.account"
    )
    return rows


def _merged_through(ws: Workspace) -> str:
    _, rows = ws.query("select max(_lht_batch_id) from salesforce.account")
    return rows[0][0]


def _prune(ws: Workspace, *args: str) -> list[dict]:
    run = ws.run(
        "lht",
        "prune",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        *args,
    )
    return json.loads(run.check().stdout)["results"]


def test_prune_deletes_only_merged_superseded_rows_and_models_stay_equal_to_the_org(
    workspace_any: Workspace,
) -> None:
    ws = workspace_any
    engine = ws.org.engine
    ids = [engine.create("Account", {"Name": f"Prune {i}"}) for i in range(5)]
    ws.sync("Account")
    for i, record_id in enumerate(ids):
        engine.update("Account", record_id, {"Name": f"Prune {i} v2"})
    ws.sync("Account")
    ws.build("--select", "account")
    merged_through = _merged_through(ws)
    engine.update("Account", ids[0], {"Name": "Prune 0 v3 (not merged yet)"})
    ws.sync("Account")
    before = _staged(ws)
    unmerged = sorted(r for r in before if r[1] > merged_through)
    assert unmerged, "the last sync should have left an unmerged batch"

    dry = _prune(ws, "Account", "--older-than", "0s", "--dry-run")
    assert sorted(_staged(ws)) == sorted(before), "--dry-run deleted something"
    result = _prune(ws, "Account", "--older-than", "0s")
    assert result == dry and result[0]["outcome"] == "pruned" and result[0]["rows_deleted"] > 0

    after = _staged(ws)
    assert len(after) == len(before) - result[0]["rows_deleted"]
    assert sorted(r for r in after if r[1] > merged_through) == unmerged, (
        "an unmerged batch was touched"
    )
    newest = {}
    for record_id, batch, kind, stamp in before:
        if kind == "record" and (record_id not in newest or (stamp, batch) > newest[record_id]):
            newest[record_id] = (stamp, batch)
    kept = {(r[0], (r[3], r[1])) for r in after if r[2] == "record"}
    assert set(newest.items()) <= kept, "an Id lost its newest staged version"
    assert _prune(ws, "Account", "--older-than", "0s")[0]["rows_deleted"] == 0

    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")
    report = ws.sync("Account", "--full-refresh").report
    assert report["results"][0]["delete_markers"] == 0, (
        "a full refresh after prune invented deletions"
    )
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")


def test_prune_keeps_rows_younger_than_the_cutoff_and_objects_never_merged(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.sync("Account")
    ws.sync("Account")
    ws.build("--select", "account")
    ws.sync("Contact")
    before = len(_staged(ws))
    assert all(r["rows_deleted"] == 0 for r in _prune(ws, "--older-than", "30d", "--dry-run"))
    results = {r["object_name"]: r for r in _prune(ws, "--older-than", "30d")}
    assert results["Account"]["rows_deleted"] == 0 and len(_staged(ws)) == before
    assert results["Contact"]["outcome"] == "skipped: main table not built"


def test_prune_refuses_objects_with_a_history_model(workspace: Workspace) -> None:
    ws = workspace
    ws.run("lht", "add", "Account", "--history", "--project-dir", str(ws.project)).check()
    ws.sync("Account")
    ws.sync("Account")
    ws.build("--select", "account", "account_history")
    before = len(_staged(ws))
    refused = ws.run(
        "lht",
        "prune",
        "Account",
        "--older-than",
        "0s",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
    )
    assert refused.returncode == 2 and "history model" in refused.stderr
    skipped = {r["object_name"]: r["outcome"] for r in _prune(ws, "--older-than", "0s")}
    assert skipped["Account"] == "skipped: history enabled"
    assert len(_staged(ws)) == before
