"""Loader state in the warehouse: one row per object in ``<staging>._lht_state``, and the
describe cache in ``<staging>._lht_describe`` (see ``docs/design.md``).

Objects are looked up case-insensitively (``Account`` finds ``ACCOUNT``); a save replaces
the object's row in one transaction.

A run reads every object's state and the describes it needs in one statement
(:meth:`StateStore.load`) and writes the states of the objects that wrote nothing in one
more (:meth:`StateStore.save_all`): on Snowflake each statement is a round trip.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from lht.clock import as_utc, utcnow
from lht.constants import BATCH_ID_COLUMN, BULK_JOBS_TABLE, DESCRIBE_TABLE, STATE_TABLE
from lht.names import check_object_name
from lht.typemap import timestamp_sql_type
from lht.warehouse.bulkjobs import OPEN
from lht.warehouse.connection import Warehouse

logger = logging.getLogger(__name__)


@dataclass
class ObjectState:
    """What lht remembers about one object between runs (times are UTC)."""

    object_name: str
    watermark_field: str | None = None
    watermark: datetime | None = None
    deleted_checked_until: datetime | None = None
    last_success_at: datetime | None = None
    last_full_refresh_at: datetime | None = None
    last_formula_refresh_at: datetime | None = None
    last_run_status: str | None = None
    last_run_engine: str | None = None
    last_run_rows: int | None = None
    last_run_api_calls: int | None = None
    #: the ``where`` filter of the last successful sync (None: no filter); a run whose filter
    #: differs re-reads what the new one admits (``lht.sync.objectsync``)
    where_filter: str | None = None

    def filter_changed(self, where: str | None) -> bool:
        """True when ``where`` (the object's filter now, stripped; None or empty: no filter)
        is not the filter of the last successful sync. A state saved before lht kept the
        filter holds None: a filtered object then re-reads once what its filter admits."""
        return self.last_success_at is not None and (where or None) != self.where_filter


@dataclass
class Loaded:
    """What :meth:`StateStore.load` read: every object's state and the cached describes
    asked for (keys: lower-case names), and the newest batch id of each table asked for
    (None when empty)."""

    states: dict[str, ObjectState] = field(default_factory=dict)
    describes: dict[str, tuple[datetime, dict]] = field(default_factory=dict)
    newest_batch: dict[str, str | None] = field(default_factory=dict)
    open_bulk_jobs: set[str] = field(default_factory=set)


_TIME_COLUMNS = frozenset(
    {
        "watermark",
        "deleted_checked_until",
        "last_success_at",
        "last_full_refresh_at",
        "last_formula_refresh_at",
    }
)
_INT_COLUMNS = frozenset({"last_run_rows", "last_run_api_calls"})
_COLUMNS = [f.name for f in fields(ObjectState)]
#: columns added after the first release of the state table
_ADDED_COLUMNS = ("where_filter",)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _bind_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"State times must be timezone-aware (UTC), got {value!r}")
    return as_utc(value).isoformat(sep=" ", timespec="microseconds")


class StateStore:
    """Read and write ``_lht_state`` and ``_lht_describe`` (both created if missing, unless
    ``create`` is False: a reader on a read-only connection checks :meth:`exists` first)."""

    def __init__(self, wh: Warehouse, *, create: bool = True) -> None:
        self.wh = wh
        self.table = wh.table(STATE_TABLE)
        self.describe_table = wh.table(DESCRIBE_TABLE)
        self._ts = timestamp_sql_type(wh.kind)  # type: ignore[arg-type]
        self._present: frozenset[str] | None = None
        if create:
            self._create()

    def exists(self) -> tuple[bool, bool]:
        """Whether ``_lht_state`` and ``_lht_describe`` exist (a warehouse never synced has neither)."""
        return bool(self.wh.columns(STATE_TABLE)), bool(self.wh.columns(DESCRIBE_TABLE))

    def create(self) -> None:
        """Create ``_lht_state`` and ``_lht_describe`` if missing (and the staging schema)."""
        self._create()

    def _create(self) -> None:
        def sql_type(col: str) -> str:
            if col in _TIME_COLUMNS:
                return self._ts
            return "BIGINT" if col in _INT_COLUMNS else "VARCHAR"

        self.wh.ensure_schema()
        cols = ", ".join(f"{self.wh.quote(c)} {sql_type(c)}" for c in _COLUMNS)
        self.wh.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({cols})")
        for col in _ADDED_COLUMNS:  # a state table written before these columns existed
            self.wh.execute(
                f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {self.wh.quote(col)} {sql_type(col)}"
            )
        self._present = frozenset(_COLUMNS)
        q = self.wh.quote
        self.wh.execute(
            f"CREATE TABLE IF NOT EXISTS {self.describe_table} "
            f"({q('object_name')} VARCHAR, {q('fetched_at')} {self._ts}, {q('describe_json')} VARCHAR)"
        )

    def _select(self) -> str:
        present = self._present_columns()
        cols = (
            self.wh.quote(c) if c in present else f"NULL AS {self.wh.quote(c)}" for c in _COLUMNS
        )
        return "SELECT " + ", ".join(cols) + f" FROM {self.table}"

    def _present_columns(self) -> frozenset[str]:
        """The state table's columns: all of them once :meth:`_create` ran; a reader that
        creates nothing may meet a table written before a column was added."""
        if self._present is None:
            self._present = frozenset(self.wh.columns(STATE_TABLE))
        return self._present

    @staticmethod
    def _row(row: tuple) -> ObjectState:
        values = {}
        for col, value in zip(_COLUMNS, row, strict=True):
            if col in _TIME_COLUMNS:
                value = _utc(value)
            elif col in _INT_COLUMNS and value is not None:
                value = int(value)
            values[col] = value
        return ObjectState(**values)

    def get(self, object_name: str) -> ObjectState | None:
        """The state of ``object_name`` (any case), or None if it never ran."""
        rows = self.wh.execute(
            f"{self._select()} WHERE lower({self.wh.quote('object_name')}) = lower(?)",
            [object_name],
        )
        if len(rows) > 1:
            logger.warning(
                "%d state rows match %s; using the newest success", len(rows), object_name
            )
            rows.sort(
                key=lambda r: _utc(r[_COLUMNS.index("last_success_at")]) or as_utc(datetime.min)
            )
        return self._row(rows[-1]) if rows else None

    def all(self) -> list[ObjectState]:
        """Every object's state, ordered by name."""
        rows = self.wh.execute(f"{self._select()} ORDER BY lower({self.wh.quote('object_name')})")
        return [self._row(r) for r in rows]

    def save(self, state: ObjectState) -> None:
        """Replace the row of ``state.object_name`` (any case) atomically."""
        check_object_name(state.object_name)
        q = self.wh.quote
        marks = ", ".join(f"CAST(? AS {self._ts})" if c in _TIME_COLUMNS else "?" for c in _COLUMNS)
        values = [
            _bind_time(getattr(state, c)) if c in _TIME_COLUMNS else getattr(state, c)
            for c in _COLUMNS
        ]
        with self.wh.transaction():
            self.wh.execute(
                f"DELETE FROM {self.table} WHERE lower({q('object_name')}) = lower(?)",
                [state.object_name],
            )
            self.wh.execute(
                f"INSERT INTO {self.table} ({', '.join(q(c) for c in _COLUMNS)}) VALUES ({marks})",
                values,
            )

    def load(
        self,
        describe_names: Iterable[str],
        *,
        newest_batch_of: Iterable[str] = (),
        require: Iterable[str] = (),
        open_bulk_jobs: bool = False,
    ) -> Loaded:
        """Every object's state, the cached describes of ``describe_names`` (newest copy) and
        the largest ``_lht_batch_id`` of each table in ``newest_batch_of``, in ONE statement;
        the tables named in ``require`` (staging tables of the loader) are read too, so the
        statement fails (WarehouseError) unless every one of them exists. ``open_bulk_jobs``:
        also the (lower-case) objects whose Bulk query jobs a killed run left open, from
        ``_lht_bulk_jobs``, which must then exist."""
        q, ts = self.wh.quote, self._ts
        names = sorted({check_object_name(name).lower() for name in describe_names})
        state_cols = _COLUMNS[1:]
        none_state = ", ".join(
            f"CAST(NULL AS {ts if c in _TIME_COLUMNS else 'BIGINT' if c in _INT_COLUMNS else 'VARCHAR'})"
            for c in state_cols
        )
        arms = [
            f"SELECT 'state' AS {q('lht_part')}, {q('object_name')}, "
            + ", ".join(q(c) for c in state_cols)
            + f", CAST(NULL AS {ts}) AS {q('fetched_at')}, CAST(NULL AS VARCHAR) AS {q('describe_json')} "
            f"FROM {self.table}"
        ]
        params: list[Any] = []
        if names:
            arms.append(
                f"SELECT 'describe', {q('object_name')}, {none_state}, {q('fetched_at')}, {q('describe_json')} "
                f"FROM {self.describe_table} WHERE lower({q('object_name')}) IN ({', '.join('?' for _ in names)})"
            )
            params += names
        newest = list(newest_batch_of)
        for n, table in enumerate(newest):
            arms.append(
                f"SELECT 'batch{n}', max({q(BATCH_ID_COLUMN)}), {none_state}, NULL, NULL FROM {self.wh.table(table)}"
            )
        if open_bulk_jobs:
            arms.append(
                f"SELECT DISTINCT 'open_job', lower({q('object_name')}), {none_state}, NULL, NULL "
                f"FROM {self.wh.table(BULK_JOBS_TABLE)} WHERE {q('status')} = ?"
            )
            params.append(OPEN)
        for table in require:
            arms.append(
                f"SELECT 'require', NULL, {none_state}, NULL, NULL FROM {self.wh.table(table)} WHERE 1 = 0"
            )
        loaded = Loaded(newest_batch={table: None for table in newest})
        states: dict[str, list[ObjectState]] = {}
        for row in self.wh.execute(" UNION ALL ".join(arms), params):
            part, name = str(row[0]), row[1]
            if part == "state":
                state = self._row(row[1:-2])
                states.setdefault(state.object_name.lower(), []).append(state)
            elif part == "describe":
                fetched_at = _utc(row[-2])
                assert fetched_at is not None
                old = loaded.describes.get(str(name).lower())
                if old is None or old[0] <= fetched_at:  # the newest copy wins
                    loaded.describes[str(name).lower()] = (fetched_at, json.loads(row[-1]))
            elif part == "open_job":
                loaded.open_bulk_jobs.add(str(name))
            elif part.startswith("batch"):
                loaded.newest_batch[newest[int(part[5:])]] = str(name) if name is not None else None
        for key, found in states.items():
            if len(found) > 1:
                logger.warning("%d state rows match %s; using the newest success", len(found), key)
                found.sort(key=lambda s: s.last_success_at or as_utc(datetime.min))
            loaded.states[key] = found[-1]
        return loaded

    def save_all(self, states: Sequence[ObjectState]) -> None:
        """Replace the rows of every state in ``states`` (any case) in ONE statement on
        Snowflake (a MERGE), one transaction on DuckDB; nothing when empty."""
        by_name = {check_object_name(s.object_name).lower(): s for s in states}
        if not by_name:
            return
        q = self.wh.quote
        cols = ", ".join(q(c) for c in _COLUMNS)
        marks = ", ".join(f"CAST(? AS {self._ts})" if c in _TIME_COLUMNS else "?" for c in _COLUMNS)
        values = [
            _bind_time(getattr(s, c)) if c in _TIME_COLUMNS else getattr(s, c)
            for s in by_name.values()
            for c in _COLUMNS
        ]
        if self.wh.kind == "snowflake":
            first = ", ".join(
                f"CAST(? AS {self._ts}) AS {q(c)}" if c in _TIME_COLUMNS else f"? AS {q(c)}"
                for c in _COLUMNS
            )
            source = " UNION ALL ".join(
                [f"SELECT {first}"] + [f"SELECT {marks}"] * (len(by_name) - 1)
            )
            sets = ", ".join(f"{q(c)} = s.{q(c)}" for c in _COLUMNS)
            self.wh.execute(
                f"MERGE INTO {self.table} t USING ({source}) s "
                f"ON lower(t.{q('object_name')}) = lower(s.{q('object_name')}) "
                f"WHEN MATCHED THEN UPDATE SET {sets} "
                f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({', '.join(f's.{q(c)}' for c in _COLUMNS)})",
                values,
            )
            return
        with self.wh.transaction():
            self.wh.execute(
                f"DELETE FROM {self.table} WHERE lower({q('object_name')}) IN "
                f"({', '.join('?' for _ in by_name)})",
                list(by_name),
            )
            self.wh.execute(
                f"INSERT INTO {self.table} ({cols}) VALUES "
                + ", ".join(f"({marks})" for _ in by_name),
                values,
            )

    def get_describes(self, object_names: Iterable[str]) -> dict[str, tuple[datetime, dict]]:
        """``{lower-case name: (fetched_at, describe)}`` cached for ``object_names`` (any case),
        in one query; names without a cached describe are absent. Read through
        :class:`lht.catalog.Catalog`, once per run."""
        names = sorted({check_object_name(name).lower() for name in object_names})
        if not names:
            return {}
        q = self.wh.quote
        rows = self.wh.execute(
            f"SELECT {q('object_name')}, {q('fetched_at')}, {q('describe_json')} FROM {self.describe_table} "
            f"WHERE lower({q('object_name')}) IN ({', '.join('?' for _ in names)}) ORDER BY {q('fetched_at')}",
            names,
        )
        found: dict[str, tuple[datetime, dict]] = {}
        for name, fetched, text in rows:  # the newest copy wins
            fetched_at = _utc(fetched)
            assert fetched_at is not None
            found[str(name).lower()] = (fetched_at, json.loads(text))
        return found

    def get_describe(self, object_name: str) -> tuple[datetime, dict] | None:
        """``(fetched_at, describe)`` cached for ``object_name`` (any case), or None."""
        return self.get_describes([object_name]).get(object_name.lower())

    def forget_describe(self, object_name: str) -> None:
        """Drop the cached describe of ``object_name``: the next run describes it again."""
        q = self.wh.quote
        self.wh.execute(
            f"DELETE FROM {self.describe_table} WHERE lower({q('object_name')}) = lower(?)",
            [object_name],
        )

    def put_describe(
        self, object_name: str, describe: dict, fetched_at: datetime | None = None
    ) -> None:
        """Cache ``describe`` for ``object_name``, replacing any older copy."""
        check_object_name(object_name)
        q = self.wh.quote
        when = fetched_at or utcnow()
        with self.wh.transaction():
            self.wh.execute(
                f"DELETE FROM {self.describe_table} WHERE lower({q('object_name')}) = lower(?)",
                [object_name],
            )
            self.wh.execute(
                f"INSERT INTO {self.describe_table} ({q('object_name')}, {q('fetched_at')}, {q('describe_json')}) "
                f"VALUES (?, CAST(? AS {self._ts}), ?)",
                [object_name, _bind_time(when), json.dumps(describe, separators=(",", ":"))],
            )
