"""The README's "Merge duplicates" example, as written: its model and its commands, in
order, against the demo's seeded duplicate Accounts."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from e2e.conftest import make_workspace

from lht_devorg import DevOrg
from lht_devorg.core.seed import duplicate_account_ids

from .conftest import DEDUP_SQL, add_merge_model, readme_block


def test_the_readme_merge_example_merges_the_seeded_duplicates(
    merge_org: DevOrg, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, merge_org)
    add_merge_model(ws, "dedup_accounts", DEDUP_SQL)
    assert ws.sync().report["ok"] is True  # the README's earlier sections load the org first
    env = {**ws.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    commands = [line.strip() for line in readme_block("sh").splitlines() if line.strip()]
    assert any(c.startswith("lht merge") for c in commands)
    for command in commands:
        assert shlex.split(command)[0] in {"lht", "dbt"}, command
        run = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, f"{command}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    accounts = {r["id"]: r for r in ws.main_rows("account")}
    groups = {}
    for master, duplicate in duplicate_account_ids():
        groups.setdefault(master, {master}).add(duplicate)
    for members in groups.values():
        live = [i for i in members if not accounts[i]["_lht_is_deleted"]]
        assert len(live) == 1, f"the duplicates {sorted(members)} were not merged into one"
        assert all(accounts[i]["masterrecordid"] == live[0] for i in members - set(live))
    assert len(ws.main_rows("lht_merge_results")) == sum(len(m) - 1 for m in groups.values())
