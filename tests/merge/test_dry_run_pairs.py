"""`lht merge --dry-run` before an irreversible merge shows the master/loser pairs it would
send, for people and as JSON; `lht merge --json` reports merge's own fields and one call
count. Run from the workspace root as the README writes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from e2e.conftest import make_workspace

from lht_devorg import DevOrg

from .conftest import DEDUP_SQL, add_merge_model, org_row, soap_posts

BIN = Path(sys.executable).parent
PROJECT = "--project-dir dbt_project --profiles-dir dbt_project"
#: Fields of push's report that mean nothing for a merge.
PUSH_ONLY = {"created", "updated", "deleted", "unchanged", "engine", "operation", "would", "calls"}


def test_dry_run_lists_the_pairs_it_would_send_and_the_report_has_merge_fields_only(
    merge_org: DevOrg, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, merge_org)
    add_merge_model(ws, "dedup_accounts", DEDUP_SQL)
    env = {**ws.env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def typed(command: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            command, shell=True, cwd=ws.root, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc

    assert ws.sync("Account").report["ok"] is True
    ws.build("--select", "account", "dedup_accounts")
    _, rows = ws.query("select MasterId, LoserId from dedup_accounts")
    assert rows

    text = " ".join(typed(f"lht merge --dry-run {PROJECT}").stdout.split())
    for master, loser in rows:
        assert f"{master} <-" in text and loser in text, f"{master} <- {loser} not shown"
    planned = json.loads(typed(f"lht merge --dry-run --json {PROJECT}").stdout)["results"][0]
    assert {(p["master_id"], p["loser_id"]) for p in planned["pairs"]} == set(rows)
    assert planned["to_merge"] == len(rows) and not PUSH_ONLY & set(planned)
    assert soap_posts(merge_org) == 0 and not any(
        org_row(merge_org, "Account", loser, "IsDeleted")["IsDeleted"] for _, loser in rows
    )

    calls_before = merge_org.api_calls
    done = json.loads(typed(f"lht merge --json {PROJECT}").stdout)["results"][0]
    assert not PUSH_ONLY & set(done) and "pairs" not in done
    assert [k for k in done if "calls" in k] == ["api_calls"], "one call count"
    assert done["api_calls"] == merge_org.api_calls - calls_before  # every call, reads and merges
    assert (done["merged"], done["failed"]) == (len(rows), 0)
