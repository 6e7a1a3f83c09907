"""Progress bars: drawn while a sync runs on a terminal, absent when output goes to a pipe
or a file (cron, CI, schedulers)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

from e2e.conftest import BIN, Workspace, make_workspace

from lht_devorg import DevOrg

HIDE_CURSOR = "\x1b[?25l"  # a live display starting
ROWS_OF_TOTAL = re.compile(r"Account\s.*?\d+/\d+")


def _sync_args(ws: Workspace) -> list[str]:
    return [
        str(BIN / "lht"),
        "sync",
        "Account",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
    ]


def _run_in_pty(
    ws: Workspace, argv: list[str], timeout: float = 300, extra_env: dict[str, str] | None = None
) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = {**ws.env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **(extra_env or {})}
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ws.root, close_fds=True
    )
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output.extend(chunk)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    return proc.wait(timeout=30), output.decode("utf-8", "replace")


def test_sync_draws_progress_bars_on_a_terminal(workspace: Workspace) -> None:
    code, output = _run_in_pty(workspace, _sync_args(workspace))
    assert code == 0, output[-3000:]
    assert HIDE_CURSOR in output and ROWS_OF_TOTAL.search(output), output[-3000:]


def test_sync_prints_no_progress_when_output_is_not_a_terminal(workspace: Workspace) -> None:
    run = workspace.run("lht", *_sync_args(workspace)[1:])
    assert run.returncode == 0, run.stderr[-3000:]
    assert "\x1b[" not in run.stderr and "\x1b[" not in run.stdout
    assert not ROWS_OF_TOTAL.search(run.stderr), run.stderr[-3000:]
    assert "Account" in run.stdout, "the run report is still printed"


def test_a_bulk_sync_shows_progress_from_its_first_second(tmp_path) -> None:
    # a Bulk job that takes 3 s: the line shows the object at once, then the job's state and
    # the rows it has processed while lht polls it, before any row is written
    with DevOrg(counts={"Account": 300}, bulk_job_seconds=3.0) as org:
        ws = make_workspace("duckdb", tmp_path, org)
        code, output = _run_in_pty(
            ws, _sync_args(ws), extra_env={"LHT_REST_MAX_ROWS": "10", "COLUMNS": "220"}
        )
    assert code == 0, output[-3000:]
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    first_rows = re.search(r"\b[1-9][\d,]*/[\d,]+", plain)  # the first count of rows written
    waiting = plain.find("Bulk job InProgress")
    assert plain.find("describing") >= 0 and 0 <= waiting, plain[-3000:]
    assert "rows processed" in plain[waiting : waiting + 200]
    assert first_rows and waiting < first_rows.start(), (
        "the job's state is shown before the first rows land"
    )
