"""THE writer: the only code that writes Salesforce data into the warehouse.

:func:`write_batch` appends one Arrow batch to an object's staging table
(``<staging>.<lower(api name)>``), creating the table or adding columns first, and stamps
every row with ``_lht_batch_id``, ``_lht_extracted_at`` and ``_lht_kind`` (see
``docs/design.md``). A batch lands whole or not at all; the batches of an
:func:`append_session` land together. On Snowflake the loading itself is
:mod:`lht.warehouse.snowflake_load`, which only this module calls. The same function
writes the loader's own result tables (``lht push``'s ``_lht_push_results``, kind
``push_result``; ``lht merge``'s ``_lht_merge_results``, kind ``merge_result``) and the run
history (``_lht_runs``, kind ``run``). :func:`insert_rows` writes a handful of rows of one of
the loader's own tables whose columns exist in ONE statement (a run's history at its end:
on Snowflake a load would cost a stage, a PUT and a COPY).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from lht.clock import as_utc, utcnow
from lht.constants import (
    BATCH_ID_COLUMN,
    EXTRACTED_AT_COLUMN,
    KIND_COLUMN,
    KIND_DELETED,
    KIND_FIELDS,
    KIND_FILTERED,
    KIND_FORMULA,
    KIND_MERGE_RESULT,
    KIND_PUSH_RESULT,
    KIND_RECORD,
    KIND_RUN,
    WRITER_TABLES,
)
from lht.errors import InvalidNameError, WarehouseError
from lht.lazy import pa
from lht.names import check_identifier, check_object_name
from lht.typemap import FieldSpec, arrow_type, sql_type, timestamp_sql_type, timestamp_type
from lht.warehouse import snowflake_load
from lht.warehouse.connection import Warehouse
from lht.warehouse.retype import stored_fields

logger = logging.getLogger(__name__)

KINDS = (
    KIND_RECORD,
    KIND_DELETED,
    KIND_FORMULA,
    KIND_FIELDS,
    KIND_FILTERED,
    KIND_PUSH_RESULT,
    KIND_MERGE_RESULT,
    KIND_RUN,
)
_BATCH_FORMAT = "%Y%m%dT%H%M%S%fZ"

_id_lock = threading.Lock()
_last_batch_time: datetime | None = None
_ddl_lock = threading.Lock()


@dataclass(frozen=True)
class WriteResult:
    """What one :func:`write_batch` call wrote (``batch_id`` is ``""`` for an empty batch)."""

    object_name: str
    table: str
    batch_id: str
    rows: int


def new_batch_id(floor: str | None = None) -> str:
    """A batch id ``YYYYMMDDTHHMMSSffffffZ-<8 hex>`` later than every id this process issued.

    ``floor`` (an id already stored) is also exceeded, so a clock that went back does not
    produce an id the models would skip.
    """
    global _last_batch_time
    with _id_lock:
        now = utcnow().replace(tzinfo=None)
        if floor:
            try:
                now = max(
                    now,
                    datetime.strptime(floor.split("-")[0], _BATCH_FORMAT)
                    + timedelta(microseconds=1),
                )
            except ValueError:
                logger.warning("Ignoring a malformed stored batch id %r", floor)
        if _last_batch_time is not None and now <= _last_batch_time:
            now = _last_batch_time + timedelta(microseconds=1)
        _last_batch_time = now
        return f"{now.strftime(_BATCH_FORMAT)}-{secrets.token_hex(4)}"


def _table_of(wh: Warehouse, name: str) -> str:
    """The staging table written for ``name``: an object's, or one of the loader's own."""
    if name in WRITER_TABLES:
        return wh.table(name)
    return wh.staging_table(name)


def _metadata_fields(wh: Warehouse) -> list[tuple[str, str]]:
    return [
        (BATCH_ID_COLUMN, "VARCHAR"),
        (EXTRACTED_AT_COLUMN, timestamp_sql_type(wh.kind)),  # type: ignore[arg-type]
        (KIND_COLUMN, "VARCHAR"),
    ]


def ensure_table(wh: Warehouse, object_name: str, fields: Sequence[FieldSpec]) -> str:
    """Create the staging table of ``object_name`` or add the columns it lacks; return its name.

    Columns are never dropped here; a field whose type changed is retyped by
    :func:`lht.warehouse.retype.stored_fields`. Known columns are cached on ``wh``.
    """
    table = _table_of(wh, object_name)
    name = object_name.lower()
    wanted = [(f.name, sql_type(f, wh.kind)) for f in fields if f.loadable]  # type: ignore[arg-type]
    wanted += _metadata_fields(wh)
    cache = wh.column_cache
    with _ddl_lock:
        known = cache.get(name)
        if known is None:
            known = set(wh.columns(name))
        if not known:
            wh.ensure_schema()
            cols = ", ".join(f"{wh.quote(c)} {t}" for c, t in wanted)
            _ddl(wh, table, "CREATE TABLE", f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
            known = set(wh.columns(name))  # another process may have created it first
            logger.info("Created staging table %s with %d columns", table, len(wanted))
        missing = [(c, t) for c, t in wanted if c.lower() not in known]
        if missing:
            for c, t in missing:
                _ddl(
                    wh,
                    table,
                    "ALTER TABLE ADD COLUMN",
                    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {wh.quote(c)} {t}",
                )
            logger.info("Added columns %s to %s", ", ".join(c for c, _ in missing), table)
        if missing or not known:
            wh.type_cache.pop(name, None)
        cache[name] = known | {c.lower() for c, _ in wanted}
    return table


def _ddl(wh: Warehouse, table: str, verb: str, sql: str) -> None:
    try:
        wh.execute(sql)
    except WarehouseError as exc:
        raise WarehouseError(f"{verb} on {table} failed: {exc}") from exc


def _align(data: pa.Table, fields: Sequence[FieldSpec], object_name: str) -> pa.Table:
    """``data``'s columns renamed to the fields' canonical names and cast to their Arrow types."""
    by_lower = {f.name.lower(): f for f in fields if f.loadable}
    arrays, names = [], []
    for col in data.column_names:
        f = by_lower.get(col.lower())
        if f is None:
            raise InvalidNameError(
                f"Column {col!r} of the {object_name} batch is not among its loadable fields: "
                "pass its FieldSpec (from describe) or drop the column."
            )
        column, wanted = data.column(col), arrow_type(f)
        try:
            arrays.append(column if column.type == wanted else column.cast(wanted))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WarehouseError(
                f"Field {object_name}.{f.name} cannot be stored as {arrow_type(f)}: {exc}; nothing was written."
            ) from exc
        names.append(f.name)
    if len({n.lower() for n in names}) != len(names):
        raise InvalidNameError(
            f"The {object_name} batch names a column twice (ignoring case): {names}"
        )
    return pa.Table.from_arrays(arrays, names=names)


def write_batch(
    wh: Warehouse,
    object_name: str,
    data: pa.Table | pa.RecordBatch,
    fields: Sequence[FieldSpec],
    *,
    kind: str = KIND_RECORD,
    extracted_at: datetime,
) -> WriteResult:
    """Append ``data`` to ``object_name``'s staging table as one all-or-nothing batch.

    ``fields`` types the table (new fields add columns); every column of ``data`` must be
    one of them, and fields missing from ``data`` are NULL. ``kind`` is ``record``,
    ``deleted`` or ``formula`` (``push_result`` for ``_lht_push_results``); ``extracted_at`` is when the extract started (UTC).
    """
    if object_name not in WRITER_TABLES:
        check_object_name(object_name)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if extracted_at.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware (UTC)")
    for f in fields:
        check_identifier(f.name, f"field name of {object_name}")
    table_data = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    _align(table_data.slice(0, 0), fields, object_name)  # names checked even for an empty batch
    table = _table_of(wh, object_name)
    if table_data.num_rows == 0:
        return WriteResult(object_name, table, "", 0)

    ensure_table(wh, object_name, fields)
    # a field whose type changed is cast to its (retyped) staging column's type
    aligned = _align(table_data, stored_fields(wh, object_name, fields), object_name)
    batch_id = new_batch_id(_stored_floor(wh, object_name, table))
    n = aligned.num_rows
    stamped = aligned.append_column(BATCH_ID_COLUMN, pa.repeat(pa.scalar(batch_id, pa.string()), n))
    stamped = stamped.append_column(
        EXTRACTED_AT_COLUMN, pa.repeat(pa.scalar(as_utc(extracted_at), timestamp_type()), n)
    )
    stamped = stamped.append_column(KIND_COLUMN, pa.repeat(pa.scalar(kind, pa.string()), n))
    if wh.kind == "snowflake":
        snowflake_load.append(wh, object_name, table, stamped)
    else:
        _append_duckdb(wh, table, stamped)
    logger.debug("Wrote %d %s rows to %s as batch %s", n, kind, table, batch_id)
    return WriteResult(object_name, table, batch_id, n)


def insert_rows(
    wh: Warehouse,
    name: str,
    fields: Sequence[FieldSpec],
    rows: Sequence[Sequence[object]],
    *,
    kind: str,
    extracted_at: datetime,
    newest_batch: str | None,
) -> WriteResult:
    """Append ``rows`` (Python values in ``fields``' order) to the loader's own table ``name``
    as one batch, in one INSERT with bind parameters, stamped as :func:`write_batch` stamps
    (datetimes to the millisecond, as Arrow stores them). ``newest_batch`` is the largest
    batch id the table holds, read by the caller. The table and its columns must exist:
    otherwise WarehouseError and nothing is written (:func:`write_batch` then creates them).
    """
    if name not in WRITER_TABLES:
        raise ValueError(
            f"insert_rows writes the loader's own tables ({', '.join(WRITER_TABLES)}), not {name!r}"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    table = _table_of(wh, name)
    if not rows:
        return WriteResult(name, table, "", 0)
    ts = timestamp_sql_type(wh.kind)  # type: ignore[arg-type]

    def bind(value: object) -> object:
        if isinstance(value, datetime):
            stamp = as_utc(value)
            return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000).isoformat(sep=" ")
        return value

    stamps = [f.sf_type == "datetime" for f in fields]
    batch_id = new_batch_id(newest_batch)
    marks = ", ".join(
        [*(f"CAST(? AS {ts})" if s else "?" for s in stamps), "?", f"CAST(? AS {ts})", "?"]
    )
    cols = ", ".join(
        wh.quote(c)
        for c in [*(f.name for f in fields), BATCH_ID_COLUMN, EXTRACTED_AT_COLUMN, KIND_COLUMN]
    )
    values = [
        v for row in rows for v in [*(bind(x) for x in row), batch_id, bind(extracted_at), kind]
    ]
    wh.execute(
        f"INSERT INTO {table} ({cols}) VALUES " + ", ".join(f"({marks})" for _ in rows), values
    )
    logger.debug("Wrote %d %s rows to %s as batch %s", len(rows), kind, table, batch_id)
    return WriteResult(name, table, batch_id, len(rows))


@contextmanager
def append_session(wh: Warehouse) -> Iterator[None]:
    """Group the :func:`write_batch` calls of one extract into one load: together or not at all.

    DuckDB: one transaction. DuckDB writes a transaction's appends straight into compressed
    row groups of the database file once they fill one, instead of logging every batch to
    the WAL and compressing it again at each checkpoint: several times faster for large
    extracts, with memory bounded by DuckDB's ``memory_limit``. Snowflake: the batches go
    to Parquet files on disk, PUT to a stage while the extract goes on, and one ``COPY
    INTO`` per table loads them when the session ends (:mod:`lht.warehouse.snowflake_load`).
    Outside a session each batch is its own load. State is saved after the session.
    """
    if wh.kind == "snowflake":
        with snowflake_load.load_session(wh):
            yield
        return
    if wh.kind != "duckdb":
        yield
        return
    with wh.transaction():
        yield


def _stored_floor(wh: Warehouse, object_name: str, table: str) -> str | None:
    """The largest batch id already in the table, read once per object and connection."""
    key = object_name.lower()
    if key in wh.batch_floor_checked:
        return None
    rows = wh.execute(f"SELECT max({wh.quote(BATCH_ID_COLUMN)}) FROM {table}")
    wh.batch_floor_checked.add(key)
    return rows[0][0] if rows and rows[0][0] else None


def _append_duckdb(wh: Warehouse, table: str, data: pa.Table) -> None:
    import duckdb

    cols = ", ".join(wh.quote(c) for c in data.column_names)
    con = wh.con  # type: ignore[attr-defined]
    lht_arrow_batch = data  # read by name by the INSERT below (a DuckDB replacement scan)
    try:
        with wh.transaction():
            # One statement per batch, reading the Arrow table in place: no view to create
            # and drop, and nothing kept alive after the statement.
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM lht_arrow_batch")
    except (WarehouseError, duckdb.Error) as exc:
        full = wh.no_room_error(exc, f"Writing a batch into {table}")
        if full is not None:
            raise full from exc
        raise WarehouseError(f"INSERT into {table} failed, nothing was written: {exc}") from exc
    finally:
        del lht_arrow_batch  # a traceback of the error above must not keep the batch alive
