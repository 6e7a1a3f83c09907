"""Salesforce's clock and the loader host's disagree (either sign, minutes): every window
and overlap is computed in Salesforce's time (its responses' Date header), so nothing is
lost and nothing is delayed. The local org runs on a clock offset from this host's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from lht_devorg import DevOrg, ShiftedClock

from .conftest import Workspace, make_workspace

OBJ = "Account"


def _workspace(tmp_path: Path, offset: float) -> Iterator[tuple[Workspace, ShiftedClock]]:
    clock = ShiftedClock(offset)
    with DevOrg(counts={"Account": 20}, bulk_job_seconds=0.1, clock=clock) as org:
        yield make_workspace("duckdb", tmp_path, org), clock


@pytest.fixture
def behind(tmp_path: Path) -> Iterator[tuple[Workspace, ShiftedClock]]:
    """Salesforce 10 minutes behind this host."""
    yield from _workspace(tmp_path, -600)


@pytest.fixture
def ahead(tmp_path: Path) -> Iterator[tuple[Workspace, ShiftedClock]]:
    """Salesforce 4 minutes ahead of this host."""
    yield from _workspace(tmp_path, 240)


def _sync(ws: Workspace) -> dict:
    report = ws.sync(OBJ).report
    assert report["ok"] is True, report
    return next(r for r in report["results"] if r["object_name"] == OBJ)


def _main(ws: Workspace) -> dict[str, dict]:
    ws.build("--select", "account")
    return {r["id"]: r for r in ws.main_rows("account")}


def test_a_record_committed_late_is_loaded_when_salesforce_runs_behind(
    behind: tuple[Workspace, ShiftedClock],
) -> None:
    ws, _ = behind
    eng = ws.org.engine
    eng.create(OBJ, {"Name": "newest before the first sync"})
    _sync(ws)
    first_seen = eng.now()
    # a transaction that began 30 s before the sync and committed after it: its stamp is old
    late = eng.create(OBJ, {"Name": "committed late"})
    stamp = first_seen - timedelta(seconds=30)
    eng.cursor().execute(
        f'update {eng.table(OBJ)} set "SystemModstamp" = ?, "LastModifiedDate" = ? where "Id" = ?',
        [stamp, stamp, late],
    )
    assert _sync(ws)["mode"] == "incremental"
    assert _main(ws)[late]["name"] == "committed late"


def test_a_hard_delete_is_seen_by_the_next_sync_when_salesforce_runs_ahead(
    ahead: tuple[Workspace, ShiftedClock],
) -> None:
    ws, clock = ahead
    eng = ws.org.engine
    _sync(ws)
    victim = sorted(_main(ws))[0]
    eng.purge(OBJ, [victim])
    clock.advance(61)  # getDeleted covers whole minutes: let this one end
    assert _sync(ws)["delete_markers"] == 1
    assert _main(ws)[victim]["_lht_is_deleted"] is True
