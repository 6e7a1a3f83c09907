"""Commands run as the user types them: through a shell, from the directory they are in.

No ``LHT_DUCKDB_PATH``: lht and dbt find the profile's ``lht.duckdb`` relative to where
they run, as a user's do.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from forkrun import run_dbt

from .conftest import Workspace

BIN = Path(sys.executable).parent
#: The README's way of pointing lht and dbt at the project, from the repository root.
PROJECT = "--project-dir dbt_project --profiles-dir dbt_project"


def typed(
    ws: Workspace, command: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``command`` through a shell, from ``cwd`` (default: the workspace root), with the
    workspace's environment (or ``env``) and lht's bin directory first on PATH."""
    base = env if env is not None else {k: v for k, v in ws.env.items() if k != "LHT_DUCKDB_PATH"}
    base = {**base, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    words = shlex.split(command)
    if words[0] == "dbt":  # forked from a process that has imported dbt (see forkrun)
        return run_dbt([str(BIN / "dbt"), *words[1:]], env=base, cwd=cwd or ws.root, timeout=600)
    return subprocess.run(
        command,
        shell=True,
        cwd=cwd or ws.root,
        env=base,
        capture_output=True,
        text=True,
        timeout=600,
    )


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    assert "Traceback" not in proc.stderr
    return proc


def refused(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    """stderr of a command that failed cleanly with ``code``."""
    assert proc.returncode == code, (
        f"exit {proc.returncode}, not {code}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert "Traceback" not in proc.stderr
    return " ".join(proc.stderr.split())


def project_files(ws: Workspace) -> dict[str, bytes]:
    """Every file of the dbt project, by relative path (to compare before and after)."""
    return {
        str(p.relative_to(ws.project)): p.read_bytes()
        for p in sorted(ws.project.rglob("*"))
        if p.is_file()
    }
