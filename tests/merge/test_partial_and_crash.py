"""A merge Salesforce refuses in part, and a merge killed with SIGKILL mid-run.

Refused requests are recorded, the others go on, the run exits 1 and the next run sends
the refused ones again (and only them). A loser already merged (outside lht, or by a run
whose answer was lost) is skipped, reported and recorded once. After a kill -9 between
two calls, the rerun sends only what Salesforce had not merged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from e2e.conftest import BIN, make_workspace

from lht_devorg import DevOrg
from lht_devorg.core.seed import duplicate_account_ids

from .conftest import (
    DEDUP_SQL,
    add_merge_model,
    literal_model,
    merge,
    model_report,
    org_row,
    soap_posts,
)


def test_a_partly_refused_merge_records_the_failures_goes_on_and_retries_them_next_run(
    merge_org: DevOrg, tmp_path
) -> None:
    org = merge_org
    ws = make_workspace("duckdb", tmp_path, org)
    add_merge_model(ws, "dedup_accounts", DEDUP_SQL)
    assert ws.sync("Account").report["ok"] is True
    ws.build("--select", "account", "dedup_accounts", "lht_merge_results")
    (m40, d41), (m50, d51), (_, d52), (m60, d61) = duplicate_account_ids()
    _, rows = ws.query("select MasterId, LoserId from dedup_accounts")
    pairs = dict((loser, master) for master, loser in rows)
    assert set(pairs) | set(pairs.values()) == {m40, d41, m50, d51, d52, m60, d61}
    # one pair's master goes to the recycle bin, another is refused by Salesforce (MERGE_FAILED),
    # and one loser is merged outside lht before the run
    deleted_loser = d41 if d41 in pairs else m40
    deleted_master = pairs[deleted_loser]
    org.engine.delete("Account", deleted_master)
    refused = d61 if d61 in pairs else m60
    fault = org.faults.add(
        "merge_failed", path=refused[:15], message="Two accounts share a related contact"
    )
    outside = next(loser for loser in (d51, d52, m50) if loser in pairs)
    org.engine.merge("Account", pairs[outside], [outside])

    run = merge(ws)
    assert run.returncode == 1, run.stdout + run.stderr
    result = model_report(run, "dedup_accounts")
    assert (result["status"], result["already_merged"], result["failed"]) == ("failed", 1, 2)
    assert result["merged"] == len(pairs) - 3
    assert fault.fired == 1
    assert any("ENTITY_IS_DELETED" in e for e in result["errors"])
    assert any("MERGE_FAILED" in e for e in result["errors"])
    ws.build("--select", "lht_merge_results")
    results = {r["loser_id"]: r for r in ws.main_rows("lht_merge_results")}
    assert set(results) == set(pairs)
    assert (results[deleted_loser]["success"], results[deleted_loser]["error_code"]) == (
        False,
        "ENTITY_IS_DELETED",
    )
    assert (results[refused]["error_code"], results[refused]["outcome"]) == (
        "MERGE_FAILED",
        "failed",
    )
    assert results[outside]["outcome"] == "already_merged" and results[outside]["success"] is True
    assert not org_row(org, "Account", deleted_loser, "IsDeleted")["IsDeleted"]

    # the causes go away; the next run sends the two refused requests, and nothing else
    org.engine.undelete("Account", deleted_master)
    posts = soap_posts(org)
    again = merge(ws)
    assert again.returncode == 0, again.stdout + again.stderr
    result = model_report(again, "dedup_accounts")
    assert (result["sent"], result["merged"]) == (2, 2)
    assert soap_posts(org) == posts + 1
    ws.build("--select", "lht_merge_results")
    results = {r["loser_id"]: r for r in ws.main_rows("lht_merge_results")}
    assert all(r["success"] for r in results.values())
    assert results[deleted_loser]["attempts"] == 2 and results[deleted_loser]["outcome"] == "merged"
    assert results[outside]["attempts"] == 0


PAIRS = 250
PAIRS_SQL = f"""
{{{{ config(materialized='table', meta={{'lht_merge': {{'object': 'Account'}}}}) }}}}

