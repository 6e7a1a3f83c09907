"""`lht add --push MODEL` as the user types it: the change-set view and its YAML beside the
model, nothing rewritten, and a missing model or a clashing file refused (exit 2)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from lht.push.changeset import COLUMN_DESCRIPTIONS

REPO = Path(__file__).resolve().parents[2]
LHT = Path(sys.executable).with_name("lht")


def _lht(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LHT), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_add_push_writes_the_view_and_its_yaml_beside_the_model_once(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "dbt_project",
        tmp_path / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    folder = tmp_path / "dbt_project" / "models" / "marts" / "pushes"
    folder.mkdir(parents=True)
    (folder / "account_tiers.sql").write_text("select 1 as Id\n")
    run = _lht("add", "--push", "account_tiers", "--project-dir", "dbt_project", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "wrote dbt_project/models/marts/pushes/account_tiers__lht_changes.sql",
        "wrote dbt_project/models/marts/pushes/account_tiers__lht_changes.yml",
    ]
    assert (
        folder / "account_tiers__lht_changes.sql"
    ).read_text() == "{{ lht.lht_push_changes('account_tiers') }}\n"
    entry = yaml.safe_load((folder / "account_tiers__lht_changes.yml").read_text())["models"][0]
    assert entry["name"] == "account_tiers__lht_changes"
    assert [c["name"] for c in entry["columns"]] == list(COLUMN_DESCRIPTIONS)
    assert all(c["description"] for c in entry["columns"])

    again = _lht("add", "--push", "account_tiers", "--project-dir", "dbt_project", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to write" in again.stdout

    (folder / "account_tiers__lht_changes.sql").write_text("select 2\n")
    clash = _lht("add", "--push", "account_tiers", "--project-dir", "dbt_project", cwd=tmp_path)
    assert clash.returncode == 2 and "already exists with other content" in clash.stderr
    assert (folder / "account_tiers__lht_changes.sql").read_text() == "select 2\n", (
        "nothing overwritten"
    )

    missing = _lht("add", "--push", "no_such_model", "--project-dir", "dbt_project", cwd=tmp_path)
    assert missing.returncode == 2 and "No model file no_such_model.sql" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = _lht("add", "--push", "x'; drop", "--project-dir", "dbt_project", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
