"""The warehouse connection: DuckDB or Snowflake, from the dbt profile's target.

One small interface (:class:`Warehouse`) hides the two engines' differences: identifier
case (Snowflake stores API names upper-cased, see ``docs/design.md``), bind parameters
(``?`` on both), transactions and thread use. :func:`connect` opens one from a
:class:`~lht.warehouse.target.Target` (see :func:`lht.warehouse.target.load_target`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from lht.errors import (
    ConfigError,
    DiskFullError,
    LhtError,
    WarehouseError,
    WarehouseMissingError,
    no_room,
)
from lht.lazy import pa
from lht.names import check_identifier, table_name
from lht.warehouse.duckfile import disk_full, open_database
from lht.warehouse.target import Target, load_target

__all__ = ["Target", "Warehouse", "connect", "load_target"]

logger = logging.getLogger(__name__)

#: The compression methods the loader's DuckDB connection turns off, by
#: ``Settings.duckdb_text_compression`` (``LHT_DUCKDB_TEXT_COMPRESSION``). ``none`` (default):
#: staging text is stored as it is (numbers stay compressed). DuckDB's dictionary and FSST
#: analysis takes about a fifth of a large load's time and makes the text about five times
#: smaller: staging is a landing zone that ``lht prune`` trims, and the main tables, which
#: dbt writes on its own connection, stay compressed. ``auto``: DuckDB's default, for a
#: smaller file at a slower load.
TEXT_COMPRESSION = {"none": "dict_fsst,fsst,dictionary", "auto": ""}


class Warehouse:
    """An open warehouse connection (base class; see :func:`connect`)."""

    kind: str = ""

    def __init__(self, target: Target, staging_schema: str, database: str | None) -> None:
        self.target = target
        #: the run's settings (the writer's load files, the run lock's TTL)
        self.settings = target.settings
        self.staging_schema = check_identifier(staging_schema, "staging schema")
        self.database = database
        self._depth = 0
        #: Writer caches for this connection: known columns per staging table, and the
        #: objects whose stored batch ids were already read.
        self.column_cache: dict[str, set[str]] = {}
        #: Column types per staging table (``lht.warehouse.retype`` shapes).
        self.type_cache: dict[str, dict[str, str]] = {}
        self.batch_floor_checked: set[str] = set()

    # -- names ---------------------------------------------------------------------------
    def column_name(self, api_name: str) -> str:
        """The stored column name for an API name (as is on DuckDB, upper-cased on Snowflake)."""
        return api_name

    def quote(self, ident: str) -> str:
        """``ident`` as a quoted identifier, in the case the engine stores it."""
        return '"' + self.column_name(ident).replace('"', '""') + '"'

    def table(self, name: str, schema: str | None = None) -> str:
        """Fully qualified, quoted name of table ``name`` (default schema: staging)."""
        return f"{self.quote(schema or self.staging_schema)}.{self.quote(name)}"

    def staging_table(self, object_name: str) -> str:
        """Qualified name of an object's staging table (lower-cased API name)."""
        return self.table(table_name(object_name))

    # -- statements ----------------------------------------------------------------------
    @contextmanager
    def _refusals(self, sql: str) -> Iterator[None]:
        """The engine's own errors inside the block, as WarehouseError naming the statement."""
        try:
            yield
        except LhtError:
            raise
        except Exception as exc:  # each engine's own error hierarchy
            if not self._is_engine_error(exc):
                raise
            raise self.engine_error(exc, sql) from exc

    def engine_error(self, exc: Exception, sql: str) -> LhtError:
        """The typed error for an engine's refusal of ``sql``: disk full, else a refusal."""
        verb = " ".join(sql.split()[:2]).upper()
        return self.no_room_error(exc, f"Writing the warehouse ({verb})") or WarehouseError(
            f"{self.kind} refused a {verb} statement: {exc}"
        )

    def no_room_error(self, exc: BaseException, what: str) -> DiskFullError | None:
        """A :class:`DiskFullError` if ``exc`` is a write that found no room on this engine's disk."""
        return None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Run one statement with ``?`` bind parameters; return its rows ([] when none)."""
        with self._refusals(sql):
            return self._execute(sql, params)

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table (column names as the engine gives them)."""
        with self._refusals(sql):
            return self._fetch_arrow(sql, params)

    def stream_arrow(
        self, sql: str, params: Sequence[Any] | None = None, batch_rows: int = 50_000
    ) -> Iterator[pa.RecordBatch]:
        """Run a query and yield its result in Arrow batches (memory stays flat).

        The query runs on a cursor of its own, so statements issued while it streams
        (result rows written through the writer) do not cut it short.
        """
        with self._refusals(sql):
            yield from self._stream_arrow(sql, params, batch_rows)

    def _stream_arrow(
        self, sql: str, params: Sequence[Any] | None, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def ensure_schema(self, schema: str | None = None) -> None:
        """Create ``schema`` (default: staging) if missing."""
        self.execute(
            f"CREATE SCHEMA IF NOT EXISTS {self._schema_ref(schema or self.staging_schema)}"
        )

    def columns(self, table: str, schema: str | None = None) -> dict[str, str]:
        """``{lower-case column name: sql type}`` of a table; ``{}`` if it does not exist."""
        rows = self._columns(
            self.column_name(table), self.column_name(schema or self.staging_schema)
        )
        return {str(n).lower(): str(t) for n, t in rows}

    def table_names(self, schemas: Sequence[str]) -> set[tuple[str, str]]:
        """``{(lower-case schema, lower-case table)}`` of the tables in ``schemas``, in one query."""
        rows = self._tables([self.column_name(s) for s in schemas])
        return {(str(s).lower(), str(t).lower()) for s, t in rows}

    def _tables(self, schemas: Sequence[str]) -> list[tuple]:
        raise NotImplementedError

    def session_guard(self) -> AbstractContextManager[Any]:
        """Held while a statement or transaction uses a session shared between threads."""
        return nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK on error. A nested call joins the outer transaction."""
        with self.session_guard():
            yield from self._transaction()

    def _transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            try:
                self.execute("ROLLBACK")
            except WarehouseError as exc:  # keep the original error
                logger.warning("ROLLBACK failed: %s", exc)
            raise
        self._depth = 0
        self.execute("COMMIT")

    # -- engine hooks --------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] | None) -> list[tuple]:
        raise NotImplementedError

    def _fetch_arrow(self, sql: str, params: Sequence[Any] | None) -> pa.Table:
        raise NotImplementedError

    def _is_engine_error(self, exc: Exception) -> bool:
        raise NotImplementedError

    def _schema_ref(self, schema: str) -> str:
        return self.quote(schema)

    def _columns(self, table: str, schema: str) -> list[tuple]:
        raise NotImplementedError

    def cursor_for_thread(self) -> Warehouse:
        """A warehouse view usable from another thread (its own session/transaction)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBWarehouse(Warehouse):
    """A DuckDB database file (or ``:memory:``)."""

    kind = "duckdb"

    def __init__(
        self, target: Target, staging_schema: str, con: Any, temp_dir: str | None = None
    ) -> None:
        super().__init__(target, staging_schema, target.database)
        self.con = con
        #: Where DuckDB spills (``temp_directory``), for the disk-full message.
        self.temp_dir = temp_dir

    def no_room_error(self, exc: BaseException, what: str) -> DiskFullError | None:
        return disk_full(exc, self.target.path, self.temp_dir, what)

    def _execute(self, sql: str, params: Sequence[Any] | None) -> list[tuple]:
        cur = self.con.execute(sql, list(params) if params is not None else None)
        return cur.fetchall() if cur.description else []

    def _fetch_arrow(self, sql: str, params: Sequence[Any] | None) -> pa.Table:
        return self.con.sql(
            sql, params=list(params) if params is not None else None
        ).to_arrow_table()

    def _stream_arrow(
        self, sql: str, params: Sequence[Any] | None, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        cursor = self.con.cursor()
        try:
            reader = cursor.sql(
                sql, params=list(params) if params is not None else None
            ).to_arrow_reader(batch_rows)
            yield from reader
        finally:
            cursor.close()

    def _is_engine_error(self, exc: Exception) -> bool:
        import duckdb

        return isinstance(exc, duckdb.Error)

    def _columns(self, table: str, schema: str) -> list[tuple]:
        return self.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND lower(table_schema) = lower(?) "
            "AND lower(table_name) = lower(?) ORDER BY ordinal_position",
            [schema, table],
        )

    def _tables(self, schemas: Sequence[str]) -> list[tuple]:
        return self.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            f"AND lower(table_schema) IN ({', '.join('lower(?)' for _ in schemas)})",
            list(schemas),
        )

    def cursor_for_thread(self) -> DuckDBWarehouse:
        return DuckDBWarehouse(self.target, self.staging_schema, self.con.cursor(), self.temp_dir)

    def close(self) -> None:
        self.con.close()