with

accounts as (

    select Id, row_number() over (order by Id) as n
    from {{{{ ref('account') }}}}
    where not _lht_is_deleted

),

final as (

    select m.Id as MasterId, l.Id as LoserId
    from accounts as m
    inner join accounts as l on l.n = m.n + 1
    where m.n % 2 = 1 and m.n < {2 * PAIRS}

)

select * from final
"""


def test_a_merge_killed_between_two_calls_resends_only_what_salesforce_had_not_merged(
    tmp_path,
) -> None:
    counts = {
        "User": 5,
        "Account": 700,
        "Contact": 50,
        "Lead": 0,
        "Opportunity": 50,
        "Case": 0,
        "Task": 50,
        "Invoice__c": 0,
        "Attachment": 0,
    }
    with DevOrg(counts=counts, bulk_job_seconds=0.1) as org:
        ws = make_workspace("duckdb", tmp_path, org)
        add_merge_model(ws, "pairs", PAIRS_SQL)
        assert ws.sync("Account").report["ok"] is True
        ws.build("--select", "account", "pairs")
        _, rows = ws.query("select MasterId, LoserId from pairs")
        assert len(rows) == PAIRS
        # the first merge() call goes through; the second is held until the process is killed
        org.faults.add("stall", path="/services/Soap/u/", method="POST", times=1, seconds=0.0)
        hold = org.faults.add(
            "stall", path="/services/Soap/u/", method="POST", times=1, seconds=60.0
        )
        argv = [
            str(BIN / "lht"),
            "merge",
            "--json",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.profiles),
        ]
        proc = subprocess.Popen(
            argv, env=ws.env, cwd=ws.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while hold.fired < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hold.fired == 1, (
            f"the second call was never reached: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        org.faults.clear()
        merged = [
            loser for _, loser in rows if org_row(org, "Account", loser, "IsDeleted")["IsDeleted"]
        ]
        assert len(merged) == 2 * 200 // 2  # the first call: 200 requests of one loser each

        posts = soap_posts(org)
        rerun = merge(ws)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        result = model_report(rerun, "pairs")
        assert (result["already_merged"], result["sent"], result["merged"]) == (
            200,
            PAIRS - 200,
            PAIRS - 200,
        )
        assert soap_posts(org) == posts + 1
        for master, loser in rows:
            assert org_row(org, "Account", loser, "IsDeleted", "MasterRecordId") == {
                "IsDeleted": True,
                "MasterRecordId": master,
            }
        ws.build("--select", "lht_merge_results")
        results = ws.main_rows("lht_merge_results")
        assert len(results) == PAIRS and all(r["success"] for r in results)
        assert all(r["attempts"] == 1 for r in results), "a loser was sent twice"


def test_a_session_rejected_by_merge_is_renewed_once_with_the_password_flow(
    merge_org: DevOrg, tmp_path
) -> None:
    ws = make_workspace("duckdb", tmp_path, merge_org, flow="password")
    pairs = [(master, loser) for master, loser in duplicate_account_ids()]
    add_merge_model(ws, "seeded", literal_model("Account", pairs))
    ws.build("--select", "seeded")
    env = {"LHT_MAX_RETRIES": "1", "LHT_RETRY_BACKOFF": "0.01"}
    # every attempt the transport makes with the first session is refused; after the renewal
    # the call goes through
    rejected = merge_org.faults.add(
        "expired_session", path="/services/Soap/u/", method="POST", times=2
    )
    run = merge(ws, extra_env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert rejected.fired == 2
    assert model_report(run, "seeded")["merged"] == len(pairs)
    assert all(
        org_row(merge_org, "Account", loser, "MasterRecordId")["MasterRecordId"] == master
        for master, loser in pairs
    )
