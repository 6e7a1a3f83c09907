"""The run lock: one ``lht sync`` at a time per target.

DuckDB: an OS file lock beside the database file (``<db>.lht.warehouse.lock``, via filelock), released
by the OS if the process dies; a JSON file beside it says who holds it. Snowflake: a row in
``<staging>._lht_lock`` claimed by one MERGE; a row older than the TTL
(``Settings.lock_ttl_seconds``, ``LHT_LOCK_TTL_SECONDS``, default 12 h), or left by a
process of this host that no longer runs (killed), is taken over, and the log says so.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import filelock

from lht.clock import utcnow
from lht.errors import ConcurrentRunError, WarehouseError
from lht.warehouse.connection import Warehouse, connect, duckdb_directory
from lht.warehouse.target import Target

logger = logging.getLogger(__name__)

LOCK_TABLE = "_lht_lock"
LOCK_NAME = "lht sync"
POLL_SECONDS = 1.0


def _holder() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return {
        "owner": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "acquired_at": utcnow().isoformat(timespec="seconds"),
    }


def _describe(info: dict[str, Any] | None) -> str:
    if not info:
        return "another process"
    return f"{info.get('owner')}@{info.get('host')} (pid {info.get('pid')}) since {info.get('acquired_at')}"


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this host (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


@contextmanager
def run_lock(
    wh_or_target: Warehouse | Target, *, wait: bool = False, timeout: float | None = None
) -> Iterator[None]:
    """Hold the target's run lock for the ``with`` block.

    Without ``wait`` a held lock raises :class:`ConcurrentRunError` at once; with ``wait``
    it is retried until ``timeout`` seconds pass (forever if None).
    """
    target = wh_or_target if isinstance(wh_or_target, Target) else wh_or_target.target
    if target.kind == "duckdb":
        with _file_lock(target, wait, timeout):
            yield
        return
    if isinstance(wh_or_target, Warehouse):
        with _row_lock(wh_or_target, wait, timeout):
            yield
        return
    with connect(target) as wh, _row_lock(wh, wait, timeout):
        yield


@contextmanager
def _file_lock(target: Target, wait: bool, timeout: float | None) -> Iterator[None]:
    if target.path is None or str(target.path) == ":memory:":
        yield  # an in-memory database cannot be shared with another process
        return
    duckdb_directory(target)
    path = Path(f"{target.path}.lht.warehouse.lock")
    info_path = Path(f"{path}.json")
    lock = filelock.FileLock(str(path))
    try:
        lock.acquire(
            timeout=(-1 if timeout is None else timeout) if wait else 0,
            poll_interval=POLL_SECONDS / 4,
        )
    except filelock.Timeout:
        try:
            info = json.loads(info_path.read_text())
        except (OSError, ValueError):
            info = None
        raise ConcurrentRunError(
            f"Another lht sync holds the lock on {target.path}: {_describe(info)}. "
            "Wait for it to finish, or run with --wait to queue behind it."
        ) from None
    try:
        info_path.write_text(json.dumps(_holder()))
        yield
    finally:
        info_path.unlink(missing_ok=True)
        lock.release()


def lock_holder(target: Target) -> dict[str, Any] | None:
    """Who holds the run lock of a DuckDB target (owner, host, pid, acquired_at), read from
    the file beside the lock without taking it; None when nobody does (or on Snowflake,
    whose lock row readers need not consult: they are never blocked there)."""
    if target.kind != "duckdb" or target.path is None or str(target.path) == ":memory:":
        return None
    try:
        info = json.loads(Path(f"{target.path}.lht.warehouse.lock.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or _is_dead_local_holder(info):
        return None  # a run killed before it could remove the file
    return info


def _ensure_lock_table(wh: Warehouse) -> str:
    table = wh.table(LOCK_TABLE)
    q = wh.quote
    wh.ensure_schema()
    wh.execute(
        f"CREATE TABLE IF NOT EXISTS {table} ({q('lock_name')} VARCHAR, {q('token')} VARCHAR, "
        f"{q('owner')} VARCHAR, {q('host')} VARCHAR, {q('pid')} BIGINT, {q('acquired_at')} VARCHAR)"
    )
    return table


def _try_claim(wh: Warehouse, table: str, token: str, me: dict[str, Any]) -> dict[str, Any] | None:
    """Claim the lock row; return the holder's row if someone else has it.

    A free lock (no row: the last run deleted it) costs one statement, a MERGE that inserts
    the row only when there is none (its answer says whether it did). A row older than the
    TTL is then taken over by an UPDATE of that very row (its token), so that of two runs
    taking it over one wins, and the log names the run it belonged to.
    """
    q = wh.quote
    ttl = wh.settings.lock_ttl_seconds
    cols = ["lock_name", "token", "owner", "host", "pid", "acquired_at"]
    values = [LOCK_NAME, token, me["owner"], me["host"], me["pid"], me["acquired_at"]]
    select = f"SELECT {', '.join(q(c) for c in cols)} FROM {table} WHERE {q('lock_name')} = ?"
    source = ", ".join(f"? AS {q(c)}" for c in cols)
    claim = (
        f"MERGE INTO {table} t USING (SELECT {source}) s ON t.{q('lock_name')} = s.{q('lock_name')} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(q(c) for c in cols)}) "
        f"VALUES ({', '.join(f's.{q(c)}' for c in cols)})"
    )
    holder: dict[str, Any] | None = None
    for _ in range(3):  # the row may go (a run ends) or change hands between two statements
        if _count(wh.execute(claim, values)):
            return None
        rows = wh.execute(select, [LOCK_NAME])
        if not rows:
            continue
        holder = dict(zip(cols, rows[0], strict=True))
        stale_before = (utcnow() - timedelta(seconds=ttl)).isoformat(timespec="seconds")
        if str(holder["acquired_at"]) >= stale_before:
            return holder
        sets = ", ".join(f"{q(c)} = ?" for c in cols[1:])
        taken = wh.execute(
            f"UPDATE {table} SET {sets} WHERE {q('lock_name')} = ? AND {q('token')} = ?",
            values[1:] + [LOCK_NAME, holder["token"]],
        )
        if _count(taken):
            logger.warning(
                "Took over a stale lht run lock (older than %d s) held by %s",
                int(ttl),
                _describe(holder),
            )
            return None
    return holder or {}


def _count(rows: list[tuple]) -> int:
    """Rows a MERGE inserted (or an UPDATE updated), from its answer's first column."""
    return int(rows[0][0] or 0) if rows and rows[0] else 0


