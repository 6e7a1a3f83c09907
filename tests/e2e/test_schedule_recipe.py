"""The README's scheduling recipe, run as cron runs it, with one object failing: every
other object's main table is still built, and the job exits non-zero."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, make_workspace

README_PATH = REPO / "README.md"


def _cron_command() -> str:
    for line in README_PATH.read_text(encoding="utf-8").splitlines():
        cron = re.match(r"^[\d*/,-]+( [\d*/,-]+){4} cd \S+ && (.*)$", line.strip())
        if cron:
            return cron.group(2)
    raise AssertionError("the README shows no cron recipe")


def test_one_failing_object_never_keeps_the_other_main_tables_from_being_built(
    org, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    org.faults.add("unavailable", path="/sobjects/Contact/describe", times=1000)
    env = {k: v for k, v in ws.env.items() if k != "LHT_DUCKDB_PATH"}
    env.update(
        LHT_MAX_RETRIES="0", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    run = subprocess.run(
        ["bash", "-c", _cron_command()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Contact" in run.stdout + run.stderr
    for table in ("account", "opportunity", "lead", "case", "user", "task"):
        _, rows = ws.query(f"select count(*) from salesforce.{table}")
        assert rows[0][0] > 0, f"{table} was not built although only Contact failed"
