"""A Snowflake load's local files: one private folder per load, Parquet files written into it.

Load files hold staging rows (customer data), so they never live under a fixed shared path:
:func:`new_folder` creates ``lht-load-<pid>-<random>`` in the temporary directory with
``tempfile.mkdtemp`` (mode 0700, so no other user can list, read or swap what is inside) and
:func:`open_parquet` creates each file in it with mode 0600, refusing one already there or a
symlink. A folder is removed when its load ends; the folders of this user's runs that were
killed are removed by the next load, once their process is gone: only real directories the
user owns and lht named, never through a symlink. A write that finds no room raises
:class:`~lht.errors.DiskFullError`.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

from lht.errors import DiskFullError, LhtError, WarehouseError, no_room
from lht.lazy import pa, pq

logger = logging.getLogger(__name__)

#: Name of a load's folder in the temporary directory: ``lht-load-<pid>-<random>``.
PREFIX = "lht-load-"

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists on this host (whoever owns it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def new_folder() -> Path:
    """A private folder (0700) for one load's files, after removing those of dead runs."""
    root = Path(tempfile.gettempdir())
    remove_dead_folders(root)
    try:
        return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
    except OSError as exc:
        raise local_error(exc, root, "Creating the folder of the load files") from exc


def remove_dead_folders(root: Path) -> int:
    """Remove this user's load folders in ``root`` whose process no longer runs; how many."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        pid_text = entry.name[len(PREFIX) :].split("-")[0] if entry.name.startswith(PREFIX) else ""
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or pid_alive(int(pid_text)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
            continue  # a symlink, a file, or another user's: not ours to remove
        shutil.rmtree(entry.path, ignore_errors=True)  # does not follow symlinks inside
        removed += 1
        logger.info("Removed the local load files %s of a process that no longer runs", entry.path)
    return removed


def open_parquet(path: Path, schema: pa.Schema) -> tuple[pa.NativeFile, pq.ParquetWriter]:
    """Create ``path`` (mode 0600, not there before) and a snappy Parquet writer on it."""
    try:
        os.close(os.open(path, _NEW_FILE, 0o600))
        sink = pa.OSFile(str(path), "wb")
        return sink, pq.ParquetWriter(sink, schema, compression="snappy")
    except OSError as exc:
        raise local_error(exc, path, "Creating a load file") from exc


def local_error(exc: OSError, path: Path, what: str) -> LhtError:
    """A local file's error: :class:`DiskFullError` when the disk had no room."""
    reason = no_room(exc)
    if reason:
        return DiskFullError.at(path, what, reason)
    return WarehouseError(f"{what} failed at {path}: {exc}; nothing was loaded.")
