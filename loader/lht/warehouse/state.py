"""Loader state in the warehouse: one row per object in ``<staging>._lht_state``, and the
describe cache in ``<staging>._lht_describe`` (see ``docs/design.md``).

Objects are looked up case-insensitively (``Account`` finds ``ACCOUNT``); a save replaces
the object's row in one transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from lht.clock import as_utc, utcnow
from lht.constants import DESCRIBE_TABLE, STATE_TABLE
from lht.names import check_object_name
from lht.typemap import timestamp_sql_type
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


_TIME_COLUMNS = frozenset(
    {"watermark", "deleted_checked_until", "last_success_at", "last_full_refresh_at", "last_formula_refresh_at"}
)
_INT_COLUMNS = frozenset({"last_run_rows", "last_run_api_calls"})
_COLUMNS = [f.name for f in fields(ObjectState)]


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
        if create:
            self._create()

    def exists(self) -> tuple[bool, bool]:
        """Whether ``_lht_state`` and ``_lht_describe`` exist (a warehouse never synced has neither)."""
        return bool(self.wh.columns(STATE_TABLE)), bool(self.wh.columns(DESCRIBE_TABLE))

    def _create(self) -> None:
        def sql_type(col: str) -> str:
            if col in _TIME_COLUMNS:
                return self._ts
            return "BIGINT" if col in _INT_COLUMNS else "VARCHAR"

        self.wh.ensure_schema()
        cols = ", ".join(f"{self.wh.quote(c)} {sql_type(c)}" for c in _COLUMNS)
        self.wh.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({cols})")
        q = self.wh.quote
        self.wh.execute(
            f"CREATE TABLE IF NOT EXISTS {self.describe_table} "
            f"({q('object_name')} VARCHAR, {q('fetched_at')} {self._ts}, {q('describe_json')} VARCHAR)"
        )

    def _select(self) -> str:
        return "SELECT " + ", ".join(self.wh.quote(c) for c in _COLUMNS) + f" FROM {self.table}"

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
            f"{self._select()} WHERE lower({self.wh.quote('object_name')}) = lower(?)", [object_name]
        )
        if len(rows) > 1:
            logger.warning("%d state rows match %s; using the newest success", len(rows), object_name)
            rows.sort(key=lambda r: _utc(r[_COLUMNS.index("last_success_at")]) or as_utc(datetime.min))
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
        values = [_bind_time(getattr(state, c)) if c in _TIME_COLUMNS else getattr(state, c) for c in _COLUMNS]
        with self.wh.transaction():
            self.wh.execute(f"DELETE FROM {self.table} WHERE lower({q('object_name')}) = lower(?)", [state.object_name])
            self.wh.execute(
                f"INSERT INTO {self.table} ({', '.join(q(c) for c in _COLUMNS)}) VALUES ({marks})", values
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
        self.wh.execute(f"DELETE FROM {self.describe_table} WHERE lower({q('object_name')}) = lower(?)", [object_name])

    def put_describe(self, object_name: str, describe: dict, fetched_at: datetime | None = None) -> None:
        """Cache ``describe`` for ``object_name``, replacing any older copy."""
        check_object_name(object_name)
        q = self.wh.quote
        when = fetched_at or utcnow()
        with self.wh.transaction():
            self.wh.execute(
                f"DELETE FROM {self.describe_table} WHERE lower({q('object_name')}) = lower(?)", [object_name]
            )
            self.wh.execute(
                f"INSERT INTO {self.describe_table} ({q('object_name')}, {q('fetched_at')}, {q('describe_json')}) "
                f"VALUES (?, CAST(? AS {self._ts}), ?)",
                [object_name, _bind_time(when), json.dumps(describe, separators=(",", ":"))],
            )
