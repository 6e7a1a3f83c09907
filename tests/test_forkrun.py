"""The suite's forked `dbt` (tests/forkrun.py) answers as the `dbt` executable does: same exit
code and output, the caller's environment and directory, and a timeout that stops it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from forkrun import run_dbt

DBT = str(Path(sys.executable).with_name("dbt"))


@pytest.mark.parametrize("args", [["--version"], ["no-such-command"], ["debug", "--config-dir"]])
def test_a_forked_dbt_command_exits_and_prints_as_the_executable_does(
    args: list[str], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(tmp_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    real = subprocess.run(
        [DBT, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    forked = run_dbt([DBT, *args], env=env, cwd=tmp_path, timeout=120)
    clock = re.compile(r"\d\d:\d\d:\d\d")  # dbt's log lines start with the time of day

    def seen(run: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
        return run.returncode, clock.sub("hh:mm:ss", run.stdout), clock.sub("hh:mm:ss", run.stderr)

    assert seen(forked) == seen(real)
    if args[0] == "debug":
        assert str(tmp_path) in forked.stdout, "the caller's environment did not reach the command"


def test_a_forked_dbt_command_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_dbt([DBT, "--version"], env=os.environ, cwd=tmp_path, timeout=0.001)
