"""`lht merge` end to end: the README's dedup model merges the seeded duplicate Accounts,
the children move to the masters, and the next `lht sync` + `dbt build` shows it all; a
dry run sends nothing, a rerun sends nothing. On DuckDB and on the Snowflake dialect."""

from __future__ import annotations

import pytest
from e2e.conftest import Workspace, make_workspace

from lht_devorg import DevOrg
from lht_devorg.core.seed import duplicate_account_ids

from .conftest import (
    DEDUP_SQL,
    add_merge_model,
    merge,
    model_report,
    org_row,
    report_of,
    soap_posts,
)


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def ws(request: pytest.FixtureRequest, merge_org: DevOrg, tmp_path) -> Workspace:
    fakesnow = request.getfixturevalue("fakesnow_server") if request.param == "snowflake" else None
    workspace = make_workspace(request.param, tmp_path, merge_org, fakesnow)
    add_merge_model(workspace, "dedup_accounts", DEDUP_SQL)
    return workspace


def _expected_pairs(org: DevOrg) -> dict[str, str]:
    """loser -> master of the seeded duplicates, the oldest record surviving."""
    out = {}
    groups: dict[str, list[str]] = {}
    for master, duplicate in duplicate_account_ids():
        groups.setdefault(master, [master]).append(duplicate)
    for members in groups.values():
        dated = sorted(
            members, key=lambda i: (org_row(org, "Account", i, "CreatedDate")["CreatedDate"], i)
        )
        out.update({loser: dated[0] for loser in dated[1:]})
    return out


def test_the_seeded_duplicates_merge_and_their_children_follow_through_sync_and_build(
    ws: Workspace,
) -> None:
    org = ws.org
    pairs = _expected_pairs(org)
    a_loser = next(iter(pairs))
    children = {
        "Contact": org.engine.create("Contact", {"LastName": "Child", "AccountId": a_loser}),
        "Opportunity": org.engine.create(
            "Opportunity",
            {
                "Name": "Child deal",
                "AccountId": a_loser,
                "StageName": "Prospecting",
                "CloseDate": "2026-01-31",
            },
        ),
        "Case": org.engine.create("Case", {"Subject": "Child case", "AccountId": a_loser}),
        "Task": org.engine.create("Task", {"Subject": "Call", "WhatId": a_loser}),
    }
    lookup = {
        "Contact": "AccountId",
        "Opportunity": "AccountId",
        "Case": "AccountId",
        "Task": "WhatId",
    }
    assert ws.sync().report["ok"] is True
    ws.build()

    dry = merge(ws, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = model_report(dry, "dedup_accounts")
    assert planned["to_merge"] == len(pairs)
    assert {p["loser_id"]: p["master_id"] for p in planned["pairs"]} == pairs, (
        "dry run: the pairs it would send"
    )
    assert soap_posts(org) == 0
    assert not any(org_row(org, "Account", loser, "IsDeleted")["IsDeleted"] for loser in pairs)

    run = merge(ws)
    assert run.returncode == 0, run.stdout + run.stderr
    result = model_report(run, "dedup_accounts")
    assert (result["status"], result["merged"], result["failed"]) == ("ok", len(pairs), 0)
    assert result["requests"] == len(set(pairs.values()))  # two losers of one master go together
    for loser, master in pairs.items():
        assert org_row(org, "Account", loser, "IsDeleted", "MasterRecordId") == {
            "IsDeleted": True,
            "MasterRecordId": master,
        }

    assert ws.sync().report["ok"] is True
    ws.build()
    accounts = {r["id"]: r for r in ws.main_rows("account")}
    for loser, master in pairs.items():
        assert accounts[loser]["_lht_is_deleted"] is True
        assert accounts[loser]["masterrecordid"] == master
        assert accounts[master]["_lht_is_deleted"] is False
    master = pairs[a_loser]
    for obj, record_id in children.items():
        row = next(r for r in ws.main_rows(obj.lower()) if r["id"] == record_id)
        assert row[lookup[obj].lower()] == master, f"{obj}.{lookup[obj]} did not move to the master"
    results = {r["loser_id"]: r for r in ws.main_rows("lht_merge_results")}
    assert set(results) == set(pairs)
    assert all(
        r["success"] is True
        and r["outcome"] == "merged"
        and r["attempts"] == 1
        and r["master_id"] == pairs[loser]
        for loser, r in results.items()
    )
    assert results[a_loser]["related_moved"] >= len(children)


def test_a_rerun_after_success_sends_nothing_and_records_nothing_new(ws: Workspace) -> None:
    assert ws.sync("Account").report["ok"] is True
    ws.build("--select", "account", "dedup_accounts")
    first = merge(ws)
    assert first.returncode == 0, first.stdout + first.stderr
    posts = soap_posts(ws.org)
    staged = ws.query("select count(*) from salesforce_staging._lht_merge_results")[1][0][0]

    again = merge(ws)
    assert again.returncode == 0, again.stdout + again.stderr
    result = model_report(again, "dedup_accounts")
    assert (result["sent"], result["already_merged"]) == (0, len(_expected_pairs(ws.org)))
    assert soap_posts(ws.org) == posts
    assert ws.query("select count(*) from salesforce_staging._lht_merge_results")[1][0][0] == staged
    assert report_of(again)["exit_code"] == 0