def duckdb_directory(target: Target) -> None:
    """Create the directory of the target's DuckDB file (nothing for ``:memory:``);
    ConfigError naming the profile's ``path`` when it cannot be created."""
    path = target.path
    if path is None or str(path) == ":memory:":
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = no_room(exc)
        if reason:
            raise DiskFullError.at(
                path.parent, "Creating the DuckDB database's folder", reason
            ) from None
        raise ConfigError(
            f"{target.profiles_file}: `path` of profile {target.profile!r}, target {target.name!r} is {path}, "
            f"in a directory that cannot be created ({exc.strerror}: {exc.filename}). Point `path` at a "
            "writable directory (the shipped profile reads it from LHT_DUCKDB_PATH)."
        ) from None


def connect(
    target: Target, staging_schema: str | None = None, *, read_only: bool = False
) -> Warehouse:
    """Open the warehouse of ``target``, with its settings (``target.settings``). Staging
    schema: the argument, else the settings' (``LHT_STAGING_SCHEMA``, default
    ``salesforce_staging``).

    ``read_only`` (commands that only read; see :mod:`lht.warehouse.reader`): a DuckDB file
    is opened read-only and never created (WarehouseMissingError when it does not exist,
    WarehouseBusyError while another process writes it); Snowflake is opened as usual.
    """
    settings = target.settings
    schema = check_identifier(staging_schema or settings.staging_schema, "staging schema")
    if target.kind == "duckdb":
        path = target.path or Path(":memory:")
        if read_only and not path.is_file():
            raise WarehouseMissingError(
                f"No warehouse at {path} yet (profile {target.profile!r}, target {target.name!r}): "
                "run `lht sync` first, from the directory you run dbt in."
            )
        if not read_only:
            duckdb_directory(target)
        limit, threads = settings.duckdb_memory_limit, settings.duckdb_threads
        con = open_database(
            path,
            {"memory_limit": limit, "threads": threads},
            f"memory_limit {limit!r} from LHT_DUCKDB_MEMORY_LIMIT, threads {threads!r} "
            "from LHT_DUCKDB_THREADS",
            read_only=read_only,
        )
        wh = DuckDBWarehouse(target, schema, con)
        try:
            wh.execute(
                "SET disabled_compression_methods = ?",
                [TEXT_COMPRESSION[settings.duckdb_text_compression]],
            )
            wh.temp_dir = (
                str(wh.execute("SELECT current_setting('temp_directory')")[0][0] or "") or None
            )
        except BaseException:
            con.close()
            raise
        return wh
    if target.kind == "snowflake":
        from lht.warehouse.snowflake import connect_snowflake

        return connect_snowflake(target, schema)
    raise ConfigError(
        f"Unsupported warehouse kind {target.kind!r} ({target.where}): use duckdb or snowflake."
    )
