"""What `make demo` installs and leaves behind: lht without the dev extras (`make test`
adds them), a license setuptools reads without a deprecation warning, and no file of lht's
beside the DuckDB warehouse for git to see."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def _dry_make(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run on a fresh checkout (a venv of its own, none made)."""
    run = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_make_demo_installs_what_it_runs_and_make_test_adds_the_dev_extras(tmp_path: Path) -> None:
    demo = _dry_make("demo", tmp_path)
    assert "pip install --quiet -e ./devorg\n" in demo, "the local org, its own distribution"
    assert (
        'pip install --quiet -e ".[devorg]"\n' in demo
        and "dev," not in demo
        and "[dev]" not in demo
    )
    assert "lht.commands.demo" in demo
    test = _dry_make("test", tmp_path)
    assert 'pip install --quiet -e ".[dev,devorg]"' in test and "pytest" in test
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    assert any(e.startswith(("pytest", "fakesnow", "sqlfluff")) for e in extras)


def test_the_license_is_an_spdx_string_that_the_build_backend_supports() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in pyproject["build-system"]["requires"], (
        "SPDX license strings need setuptools 77"
    )


def test_git_ignores_the_files_lht_keeps_beside_a_duckdb_warehouse() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in (
        "lht.duckdb",
        "lht.duckdb.wal",
        "lht.duckdb.lht.warehouse.lock",
        "lht.duckdb.lht.warehouse.lock.json",
        "lht.duckdb.lht.status.json",
    ):
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), f"{name} is not ignored"
