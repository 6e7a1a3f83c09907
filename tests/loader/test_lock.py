"""run_lock: one lht sync per target (DuckDB file lock, Snowflake lock row on fakesnow)."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest

from lht.errors import ConcurrentRunError
from lht.warehouse.connection import Warehouse
from lht.warehouse.lock import LOCK_TABLE, run_lock


class Holder:
    """The run lock held by another thread (its own connection) until :meth:`release`."""

    def __init__(self, wh: Warehouse) -> None:
        self._release = threading.Event()
        held = threading.Event()
        view = wh.cursor_for_thread() if wh.kind == "snowflake" else wh

        def run() -> None:
            with run_lock(view):
                held.set()
                self._release.wait(120)
            if view is not wh:
                view.close()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert held.wait(60)

    def release(self) -> None:
        """Let the holder finish (and wait until it has)."""
        self._release.set()
        self.thread.join(60)
        assert not self.thread.is_alive()


def acquiring(thread: threading.Thread) -> bool:
    """True while ``thread`` is inside run_lock, trying to take the lock (not yet holding it)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name in ("_file_lock", "_row_lock"):
            return True
        frame = frame.f_back
    return False


def release_once_waiting(holder: Holder, waiter: threading.Thread) -> threading.Thread:
    """Release ``holder`` once ``waiter`` is waiting for the lock (seen on its stack)."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while not acquiring(waiter):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        holder.release()

    releaser = threading.Thread(target=run)
    releaser.start()
    return releaser


@pytest.mark.parametrize("engine", ["duck_wh", "snow_wh"])
def test_a_second_holder_is_refused_naming_the_first(
    engine: str, request: pytest.FixtureRequest
) -> None:
    wh: Warehouse = request.getfixturevalue(engine)
    holder = Holder(wh)
    try:
        with pytest.raises(ConcurrentRunError, match=r"pid \d+.*since .*--wait"), run_lock(wh):
            pytest.fail("the lock was granted twice")
    finally:
        holder.release()
    with run_lock(wh):  # free again once the holder is done
        pass


@pytest.mark.parametrize("engine", ["duck_wh", "snow_wh"])
def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(
    engine: str, request: pytest.FixtureRequest
) -> None:
    wh: Warehouse = request.getfixturevalue(engine)
    holder = Holder(wh)
    entered = []
    releaser = release_once_waiting(holder, threading.current_thread())
    try:
        with run_lock(wh, wait=True, timeout=60):
            entered.append(not holder.thread.is_alive())
    finally:
        releaser.join(60)
    assert entered == [True]


@pytest.mark.parametrize("engine", ["duck_wh", "snow_wh"])
def test_waiting_gives_up_after_the_timeout(engine: str, request: pytest.FixtureRequest) -> None:
    wh: Warehouse = request.getfixturevalue(engine)
    holder = Holder(wh)
    try:
        with pytest.raises(ConcurrentRunError), run_lock(wh, wait=True, timeout=1.0):
            pytest.fail("the lock was granted twice")
    finally:
        holder.release()


def test_the_lock_is_released_when_the_run_fails(duck_wh: Warehouse) -> None:
    with pytest.raises(RuntimeError), run_lock(duck_wh):
        raise RuntimeError("sync failed")
    with run_lock(duck_wh.target):
        pass


def test_a_stale_snowflake_lock_is_taken_over_and_logged(
    snow_wh: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
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
    assert any(
        "stale" in r.getMessage() and "ghost@gone-host" in r.getMessage() for r in caplog.records
    )
    assert snow_wh.execute(f"SELECT count(*) FROM {table}") == [(0,)]


def test_a_snowflake_target_is_locked_through_its_own_connection(snow_wh: Warehouse) -> None:
    with run_lock(snow_wh.target):
        with pytest.raises(ConcurrentRunError):
            with run_lock(snow_wh):
                pass
