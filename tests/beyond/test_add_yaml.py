"""`lht add` on the shipped YAML files: the new entries go where they belong (at the end of
their list, above the comment that introduces what follows), every comment and line of the
file stays as it was. Run as written, offline, from the repository's layout."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODELS = Path("dbt_project/models/salesforce")


def _added_lines(before: str, after: str) -> tuple[int, list[str]]:
    """Where the one block of added lines starts (0-based line of ``before``), and the block;
    fails unless the change is exactly one insertion."""
    ops = [
        op
        for op in difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines()).get_opcodes()
        if op[0] != "equal"
    ]
    assert len(ops) == 1 and ops[0][0] == "insert", ops
    _, at, _, first, last = ops[0]
    return at, after.splitlines()[first:last]


def test_add_appends_entries_above_the_comment_that_introduces_unit_tests(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "dbt_project",
        tmp_path / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"),
    )
    models, sources = (
        tmp_path / MODELS / "_salesforce__models.yml",
        tmp_path / MODELS / "_salesforce__sources.yml",
    )
    before = {p: p.read_text() for p in (models, sources)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    run = subprocess.run(
        [
            str(BIN / "lht"),
            "add",
            "Invoice__c",
            "--history",
            "--offline",
            "--project-dir",
            "dbt_project",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr

    at, block = _added_lines(before[models], models.read_text())
    lines = before[models].splitlines()
    intro = next(i for i, line in enumerate(lines) if line.startswith("# The merge rules"))
    assert at <= intro - 1 and lines[at - 1].strip() and not lines[at].strip(), (
        "the new entries follow the last model and precede the blank line and comment above unit_tests:"
    )
    assert block[0] == "  - name: invoice__c" and "  - name: invoice__c_history" in block
    assert all(not line.lstrip().startswith("#") for line in block)

    at, block = _added_lines(before[sources], sources.read_text())
    assert at == len(before[sources].splitlines()) and block[0] == "      - name: invoice__c"
    assert any("lht_accepted_values" in line for line in block), (
        "shaped like the entries already there"
    )
