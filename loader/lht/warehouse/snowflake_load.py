"""Snowflake loads for the writer: one extract's batches as Parquet files, one ``COPY INTO``.

:func:`load_session` (entered by :func:`lht.warehouse.writer.append_session`) collects the
batches :func:`append` receives into Parquet files on local disk, written straight from
Arrow (no pandas). A file rolled at ``Settings.snowflake_file_mb`` (``LHT_SNOWFLAKE_FILE_MB``,
64 MB) is
``PUT`` to the stage on a background thread while the extract goes on (PUT's own
``PARALLEL`` threads, ``AUTO_COMPRESS = FALSE``: Parquet is compressed already). When the
session ends without error, one ``COPY INTO`` per staging table loads every file of the
session (``MATCH_BY_COLUMN_NAME``, ``PURGE = TRUE``); a COPY is one statement, so the
extract lands whole or not at all. Statements per extract: one PUT per file, one COPY;
once per Snowflake session (a run), at its first batch: ``CREATE SCHEMA``/``CREATE STAGE IF NOT EXISTS`` and
one ``LIST`` of the stage (cleanup).

Memory: the connector's PUT reads a file whole into memory before sending it (always on
GCS accounts, and below its 64 MB multipart threshold on AWS and Azure), so the file size
bounds what an upload adds. And the Arrow pool's freed memory is handed back to the system
every :data:`RELEASE_MB` of batches and before each PUT: otherwise the allocator keeps what
the Parquet writer churned through. With glibc's (pyarrow's pool in any process started by
one that imported snowflake-connector-python, which sets ``ARROW_DEFAULT_MEMORY_POOL=system``
in its environment) RSS grew with the rows, about 180 MB over a 1M-row extract.

Local files live in a private folder per load, removed when it ends (:mod:`lht.warehouse.loadfiles`).

Files live under ``@<staging>.LHT_LOAD/<object>/<load id>/``, the load id being
``<UTC time>-<host hash>-<pid>-<random>``. A failed session removes its prefix; a killed
one leaves it, and the next run's first session removes the prefixes of loads whose
process is gone (same host) or that are older than the run lock's TTL
(``Settings.lock_ttl_seconds``; another host).
A named stage, not a temporary one: a temporary stage outlives a killed client for as
long as its Snowflake session (hours) and cannot be seen by the next run, while a named
stage's leftovers are listed and removed by that run.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import weakref
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lht.clock import utcnow
from lht.config import Settings
from lht.errors import WarehouseError
from lht.lazy import pa, pq
from lht.warehouse.connection import Warehouse
from lht.warehouse.loadfiles import local_error, new_folder, open_parquet, pid_alive

logger = logging.getLogger(__name__)

#: The stage of the loader's files, in the staging schema.
STAGE_NAME = "LHT_LOAD"
#: Why a Parquet file is closed and PUT at 64 MB (settings.snowflake_file_mb). Snowflake
#: advises files of about 100-250 MB compressed so that a COPY's per-file overhead stays
#: small; the connector's PUT holds a file whole in memory on GCS accounts (and below 64 MB
#: on AWS and Azure), so 64 MB files keep that cost bounded, at the price of twice the
#: files (a COPY loads them in parallel, one per warehouse thread).
#: Batches (Arrow bytes) written between two releases of the Arrow pool's unused memory.
RELEASE_MB = 16
#: PUT's PARALLEL: threads uploading the chunks of one file.
PUT_PARALLEL = 4
#: Files closed but not yet PUT before the extract waits for the uploads (disk, not memory).
MAX_PENDING_PUTS = 2

_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_HOST = format(zlib.crc32(socket.gethostname().encode()), "08x")

_registry_lock = threading.Lock()
_active: weakref.WeakKeyDictionary[Warehouse, SnowflakeLoad] = weakref.WeakKeyDictionary()
_live_loads: set[str] = set()
_prepare_lock = threading.Lock()
_prepared: weakref.WeakKeyDictionary[object, bool] = weakref.WeakKeyDictionary()


def file_bytes(settings: Settings) -> int:
    """The roll size of a Parquet file in bytes (``LHT_SNOWFLAKE_FILE_MB``)."""
    return max(int(settings.snowflake_file_mb * 2**20), 1)


def stage_ref(wh: Warehouse) -> str:
    """``@"DB"."STAGING"."LHT_LOAD"``: the loader's stage, quoted."""
    return "@" + wh.table(STAGE_NAME)


def _new_load_id() -> str:
    now = utcnow()
    return f"{now.strftime(_TIME_FORMAT)}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"


