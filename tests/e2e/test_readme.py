"""Every command the README shows is run here, against the local org, as written.

A command this test does not know how to run fails it: new README commands need coverage.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, Workspace, make_workspace

README = REPO / "README.md"
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)
PY_COMMAND = re.compile(r"""(?:bash_command=|subprocess\.run\()\s*"([^"]+)\"""")


def readme_commands() -> list[str]:
    """Shell commands of the README's bash blocks, plus those its Python snippets run."""
    commands: list[str] = []
    for lang, body in BLOCK.findall(README.read_text(encoding="utf-8")):
        if lang == "python":
            commands += PY_COMMAND.findall(body)
            continue
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def _shell(ws: Workspace, command: str, cwd: Path) -> subprocess.CompletedProcess:
    # no LHT_DUCKDB_PATH: lht and dbt must agree on the profile's default file (./lht.duckdb)
    env = {k: v for k, v in ws.env.items() if k != "LHT_DUCKDB_PATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_readme_shows_the_two_commands_first() -> None:
    commands = readme_commands()
    assert commands[:2] == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_every_readme_command_runs_against_the_local_org(org, tmp_path: Path) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    assert ws.duckdb_path == tmp_path / "lht.duckdb"  # the profile's default file, where ws.query looks
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    ran = []
    commands = readme_commands()
    # registering objects first, so the sync and build commands that follow also build them
    for command in sorted(commands, key=lambda c: not c.startswith("lht add")):
        if command in {"make demo", "make test"}:
            continue  # test_make_demo_* and CI itself
        if command == "pip install -e .":
            assert re.search(r"pip install .*-e", (REPO / "Makefile").read_text()), "make installs lht with pip install -e"
            continue
        cron = re.match(r"^[\d*/,-]+( [\d*/,-]+){4} cd \S+ && (.*)$", command)
        command = cron.group(2) if cron else command
        words = shlex.split(command)
        assert Path(words[0]).name in {"lht", "dbt"}, f"README command not covered by this test: {command}"
        result = _shell(ws, command, tmp_path)
        assert result.returncode == 0, f"README command failed: {command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr
        ran.append(command)
    assert any("lht sync" in c for c in ran) and any("dbt build" in c for c in ran)
    names, rows = ws.query("select count(*) from salesforce.invoice__c where not _lht_is_deleted")
    assert rows[0][0] == org.engine.count("Invoice__c"), "the README's `lht add` + sync + build built the new main table"


@pytest.mark.slow
def test_make_demo_runs_twice_and_the_second_run_is_incremental(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(REPO / "dbt_project", tmp_path / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "LHT_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    runs = [subprocess.run([sys.executable, "-m", "lht.commands.demo"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "this run was full" in runs[0].stdout
    assert "this run was incremental" in runs[1].stdout
    assert str(tmp_path / "lht.duckdb") in runs[1].stdout
    assert "dbt show" in runs[1].stdout
