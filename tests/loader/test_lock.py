"""run_lock: one lht sync per target (DuckDB file lock, Snowflake lock row on fakesnow)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from lht.errors import ConcurrentRunError
from lht.warehouse.connection import Warehouse
from lht.warehouse.lock import LOCK_TABLE, run_lock


def hold_in_thread(wh: Warehouse, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """Hold the run lock from another thread (its own connection) for ``seconds``."""
    held = threading.Event()
    view = wh.cursor_for_thread() if wh.kind == "snowflake" else wh

    def run() -> None:
        with run_lock(view):
            held.set()
            time.sleep(seconds)
        if view is not wh:
            view.close()

    t = threading.Thread(target=run)
    t.start()
    assert held.wait(60)
    return t, held


@pytest.mark.parametrize("engine", ["duck_wh", "snow_wh"])
def test_a_second_holder_is_refused_naming_the_first(engine: str, request: pytest.FixtureRequest) -> None:
    wh: Warehouse = request.getfixturevalue(engine)
    t, _ = hold_in_thread(wh, 2.0)
    try:
        with pytest.raises(ConcurrentRunError, match=r"pid \d+.*since .*--wait"), run_lock(wh):
            pytest.fail("the lock was granted twice")
    finally:
        t.join()
    with run_lock(wh):  # free again once the holder is done
        pass


@pytest.mark.parametrize("engine", ["duck_wh", "snow_wh"])
def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(engine: str, request: pytest.FixtureRequest) -> None:
    wh: Warehouse = request.getfixturevalue(engine)
    t, _ = hold_in_thread(wh, 1.5)
    entered = []
    with run_lock(wh, wait=True, timeout=60):
        entered.append(not t.is_alive())
    t.join()
    assert entered == [True]


@pytest.mark.parametrize("engine", ["duck_wh", "snow_wh"])
def test_waiting_gives_up_after_the_timeout(engine: str, request: pytest.FixtureRequest) -> None:
    wh: Warehouse = request.getfixturevalue(engine)
    t, _ = hold_in_thread(wh, 4.0)
    try:
        with pytest.raises(ConcurrentRunError), run_lock(wh, wait=True, timeout=1.0):
            pytest.fail("the lock was granted twice")
    finally:
        t.join()


def test_the_lock_is_released_when_the_run_fails(duck_wh: Warehouse) -> None:
    with pytest.raises(RuntimeError), run_lock(duck_wh):
        raise RuntimeError("sync failed")
    with run_lock(duck_wh.target):
        pass


def test_a_stale_snowflake_lock_is_taken_over_and_logged(snow_wh: Warehouse, caplog: pytest.LogCaptureFixture) -> None:
    with run_lock(snow_wh):
        pass
    q = snow_wh.quote
    table = snow_wh.table(LOCK_TABLE)
    snow_wh.execute(
        f"INSERT INTO {table} ({q('lock_name')}, {q('token')}, {q('owner')}, {q('host')}, {q('pid')}, {q('acquired_at')}) "
        "VALUES ('lht sync', 'dead', 'ghost', 'gone-host', 4242, '2000-01-01T00:00:00+00:00')"
    )
    caplog.set_level(logging.WARNING, logger="lht.warehouse.lock")
    with run_lock(snow_wh):
        owners = snow_wh.execute(f"SELECT {q('owner')} FROM {table}")
        assert owners != [("ghost",)] and len(owners) == 1
    assert any("stale" in r.getMessage() and "ghost@gone-host" in r.getMessage() for r in caplog.records)
    assert snow_wh.execute(f"SELECT count(*) FROM {table}") == [(0,)]


def test_a_snowflake_target_is_locked_through_its_own_connection(snow_wh: Warehouse) -> None:
    with run_lock(snow_wh.target):
        with pytest.raises(ConcurrentRunError):
            with run_lock(snow_wh):
                pass