def is_abandoned(load_id: str, ttl_seconds: float, now: datetime | None = None) -> bool | None:
    """True if the load ``load_id`` can no longer be running (its process is gone, or it is
    older than ``ttl_seconds``); None for a name lht did not make."""
    parts = load_id.split("-")
    if len(parts) != 4:
        return None
    stamp, host, pid_text, _ = parts
    try:
        started = datetime.strptime(stamp, _TIME_FORMAT).replace(tzinfo=timezone.utc)
        pid = int(pid_text)
    except ValueError:
        return None
    now = now or utcnow()
    if now - started > timedelta(seconds=ttl_seconds):
        return True
    if host != _HOST:
        return False
    if pid == os.getpid():
        with _registry_lock:
            return load_id not in _live_loads
    return not pid_alive(pid)


def release_unused_memory() -> None:
    """Hand the Arrow pool's freed memory back to the system (glibc, jemalloc or mimalloc)."""
    pa.default_memory_pool().release_unused()


@dataclass
class _TableFiles:
    """The files of one staging table within a load."""

    object_name: str
    table: str
    rows: int = 0
    files: int = 0
    writer: pq.ParquetWriter | None = None
    sink: pa.NativeFile | None = None
    path: Path | None = None
    schema: pa.Schema | None = None
    staged: bool = False


