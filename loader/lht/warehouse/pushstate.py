"""Write-back work in flight, so a killed run can settle it instead of sending rows twice.

``<staging>._lht_push_state`` holds one row per unit of sending not yet settled: a Bulk
ingest job (its id saved before its rows are uploaded) or an sObject Collections call
(the keys of its rows, saved before the call). The row is removed once the unit's results
are written; a run that finds one reads the job's results, or checks the keys in
Salesforce, before computing what to send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from lht.typemap import timestamp_sql_type
from lht.warehouse.connection import Warehouse

PUSH_STATE_TABLE = "_lht_push_state"
_COLUMNS = ("push_name", "unit_id", "engine", "job_id", "keys_json", "started_at")


@dataclass(frozen=True)
class PendingUnit:
    """One unit of sending that a run started and did not settle."""

    push_name: str
    unit_id: str
    engine: str  # bulk | collections
    job_id: str | None
    keys: tuple[str, ...]
    started_at: datetime


class PushStateStore:
    """Read and write ``_lht_push_state`` (created if missing)."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.table = wh.table(PUSH_STATE_TABLE)
        self._ts = timestamp_sql_type(wh.kind)  # type: ignore[arg-type]
        q = wh.quote
        wh.ensure_schema()
        cols = ", ".join(f"{q(c)} {self._ts if c == 'started_at' else 'VARCHAR'}" for c in _COLUMNS)
        wh.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({cols})")

    def start(self, unit: PendingUnit) -> None:
        """Record ``unit`` before its rows go out."""
        q = self.wh.quote
        marks = ", ".join(f"CAST(? AS {self._ts})" if c == "started_at" else "?" for c in _COLUMNS)
        self.wh.execute(
            f"INSERT INTO {self.table} ({', '.join(q(c) for c in _COLUMNS)}) VALUES ({marks})",
            [
                unit.push_name,
                unit.unit_id,
                unit.engine,
                unit.job_id,
                json.dumps(list(unit.keys)),
                unit.started_at.astimezone(timezone.utc).isoformat(sep=" "),
            ],
        )

    def pending(self, push_name: str) -> list[PendingUnit]:
        """The units of ``push_name`` not yet settled, oldest first."""
        q = self.wh.quote
        rows = self.wh.execute(
            f"SELECT {', '.join(q(c) for c in _COLUMNS)} FROM {self.table} "
            f"WHERE {q('push_name')} = ? ORDER BY {q('started_at')}, {q('unit_id')}",
            [push_name],
        )
        units = []
        for name, unit_id, engine, job_id, keys, started in rows:
            if isinstance(started, str):
                started = datetime.fromisoformat(started)
            if started.tzinfo is None:
                started = started.replace(tzinfo=timezone.utc)
            units.append(
                PendingUnit(name, unit_id, engine, job_id, tuple(json.loads(keys or "[]")), started)
            )
        return units

    def settle(self, push_name: str, unit_id: str) -> None:
        """Forget a unit whose results are written."""
        q = self.wh.quote
        self.wh.execute(
            f"DELETE FROM {self.table} WHERE {q('push_name')} = ? AND {q('unit_id')} = ?",
            [push_name, unit_id],
        )