def _is_dead_local_holder(holder: dict[str, Any]) -> bool:
    """True when the lock row names a process on this host that no longer exists."""
    if holder.get("host") != socket.gethostname() or holder.get("pid") is None:
        return False
    try:
        pid = int(holder["pid"])
    except (TypeError, ValueError):
        return False
    return pid != os.getpid() and not pid_alive(pid)


@contextmanager
def _row_lock(wh: Warehouse, wait: bool, timeout: float | None) -> Iterator[None]:
    table = wh.table(LOCK_TABLE)
    q = wh.quote
    token = uuid.uuid4().hex
    me = _holder()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            holder = _try_claim(wh, table, token, me)
        except WarehouseError:  # no lock table yet (a first run): create it and claim again
            _ensure_lock_table(wh)
            holder = _try_claim(wh, table, token, me)
        if holder is None:
            break
        if _is_dead_local_holder(holder):
            # a run killed on this machine (kill -9, a crash) left its row: take it over now
            logger.warning(
                "Took over the lht run lock of a run that is no longer running: %s",
                _describe(holder),
            )
            wh.execute(
                f"DELETE FROM {table} WHERE {q('lock_name')} = ? AND {q('token')} = ?",
                [LOCK_NAME, holder.get("token")],
            )
            continue
        if not wait or (deadline is not None and time.monotonic() >= deadline):
            raise ConcurrentRunError(
                f"Another lht sync holds the lock on {table}: {_describe(holder)}. Wait for it to finish, "
                f"run with --wait to queue behind it, or, if that run is dead, delete its row from {table} "
                f"(it expires after {int(wh.settings.lock_ttl_seconds)} s)."
            )
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        wh.execute(
            f"DELETE FROM {table} WHERE {q('lock_name')} = ? AND {q('token')} = ?",
            [LOCK_NAME, token],
        )