class SnowflakeLoad:
    """The files of one load session and their uploads (used through :func:`load_session`)."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.load_id = _new_load_id()
        self.limit = file_bytes(wh.settings)
        self.dir = new_folder()
        self.unreleased = 0
        self.tables: dict[str, _TableFiles] = {}
        self.uploads: list[Future] = []
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lht-put")
        with _registry_lock:
            _live_loads.add(self.load_id)

    def location(self, object_name: str) -> str:
        """The stage prefix of this load's files for ``object_name``."""
        return f"{stage_ref(self.wh)}/{object_name.lower()}/{self.load_id}/"

    # -- writing -------------------------------------------------------------------------
    def add(self, object_name: str, table: str, data: pa.Table) -> None:
        """Append ``data`` (stamped, engine column names) to the table's current file."""
        self._raise_failed_uploads()
        _prepare(self.wh)  # at the first batch: a session that writes nothing sends nothing
        files = self.tables.get(table)
        if files is None:
            files = self.tables[table] = _TableFiles(object_name, table)
        if files.writer is not None and files.schema != data.schema:
            self._roll(files)
        if files.writer is None:
            files.files += 1
            files.path = self.dir / f"{object_name.lower()}-{files.files:05d}.parquet"
            files.sink, files.writer = open_parquet(files.path, data.schema)
            files.schema = data.schema
        assert files.path is not None  # set with the writer
        try:
            files.writer.write_table(data)
        except OSError as exc:
            raise local_error(exc, files.path, f"Writing the load file of {table}") from exc
        files.rows += data.num_rows
        self.unreleased += data.nbytes
        if self.unreleased >= RELEASE_MB * 2**20:
            self.unreleased = 0
            release_unused_memory()
        if files.sink is not None and files.sink.tell() >= self.limit:
            self._roll(files)

    def _roll(self, files: _TableFiles) -> None:
        """Close the table's open file and PUT it in the background."""
        assert files.writer is not None and files.sink is not None and files.path is not None
        try:
            files.writer.close()
            files.sink.close()
        except OSError as exc:
            raise local_error(exc, files.path, f"Writing the load file of {files.table}") from exc
        release_unused_memory()  # before the PUT reads the file into memory
        path, files.writer, files.sink, files.path, files.schema = (
            files.path,
            None,
            None,
            None,
            None,
        )
        while True:
            waiting = [f for f in self.uploads if not f.done()]
            if len(waiting) < MAX_PENDING_PUTS:
                break
            waiting[0].result()
        files.staged = True
        self.uploads.append(self.pool.submit(self._put, path, self.location(files.object_name)))

    def _put(self, path: Path, location: str) -> None:
        local = str(path).replace("\\", "\\\\").replace("'", "\\'")
        sql = (
            f"PUT 'file://{local}' {location} PARALLEL = {PUT_PARALLEL} AUTO_COMPRESS = FALSE "
            "SOURCE_COMPRESSION = NONE OVERWRITE = TRUE"
        )
        rows = self.wh.execute(sql)
        status = {str(r[6]).upper() for r in rows if len(r) > 6}
        if not rows or not status <= {"UPLOADED", "SKIPPED"}:
            raise WarehouseError(f"PUT of {path.name} to {location} did not upload it: {rows}")
        path.unlink()

    def _raise_failed_uploads(self) -> None:
        for future in self.uploads:
            if future.done() and future.exception() is not None:
                raise WarehouseError(
                    f"Uploading a load file failed, nothing was written: {future.exception()}"
                )

    # -- ending --------------------------------------------------------------------------
    def commit(self) -> None:
        """PUT the open files, wait for every upload, then COPY each table's files (all or nothing)."""
        for files in self.tables.values():
            if files.writer is not None:
                self._roll(files)
        for future in self.uploads:
            try:
                future.result()
            except WarehouseError as exc:
                raise WarehouseError(
                    f"Uploading a load file failed, nothing was written: {exc}"
                ) from exc
        loads = [f for f in self.tables.values() if f.rows]
        if len(loads) > 1:
            with self.wh.transaction():
                for files in loads:
                    self._copy(files)
        elif loads:
            self._copy(loads[0])

    def _copy(self, files: _TableFiles) -> None:
        sql = (
            f"COPY INTO {files.table} FROM {self.location(files.object_name)} "
            "FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE) "
            "MATCH_BY_COLUMN_NAME = CASE_SENSITIVE ON_ERROR = ABORT_STATEMENT PURGE = TRUE"
        )
        try:
            rows = self.wh.execute(sql)
        except WarehouseError as exc:
            raise WarehouseError(
                f"COPY INTO {files.table} failed, nothing was written: {exc}"
            ) from exc
        loaded = sum(int(r[3] or 0) for r in rows if len(r) > 3)
        if loaded != files.rows:
            raise WarehouseError(
                f"COPY INTO {files.table} loaded {loaded} of {files.rows} rows: {rows}"
            )
        files.staged = False  # PURGE removed the files
        logger.debug("Loaded %d rows from %d file(s) into %s", loaded, files.files, files.table)

    def discard(self) -> None:
        """Drop what this load staged: pending uploads are waited for, then the prefix removed."""
        for future in self.uploads:
            future.cancel()
        self.pool.shutdown(wait=True)
        for files in self.tables.values():
            for closing in (files.writer, files.sink):
                try:
                    if closing is not None:
                        closing.close()
                except OSError as exc:  # the file is deleted with the folder: keep the first error
                    logger.debug("Closing a discarded load file failed: %s", exc)
            if files.staged:
                try:
                    self.wh.execute(f"REMOVE {self.location(files.object_name)}")
                except WarehouseError as exc:
                    logger.warning(
                        "Could not remove the staged files of a failed load (the next run will): %s",
                        exc,
                    )

    def close(self) -> None:
        """Stop the upload thread and delete the local files."""
        self.pool.shutdown(wait=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        with _registry_lock:
            _live_loads.discard(self.load_id)


def _prepare(wh: Warehouse) -> None:
    """Once per Snowflake session: create the stage, then remove abandoned loads' files."""
    conn = getattr(wh, "conn", wh)
    with _prepare_lock:  # other threads of the session wait until the stage exists
        if conn in _prepared:
            return
        wh.ensure_schema()
        wh.execute(f"CREATE STAGE IF NOT EXISTS {wh.table(STAGE_NAME)}")
        remove_abandoned(wh)
        _prepared[conn] = True


def remove_abandoned(wh: Warehouse) -> int:
    """Remove the staged files of abandoned loads (any object); return how many loads."""
    stage = stage_ref(wh)
    loads: set[tuple[str, str]] = set()
    for row in wh.execute(f"LIST {stage}/"):
        parts = str(row[0]).split("/")  # lht_load/<object>/<load id>/<file>
        if len(parts) >= 4:
            loads.add((parts[-3], parts[-2]))
    removed = 0
    for object_dir, load_id in sorted(loads):
        verdict = is_abandoned(load_id, wh.settings.lock_ttl_seconds)
        if verdict is None:
            logger.warning(
                "Leaving %s/%s/%s/ alone: lht did not name it", stage, object_dir, load_id
            )
        elif verdict:
            wh.execute(f"REMOVE {stage}/{object_dir}/{load_id}/")
            removed += 1
            logger.info(
                "Removed the staged files of an abandoned load %s/%s/%s/",
                stage,
                object_dir,
                load_id,
            )
    return removed


@contextmanager
def load_session(wh: Warehouse) -> Iterator[None]:
    """Collect the session's batches and load them at its end (a nested session joins the outer)."""
    with _registry_lock:
        outer = _active.get(wh)
    if outer is not None:
        yield
        return
    load = SnowflakeLoad(wh)
    with _registry_lock:
        _active[wh] = load
    try:
        yield
        load.commit()
    except BaseException:
        load.discard()
        raise
    finally:
        with _registry_lock:
            _active.pop(wh, None)
        load.close()


def append(wh: Warehouse, object_name: str, table: str, data: pa.Table) -> None:
    """Add ``data`` to the open load session of ``wh``, or load it alone when none is open."""
    renamed = data.rename_columns([wh.column_name(c) for c in data.column_names])
    with _registry_lock:
        load = _active.get(wh)
    if load is not None:
        load.add(object_name, table, renamed)
        return
    with load_session(wh):
        append(wh, object_name, table, data)
