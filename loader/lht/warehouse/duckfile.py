"""The DuckDB database file: opening it, who else has it open, and a disk without room.

DuckDB lets one process at a time open a database file for writing (``dbt build``, a
notebook, another lht command). :func:`open_database` turns DuckDB's lock conflict, whose
text names the holder's PID, into :class:`~lht.errors.WarehouseBusyError` naming that
process (its command line from ``/proc`` where there is one, else DuckDB's executable), and
a write that found no room into :class:`~lht.errors.DiskFullError` naming the path and the
free space. DuckDB words a full disk under its temporary directory as "Out of Memory" (its
``max_temp_directory_size`` defaults to that disk's free space): that is a full disk too.
:func:`wait_for_release` waits, bounded, until the file can be opened again.
"""

from __future__ import annotations

import logging
import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lht.errors import ConfigError, DiskFullError, WarehouseBusyError, WarehouseError, no_room

logger = logging.getLogger(__name__)

#: DuckDB's text for a file another process holds (DuckDB 1.x): the path, the holder's
#: executable and PID.
_LOCK_CONFLICT = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in '
    r"(?P<exe>.+?)(?: \(PID (?P<pid>\d+)\)|\. See also|$)",
    re.MULTILINE,
)
#: DuckDB's text naming the file a failed write was for.
_WRITE_PATH = re.compile(
    r'(?:write|writing|create|extend|truncate)[a-z ]* file "(?P<path>[^"]+)"', re.IGNORECASE
)
#: DuckDB's "Out of Memory" when its temporary directory has no room left.
_TEMP_FULL = ("max_temp_directory_size", "failed to offload")
#: Longest command line shown for a holder.
_HOLDER_CHARS = 160
#: Seconds between two tries while waiting for the holder to let the file go.
POLL_SECONDS = 0.5


def open_database(
    path: Path, config: dict[str, Any], settings_hint: str, *, read_only: bool = False
) -> Any:
    """``duckdb.connect(path, config=...)`` with typed errors (busy, disk full, settings); its
    folder exists already (the caller made it, naming the profile when it cannot)."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        raise (
            busy_error(exc, path)
            or disk_full(exc, path, None, "Opening the DuckDB database")
            or WarehouseError(f"Cannot open the DuckDB database {path}: {exc}")
        ) from None
    except duckdb.Error as exc:
        raise ConfigError(
            f"Cannot open the DuckDB database {path} ({settings_hint}): {exc}"
        ) from None


def busy_error(exc: BaseException, path: Path) -> WarehouseBusyError | None:
    """The :class:`WarehouseBusyError` for DuckDB's lock conflict, naming the holder; else None."""
    found = _LOCK_CONFLICT.search(str(exc))
    if not found:
        return None
    pid = int(found["pid"]) if found["pid"] else None
    holder = describe_process(pid, found["exe"].strip() or None)
    who = f"{holder} (pid {pid})" if pid else holder
    return WarehouseBusyError(
        f"The DuckDB database {found['path']} is open in another program: {who}. DuckDB lets one "
        "program at a time write a database file. Let it finish (or close it) and rerun; sync, push, "
        "merge and prune wait for it with --wait (up to LHT_WAREHOUSE_WAIT_SECONDS).",
        path=found["path"],
        pid=pid,
        holder=holder,
    )


def describe_process(pid: int | None, exe: str | None) -> str:
    """A process as a person recognises it: its command line (``dbt build ...``), else its executable."""
    argv: list[str] = []
    if pid is not None:
        try:
            argv = [
                a.decode(errors="replace")
                for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if a
            ]
        except OSError:
            argv = []
    if not argv:
        return exe or "another process"
    if len(argv) > 1 and Path(argv[0]).name.startswith("python") and not argv[1].startswith("-"):
        argv = argv[
            1:
        ]  # a console script run by its interpreter: `dbt build`, not `python3.11 .../dbt build`
    argv[0] = Path(argv[0]).name
    text = shlex.join(argv)
    return text if len(text) <= _HOLDER_CHARS else text[: _HOLDER_CHARS - 3] + "..."


def disk_full(
    exc: BaseException, path: Path | None, temp_dir: str | None, what: str
) -> DiskFullError | None:
    """The :class:`DiskFullError` for a DuckDB write that found no room; else None.

    ``path`` is the database file, ``temp_dir`` DuckDB's temporary directory (where it spills).
    """
    text = str(exc)
    reason = no_room(exc)
    if reason:
        named = _WRITE_PATH.search(text)
        return DiskFullError.at(named["path"] if named else (path or "the database"), what, reason)
    if any(marker in text for marker in _TEMP_FULL):
        where = temp_dir or (f"{path}.tmp" if path else "DuckDB's temporary directory")
        return DiskFullError.at(
            where,
            f"{what} (DuckDB spilling to its temporary directory)",
            "no room left for its temporary files",
        )
    return None


def wait_for_release(
    busy: WarehouseBusyError, timeout: float, tick: Callable[[float], None] | None = None
) -> bool:
    """Wait until the file of ``busy`` can be opened again; False if ``timeout`` seconds pass first.

    Tries a read-only open every :data:`POLL_SECONDS` (closed at once), so a holder that
    closes the file while it keeps running counts as gone, and a reused PID does not
    matter. ``tick(seconds waited)`` is called between tries (progress).
    """
    import duckdb

    started = time.monotonic()
    while True:
        try:
            duckdb.connect(busy.path, read_only=True).close()
            logger.info("%s is free again after %.0f s", busy.path, time.monotonic() - started)
            return True
        except duckdb.IOException as exc:
            if not _LOCK_CONFLICT.search(str(exc)):
                return True  # no longer a lock conflict: let the command meet the real error
        waited = time.monotonic() - started
        if waited >= timeout:
            return False
        if tick is not None:
            tick(waited)
        time.sleep(min(POLL_SECONDS, max(0.0, timeout - waited)))
