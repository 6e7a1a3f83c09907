"""kill -9 at each step of a push, then a rerun: no record is created twice, and every row ends
accepted. The org holds the push's call at the chosen step (``orghooks.HeldCall``) so the kill
lands there."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from e2e.conftest import BIN
from orghooks import HeldCall

from .conftest import BULK, PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ROWS = 30
INSERTS = f"""select 'CRASH-' || cast(i as varchar) as External_Id__c, 'Crash ' || cast(i as varchar) as Name
from range(0, {ROWS}) as t(i)"""

#: kill point -> (engine env, path of the call to stall at, method)
POINTS = {
    "bulk-create": (BULK, "/jobs/ingest", "POST"),
    "bulk-upload": (BULK, "/batches", "PUT"),
    "bulk-close": (BULK, "/jobs/ingest/", "PATCH"),
    "bulk-poll": (BULK, "/jobs/ingest/", "GET"),
    "bulk-results": (
        BULK,
        "/successfulResults",
        "GET",
    ),  # the failed file is read only when a row failed
    "collections-call": ({}, "/composite/sobjects", "POST"),
}


@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_push_killed_at_any_step_creates_nothing_twice_on_rerun(
    pws: PushWorkspace, point: str
) -> None:
    p = pws
    env, path, method = POINTS[point]
    p.model("push_crash", INSERTS, object="Account", operation="insert", key="External_Id__c")
    p.build()
    argv = [
        str(BIN / "lht"),
        "push",
        "--json",
        "--project-dir",
        str(p.ws.project),
        "--profiles-dir",
        str(p.ws.profiles),
    ]
    # the call is held in the org from its arrival until the test ends: the kill lands while it
    # is in flight, and the rerun never sees it handled (a killed client's request that never got
    # through); dropped when the block ends
    with HeldCall(p.org, path=path, method=method) as held:
        proc = subprocess.Popen(
            argv,
            env={**p.ws.env, **env},
            cwd=p.ws.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        held.wait_reached(proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        p.org.faults.clear()

        rerun = p.result(p.push(env=env), "push_crash")
        assert rerun["failed"] == 0, rerun
        created = (
            p.org.engine.cursor()
            .execute(
                f'select "External_Id__c", count(*) from {p.org.engine.table("Account")} '
                "where \"External_Id__c\" like 'CRASH-%' group by 1"
            )
            .fetchall()
        )
        assert len(created) == ROWS and all(n == 1 for _, n in created), f"{point}: {created}"
        p.ws.build("--select", "lht_push_results")
        _, rows = p.ws.query(
            "select count(*), count(case when success then 1 end) from salesforce.lht_push_results "
            "where push_name = 'push_crash'"
        )
        assert rows == [(ROWS, ROWS)]
        assert p.result(p.push(env=env), "push_crash")["sent"] == 0
