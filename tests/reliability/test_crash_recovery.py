"""kill -9 at random points of `lht sync` (and once during `dbt build`), rerun: the main table
equals the org exactly, nothing lost, nothing duplicated.

The org is big enough (10,000 Accounts; 30,000 and 21 kills with LHT_TEST_FULL=1) that a
Bulk sync takes seconds, and the org's
``stall`` faults hold the process at a chosen call (describe, REST query, REST paging, Bulk
job creation, Bulk polling, mid-download, between write and state) so the kill lands there;
two kinds of point are timed by a seeded RNG (mid-write, any moment). Each kill point is
logged (run pytest with -s, or read the captured output of a failure).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e.conftest import BIN, Workspace, assert_main_table_matches_org, make_workspace
from scale import full_or

from lht_devorg import DevOrg
from lht_devorg.bulk.query import encode_locator

from .conftest import state_rows

SEED = int(os.environ.get("LHT_CRASH_SEED", "20261126"))
ACCOUNTS = full_or(10_000, 30_000)
COUNTS = {
    "User": 5,
    "Account": ACCOUNTS,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}
ENV = {
    "LHT_REST_MAX_ROWS": "5000",
    "LHT_BULK_PAGE_RECORDS": "5000",
    "LHT_DESCRIBE_MAX_AGE": "0",
    "LHT_RETRY_BACKOFF": "0.05",
    "LHT_DOWNLOAD_WORKERS": "1",
}
STALL = 60.0

#: kill point -> (fault path to stall at, method, whether the run must be a full refresh,
#: extra env). A None path means "kill at a seeded random moment" instead of at a call.
POINTS: dict[str, tuple[str | None, str | None, bool, dict[str, str]]] = {
    "describe": ("/describe", "GET", False, {}),
    "rest-query": ("/queryAll/?q=", "GET", False, {}),
    "rest-paging": (f"-{ACCOUNTS // 4000 * 2000}", "GET", True, {"LHT_REST_MAX_ROWS": "100000"}),
    # the job's creation, or (when a killed full run left its job open) the check of that job
    # by the run that reuses it instead of creating one
    "bulk-create": ("/jobs/query", None, True, {}),
    "bulk-polling": ("/jobs/query/", "GET", True, {}),
    "mid-download": (f"locator={encode_locator(ACCOUNTS // 2)}", "GET", True, {}),
    "mid-write": (None, None, True, {}),
    "between-write-and-state": ("/deleted/", "GET", False, {}),
    "anywhere": (None, None, True, {}),
}

#: every kill point once (and a killed `dbt build`); LHT_TEST_FULL=1: 21 kills on 30,000 Accounts
KILLS = full_or(len(POINTS), 21)


def _log(message: str) -> None:
    print(f"[crash] {message}", flush=True)


def _start(ws: Workspace, tool: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
    argv = [str(BIN / tool), *args]
    return subprocess.Popen(
        argv,
        env={**ws.env, **env},
        cwd=ws.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sync_args(ws: Workspace, full: bool) -> list[str]:
    args = [
        "sync",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        "Account",
    ]
    return [*args, "--full-refresh"] if full else args


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Wait until ``predicate()`` or the process ended; True if the predicate came true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return predicate()
        time.sleep(0.01)
    raise AssertionError("the sync neither reached the kill point nor finished")


def _kill(proc: subprocess.Popen) -> bool:
    """SIGKILL the process; True if it was still running."""
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


def _change_the_org(org: DevOrg, rng: random.Random, ids: list[str], round_no: int) -> None:
    """Users keep working while syncs crash: updates, creates and soft deletes."""
    for record_id in rng.sample(ids, 4):
        org.engine.update(
            "Account",
            record_id,
            {
                "Description": f"edited in round {round_no}",
                "NumberOfEmployees": rng.randint(1, 10_000),
            },
        )
    for i in range(2):
        ids.append(org.engine.create("Account", {"Name": f"Created in round {round_no}.{i}"}))
    victim = rng.choice(ids)
    org.engine.delete("Account", victim)
    ids.remove(victim)


def _crash_sync(ws: Workspace, point: str, rng: random.Random, full_seconds: float) -> str:
    """Start a sync and SIGKILL it at ``point``; the random moments are fractions of
    ``full_seconds`` (how long a complete full sync takes here), so they fall inside a run
    however fast the loader and the machine are."""
    path, method, full, extra = POINTS[point]
    org = ws.org
    org.faults.clear()
    env = {**ENV, **extra}
    if path is not None:
        fault = org.faults.add("stall", path=path, method=method, times=1, seconds=STALL)
        proc = _start(ws, "lht", *_sync_args(ws, full), env=env)
        reached = _wait_for(lambda: fault.fired >= 1, proc)
        time.sleep(rng.uniform(0.0, 0.2))
        where = f"held at {method} ...{path}" if reached else "NOT reached (the run ended first)"
    elif point == "mid-write":
        probe = org.faults.add("stall", path="/results", method="GET", times=1, seconds=0.0)
        proc = _start(ws, "lht", *_sync_args(ws, full), env=env)
        reached = _wait_for(lambda: probe.fired >= 1, proc)
        delay = rng.uniform(0.02, 0.3) * full_seconds
        time.sleep(delay)
        where = f"{delay:.2f}s after the first results page was requested"
    else:
        delay = rng.uniform(0.1, 0.9) * full_seconds
        proc = _start(ws, "lht", *_sync_args(ws, full), env=env)
        time.sleep(delay)
        reached = True
        where = f"{delay:.2f}s after start"
    killed = _kill(proc)
    org.faults.clear()
    outcome = "killed" if killed else f"finished first (exit {proc.returncode})"
    _log(f"{point:<24} {'full' if full else 'incremental':<11} {where}: {outcome}")
    if path is not None:
        assert reached and killed, (
            f"kill point {point} was not reached: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
        )
    return outcome


def _crash_build(ws: Workspace, rng: random.Random) -> None:
    """Kill `dbt build` while it merges: a seeded delay after the model's START line."""
    argv = [
        str(BIN / "dbt"),
        "build",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        "--select",
        "account",
    ]
    proc = subprocess.Popen(
        argv, env=ws.env, cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "START sql incremental model" in line:
            break
    delay = rng.uniform(0.0, 1.0)
    time.sleep(delay)
    outcome = "killed" if _kill(proc) else "finished first"
    _log(f"{'dbt build':<24} {'incremental':<11} {delay:.2f}s after the model started: {outcome}")


@pytest.mark.slow
def test_kill_9_at_random_points_then_rerun_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    _log(f"seed {SEED} (set LHT_CRASH_SEED to replay another sequence)")
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.5) as org:
        ws = make_workspace("duckdb", tmp_path, org)
        rs = org.engine.execute("SELECT Id FROM Account", include_deleted=False)
        try:
            ids = [r["Id"] for r in org.engine.page_records(rs, 0, rs.total_size)]
        finally:
            org.engine.release(rs)
        started = time.monotonic()
        ws.sync("Account", extra_env=ENV)  # a complete full sync, timed: kill moments scale to it
        full_seconds = time.monotonic() - started
        _log(f"{'(a complete first run)':<24} took {full_seconds:.2f}s")
        points = list(POINTS)
        schedule = points + [rng.choice(points) for _ in range(KILLS - len(points))]
        rng.shuffle(schedule)
        kills = 0
        for round_no, point in enumerate(schedule, start=1):
            _change_the_org(org, rng, ids, round_no)
            if not POINTS[point][2] and "account" not in state_rows(ws):
                ws.sync("Account", extra_env=ENV)  # this point needs an incremental run
                _log(f"{'(a complete first run)':<24} so that {point} has state to work from")
            kills += _crash_sync(ws, point, rng, full_seconds) == "killed"
            if (
                round_no % 6 == 0
            ):  # now and then a run completes, so later kills hit incremental state
                ws.sync("Account", extra_env=ENV)
                _log(f"{'(a complete run)':<24} watermark {state_rows(ws)['account']['watermark']}")
            if round_no == min(7, KILLS // 2):
                ws.build(
                    "--select", "account"
                )  # the main table exists: the killed build is incremental
                _log(f"{'(a complete dbt build)':<24}")
            if round_no == min(14, KILLS - 1):
                _crash_build(ws, rng)
        assert kills >= KILLS - 1, f"only {kills} of {KILLS} runs were killed mid-way"

        report = ws.sync("Account", extra_env=ENV).report
        assert report["ok"] is True
        ws.build("--select", "account")
        main = assert_main_table_matches_org(ws, "Account")
        assert len(main) == len(ids) + sum(1 for r in main.values() if r["_lht_is_deleted"])


def test_a_rerun_right_after_a_kill_is_not_locked_out_and_loses_nothing(ws: Workspace) -> None:
    """On both engines: the killed run's lock (a file lock, or a lock row on Snowflake) does not
    keep the rerun out, and the rerun loads everything."""
    stall = ws.org.faults.add("stall", path="/queryAll", times=1, seconds=STALL)
    proc = _start(ws, "lht", *_sync_args(ws, False), env={})
    assert _wait_for(lambda: stall.fired >= 1, proc), "the sync never reached its query"
    assert _kill(proc), "the sync ended before it could be killed"
    ws.org.faults.clear()
    rerun = ws.sync("Account", check=False)
    assert rerun.returncode == 0, f"the rerun after a kill failed:\n{rerun.stderr[-3000:]}"
    ws.build("--select", "account")
    assert_main_table_matches_org(ws, "Account")
    _, runs = ws.query("select distinct run_id from salesforce_staging._lht_runs")
    assert [r[0] for r in runs] == [rerun.report["run_id"]], (
        "the killed run wrote to the run history"
    )
