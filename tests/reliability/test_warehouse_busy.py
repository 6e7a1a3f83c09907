"""The DuckDB file held by another program (`dbt build`, a notebook): lht says who holds it and
exits 3, as for its own run lock; with `--wait` it waits (bounded) and then runs.

Commands are run as the README writes them: from the workspace's root, with relative
``--project-dir dbt_project --profiles-dir dbt_project``, and the profile's default
``lht.duckdb`` (no ``LHT_DUCKDB_PATH``). The holder is another process that opened the file
with ``duckdb.connect`` and keeps it open until its stdin closes.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.conftest import BIN, Run, Workspace, make_workspace

from lht_devorg import DevOrg

from .conftest import assert_clean_failure, staged_count

#: Opens the DuckDB file named by argv[1], says so, and holds it until stdin closes.
HOLD = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
    "sys.stdin.read(); con.close()"
)
AS_TYPED = ("--project-dir", "dbt_project", "--profiles-dir", "dbt_project")


class Holder:
    """A process holding the workspace's DuckDB file open."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, "lht.duckdb"],
            cwd=root,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "holding", self.proc.stderr.read() if self.proc.stderr else line

    @property
    def pid(self) -> int:
        return self.proc.pid

    def release(self) -> None:
        """Close the file and end the process."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture
def typed_ws(small_org: DevOrg, tmp_path: Path) -> Workspace:
    """A DuckDB workspace whose database is the profile's default ``lht.duckdb`` in its root."""
    ws = make_workspace("duckdb", tmp_path, small_org)
    assert "LHT_DUCKDB_PATH" not in ws.env and ws.duckdb_path == ws.root / "lht.duckdb"
    return ws


@pytest.fixture
def holder(typed_ws: Workspace) -> Iterator[Holder]:
    held = Holder(typed_ws.root)
    yield held
    held.release()


def lht(ws: Workspace, *args: str, extra_env: dict[str, str] | None = None) -> Run:
    """``lht ARGS`` as the user types it in the workspace's root."""
    argv = [str(BIN / "lht"), *args]
    proc = subprocess.run(
        argv,
        env={**ws.env, **(extra_env or {})},
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


def test_sync_while_another_program_holds_the_duckdb_file_exits_3_naming_it(
    typed_ws: Workspace, holder: Holder
) -> None:
    run = lht(typed_ws, "sync", *AS_TYPED)
    assert run.returncode == 3, run.stderr
    err = assert_clean_failure(
        run, "is open in another program", f"pid {holder.pid}", "python -c", "lht.duckdb", "--wait"
    )
    assert "memory" not in err.lower()  # not DuckDB's advice about memory limits


def test_sync_with_wait_waits_for_the_holder_then_syncs(
    typed_ws: Workspace, holder: Holder
) -> None:
    proc = subprocess.Popen(
        [str(BIN / "lht"), "sync", "--wait", *AS_TYPED],
        env=typed_ws.env,
        cwd=typed_ws.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # piped: one line says what it waits for
        assert "waiting for" in line and f"pid {holder.pid}" in line, line
        time.sleep(1.0)
        assert proc.poll() is None, "lht stopped waiting while the file was still held"
        holder.release()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Every object synced" in out
    assert staged_count(typed_ws, "account") == 60


def test_on_a_terminal_the_wait_shows_a_live_status_with_the_seconds_waited(
    typed_ws: Workspace, holder: Holder
) -> None:
    master, slave = pty.openpty()
    env = {**typed_ws.env, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "40"}
    proc = subprocess.Popen(
        [str(BIN / "lht"), "sync", "--wait", *AS_TYPED],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=typed_ws.root,
        close_fds=True,
    )
    os.close(slave)
    release = threading.Timer(2.5, holder.release)  # started once lht says it waits
    output = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output.extend(chunk)
                if (
                    not release.is_alive()
                    and not release.finished.is_set()
                    and b"waiting for" in output
                ):
                    release.start()
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        release.cancel()
    text = output.decode("utf-8", "replace")
    assert proc.wait(timeout=300) == 0, text[-3000:]
    assert f"pid {holder.pid}" in text and re.search(
        r"lht\.duckdb \(up to \d+ s more\): [12] s", text
    ), text[-3000:]
    assert "Every object synced" in text


def test_the_wait_is_bounded_by_LHT_WAREHOUSE_WAIT_SECONDS(
    typed_ws: Workspace, holder: Holder
) -> None:
    started = time.monotonic()
    run = lht(typed_ws, "sync", "--wait", *AS_TYPED, extra_env={"LHT_WAREHOUSE_WAIT_SECONDS": "2"})
    assert run.returncode == 3, run.stderr
    assert_clean_failure(
        run,
        "is open in another program",
        f"pid {holder.pid}",
        "waited 2 s",
        "LHT_WAREHOUSE_WAIT_SECONDS",
    )
    assert time.monotonic() - started >= 2


MODELS = {
    "merges/dedup_accounts.sql": """{{ config(materialized='table', meta={'lht_merge': {'object': 'Account'}}) }}
select Id as MasterId, Id as LoserId from {{ ref('account') }} where false
""",
    "pushes/push_scores.sql": """{{ config(materialized='table',
    meta={'lht_push': {'object': 'Account', 'operation': 'update', 'key': 'Id'}}) }}
select Id, 1.0 as Account_Score__c from {{ ref('account') }} where false
""",
}


@pytest.mark.slow
def test_push_merge_and_prune_exit_3_naming_the_holder_status_shows_the_snapshot_and_prune_waits(
    typed_ws: Workspace,
) -> None:
    for name, sql in MODELS.items():
        (typed_ws.project / "models" / name).parent.mkdir(exist_ok=True)
        (typed_ws.project / "models" / name).write_text(sql)
    lht(typed_ws, "sync", *AS_TYPED).check()
    typed_ws.build()
    held = Holder(typed_ws.root)
    try:
        for command in (
            ["push", "--dry-run"],
            ["merge", "--dry-run"],
            ["prune", "--older-than", "30d", "--dry-run"],
        ):
            run = lht(typed_ws, *command, *AS_TYPED)
            assert run.returncode == 3, (command, run.stdout[-2000:], run.stderr[-2000:])
            assert_clean_failure(run, "is open in another program", f"pid {held.pid}", "lht.duckdb")
        # lht status does not refuse: it shows the snapshot the sync keeps beside the file
        status = lht(typed_ws, "status", *AS_TYPED)
        assert status.returncode == 0, (status.stdout[-2000:], status.stderr[-2000:])
        shown = " ".join(status.stdout.split())
        assert (
            f"pid {held.pid}" in shown
            and "from the snapshot lht sync keeps beside the file" in shown
        ), shown
        waiting = subprocess.Popen(
            [str(BIN / "lht"), "prune", "--older-than", "30d", "--wait", *AS_TYPED],
            env=typed_ws.env,
            cwd=typed_ws.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiting.stderr is not None and "waiting for" in waiting.stderr.readline()
    finally:
        held.release()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, (out[-2000:], err[-2000:])
