"""`lht push` as the user types it: relative or absolute `--project-dir` and `--profiles-dir`,
from the project's parent or from elsewhere, or `DBT_PROFILES_DIR`; and no `dbt` process: the
push reads the change-set views dbt built, with `dbt` on neither PATH nor beside Python and
any process start recorded by an audit hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCORES = "select Id, 1.5 as Account_Score__c from {{ ref('account') }} where not _lht_is_deleted"

#: Runs the lht console script's entry point with an audit hook that records every process
#: start (subprocess, exec, spawn, fork, system) in the file named by LHT_TEST_SPAWNS.
NO_SPAWN = """
import os, sys
log = os.environ["LHT_TEST_SPAWNS"]
def hook(event, args):
    if event in ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork",
                 "os.forkpty"):
        with open(log, "a") as out:
            out.write(f"{event} {args!r}\\n")
sys.addaudithook(hook)
sys.argv = ["lht", *sys.argv[1:]]
from lht.cli import main
main()
"""


def _user_env(p: PushWorkspace, **extra: str) -> dict[str, str]:
    """The workspace's environment without the test-only target path (dbt's default: the
    project's target/)."""
    env = {k: v for k, v in p.ws.env.items() if k != "DBT_TARGET_PATH"}
    # the warehouse as an absolute path: these tests run lht from other directories, where
    # the profile's relative `lht.duckdb` would be another file (as it would be for dbt)
    if p.ws.engine == "duckdb":
        env["LHT_DUCKDB_PATH"] = str(p.ws.duckdb_path)
    return {**env, "LHT_RETRY_BACKOFF": "0.05", **extra}


def _lht(
    p: PushWorkspace, args: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess:
    lht = Path(sys.executable).with_name("lht")
    return subprocess.run(
        [str(lht), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_push_takes_any_path_form_from_any_directory(pws: PushWorkspace, tmp_path: Path) -> None:
    p = pws
    root = p.ws.root
    assert p.ws.project == root / "dbt_project" and p.ws.profiles == p.ws.project
    p.model("push_paths", SCORES, object="Account", operation="update")
    env = _user_env(p)
    build = p.ws.run(
        "dbt",
        "build",
        "--project-dir",
        "dbt_project",
        "--profiles-dir",
        "dbt_project",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        "account",
        "push_tests",
        extra_env={"DBT_TARGET_PATH": ""},
    )
    assert build.returncode == 0, build.stdout[-3000:]
    assert (root / "dbt_project" / "target" / "manifest.json").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    absolute = str(root / "dbt_project")
    forms = {
        "relative, from the project's parent": (
            root,
            ["--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
            {},
        ),
        "absolute, from elsewhere": (
            elsewhere,
            ["--project-dir", absolute, "--profiles-dir", absolute],
            {},
        ),
        "relative, from elsewhere": (
            elsewhere,
            ["--project-dir", "../dbt_project", "--profiles-dir", "../dbt_project"],
            {},
        ),
        "DBT_PROFILES_DIR relative": (
            root,
            ["--project-dir", "dbt_project"],
            {"DBT_PROFILES_DIR": "dbt_project"},
        ),
        "DBT_PROFILES_DIR absolute": (
            elsewhere,
            ["--project-dir", absolute],
            {"DBT_PROFILES_DIR": absolute},
        ),
        "no option, in the project": (root / "dbt_project", [], {}),
        "no option, beside the project": (root, [], {}),
    }
    sent = 0
    for form, (cwd, args, extra) in forms.items():
        for dry in (["--dry-run"], []):
            run = _lht(p, ["push", "--json", *dry, *args], cwd, {**env, **extra})
            assert run.returncode == 0, (
                f"{form} {dry}: exit {run.returncode}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
            )
            sent += json.loads(run.stdout)["results"][0]["sent"]
    assert sent > 0 and sent == len(p.accounts("Id", where='not "IsDeleted"')), (
        "sent once, by the first push"
    )
    # as a person reads it: a push that sent nothing does not say every row was accepted
    quiet = _lht(
        p, ["push", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"], root, env
    )
    assert (
        quiet.returncode == 0
        and "Nothing to send" in quiet.stdout
        and "Every row" not in quiet.stdout
    )


@pytest.mark.parametrize(
    "engine_env", [{}, {"LHT_PUSH_BULK_MIN_ROWS": "1"}], ids=["collections", "bulk"]
)
def test_push_starts_no_process_and_needs_no_dbt(
    pws_any: PushWorkspace, engine_env: dict, tmp_path: Path
) -> None:
    p = pws_any
    p.model("push_nodbt", SCORES, object="Account", operation="update")
    p.build()
    spawns = tmp_path / "spawns.log"
    script = tmp_path / "lht_no_spawn.py"
    script.write_text(NO_SPAWN)
    # dbt nowhere: not on PATH (the virtual environment's bin is left out) nor beside this Python
    path = os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "dbt").exists()
    )
    env = {
        **p.ws.env,
        **engine_env,
        "PATH": path,
        "LHT_TEST_SPAWNS": str(spawns),
        "LHT_RETRY_BACKOFF": "0.05",
    }
    # lht runs from fake_bin, where the profile's relative `lht.duckdb` would be another file
    # than the one dbt built into (the workspace root): name that file absolutely
    if p.ws.engine == "duckdb":
        env["LHT_DUCKDB_PATH"] = str(p.ws.duckdb_path)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    args = [
        "push",
        "--json",
        "--project-dir",
        str(p.ws.project),
        "--profiles-dir",
        str(p.ws.profiles),
    ]
    for dry in (["--dry-run"], [], []):
        run = subprocess.run(
            [sys.executable, str(script), *args, *dry],
            cwd=fake_bin,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, f"{dry}: {run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    assert p.results("push_name = 'push_nodbt' and success"), "the push wrote its results"
    started = spawns.read_text() if spawns.exists() else ""
    assert "dbt" not in started, f"lht push started dbt:\n{started}"
    if p.ws.engine == "duckdb":  # (the Snowflake connector may ask the system about itself)
        assert not started, f"lht push started processes:\n{started}"
