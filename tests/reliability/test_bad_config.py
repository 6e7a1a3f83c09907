"""Malformed configuration: each is refused (exit 2) in one paragraph naming the file and the
key, with no traceback, through the ``lht`` console script typed as the README writes it
(from the directory holding ``dbt_project/``, relative paths)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from e2e.conftest import BIN, Run, Workspace

from .conftest import FAST, assert_clean_failure, staging_tables


@pytest.fixture
def engine_name() -> str:
    """Refused before the warehouse is written: DuckDB only."""
    return "duckdb"


def lht(ws: Workspace, *command: str, extra_env: dict[str, str] | None = None) -> Run:
    """``lht COMMAND --project-dir dbt_project --profiles-dir dbt_project`` from the workspace's root."""
    argv = [
        str(BIN / "lht"),
        *(command or ("sync",)),
        "--project-dir",
        "dbt_project",
        "--profiles-dir",
        "dbt_project",
    ]
    assert ws.project == ws.root / "dbt_project" == ws.profiles
    proc = subprocess.run(
        argv,
        env={**ws.env, **FAST, **(extra_env or {})},
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


def edit_vars(ws: Workspace, change: Callable[[dict], None]) -> None:
    path = ws.project / "dbt_project.yml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config))


def top_level_list(ws: Workspace) -> None:
    (ws.project / "dbt_project.yml").write_text("- name: lht\n- profile: lht\n")


def vars_five(ws: Workspace) -> None:
    edit_vars(ws, lambda config: config.update(vars=5))


def not_utf8(name: str) -> Callable[[Workspace], None]:
    def write(ws: Workspace) -> None:
        path = ws.project / name
        path.write_bytes(path.read_bytes() + "# caf\u00e9 in Latin-1\n".encode("latin-1"))

    return write


def outputs_five(ws: Workspace) -> None:
    (ws.profiles / "profiles.yml").write_text("lht:\n  target: local\n  outputs: 5\n")


def options_as_text(ws: Workspace) -> None:
    edit_vars(ws, lambda config: config["vars"].update(lht_objects={"Account": "where x"}))


def where_as_list(ws: Workspace) -> None:
    edit_vars(ws, lambda config: config["vars"].update(lht_objects={"Account": {"where": [1, 2]}}))


#: case -> (how to break the workspace, the file named, the key named)
CASES: dict[str, tuple[Callable[[Workspace], None], str, str]] = {
    "dbt_project.yml whose top level is a list": (
        top_level_list,
        "dbt_project.yml",
        "top level is a list",
    ),
    "vars: 5": (vars_five, "dbt_project.yml", "`vars` must be a mapping"),
    "dbt_project.yml not UTF-8": (not_utf8("dbt_project.yml"), "dbt_project.yml", "not UTF-8"),
    "profiles.yml not UTF-8": (not_utf8("profiles.yml"), "profiles.yml", "not UTF-8"),
    "outputs: 5": (outputs_five, "profiles.yml", "`lht.outputs` must be a mapping"),
    'Account: "where x"': (
        options_as_text,
        "dbt_project.yml",
        "`vars.lht_objects.Account` must be a mapping",
    ),
    "where: [1, 2]": (
        where_as_list,
        "dbt_project.yml",
        "`vars.lht_objects.Account.where` must be one SOQL condition",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_configuration_is_refused_naming_the_file_and_key(
    ws: Workspace, case: str
) -> None:
    breaks, file_name, key = CASES[case]
    breaks(ws)
    run = lht(ws)
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-3000:]
    assert_clean_failure(run, file_name, key)
    assert len(run.stderr.strip().splitlines()) <= 4, f"not one paragraph:\n{run.stderr}"
    assert "unknown option" not in run.stderr
    assert not ws.org.faults.requests(), "lht called Salesforce with a malformed configuration"
    assert not staging_tables(ws)


def test_a_duckdb_path_in_a_directory_that_cannot_be_created_is_refused(
    ws: Workspace, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    run = lht(ws, extra_env={"LHT_DUCKDB_PATH": str(blocker / "warehouse" / "lht.duckdb")})
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-3000:]
    assert_clean_failure(
        run, "profiles.yml", "`path`", "cannot be created", str(blocker / "warehouse")
    )


@pytest.mark.parametrize("command", [("status",), ("prune", "--older-than", "1d")])
def test_every_command_refuses_a_malformed_project_the_same_way(
    ws: Workspace, command: tuple[str, ...]
) -> None:
    vars_five(ws)
    run = lht(ws, *command)
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-3000:]
    assert_clean_failure(run, "dbt_project.yml", "`vars` must be a mapping")
