"""The Bulk query jobs of the syncs (``<staging>._lht_bulk_jobs``): which a later run may reuse.

One row per Bulk API 2.0 query job a sync started for an object's records, written before
its results are read: ``open`` until the object's rows are written and its state saved
(then ``done``), or ``unusable`` once Salesforce no longer has it, it failed, or it grew too
old. A run killed mid-download leaves its job ``open``; the next run of the same query takes
it up (``reused_by``: that run) instead of creating a new one
(:mod:`lht.salesforce.queryjobs`). ``lht jobs history`` reads the table. Rows older than
:data:`KEEP_DAYS` are dropped when an object finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lht.clock import as_utc, utcnow
from lht.constants import BULK_JOBS_TABLE
from lht.typemap import timestamp_sql_type
from lht.warehouse.connection import Warehouse

OPEN, DONE, UNUSABLE = "open", "done", "unusable"
#: Days a finished job's row is kept for ``lht jobs history``.
KEEP_DAYS = 30
_TIMES = ("created_at", "reused_at", "finished_at")
COLUMNS = (
    "job_id",
    "object_name",
    "operation",
    "soql_digest",
    "created_at",
    "run_id",
    "status",
    "reused_by",
    "reused_at",
    "finished_at",
    "note",
)


@dataclass(frozen=True)
class JobRow:
    """One row of ``_lht_bulk_jobs`` (times UTC)."""

    job_id: str
    object_name: str
    operation: str
    soql_digest: str
    created_at: datetime | None
    run_id: str | None
    status: str
    reused_by: str | None
    reused_at: datetime | None
    finished_at: datetime | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO-8601)."""
        return {
            c: (v.isoformat() if isinstance(v, datetime) else v)
            for c, v in ((c, getattr(self, c)) for c in COLUMNS)
        }


def _bind(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat(sep=" ", timespec="microseconds")


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


class BulkJobStore:
    """Read and write ``_lht_bulk_jobs``; the ledger of one run (``run_id``) for
    :func:`lht.salesforce.queryjobs.reusable_job`. Created if missing unless ``create`` is
    False (a reader on a read-only connection checks :meth:`exists` first)."""

    def __init__(self, wh: Warehouse, run_id: str | None = None, *, create: bool = True) -> None:
        self.wh = wh
        self.run_id = run_id
        self.table = wh.table(BULK_JOBS_TABLE)
        self._ts = timestamp_sql_type(wh.kind)  # type: ignore[arg-type]
        if create:
            q = wh.quote
            wh.ensure_schema()
            cols = ", ".join(f"{q(c)} {self._ts if c in _TIMES else 'VARCHAR'}" for c in COLUMNS)
            wh.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({cols})")

    def exists(self) -> bool:
        """Whether the table exists (a warehouse no sync ran a Bulk job on has none)."""
        return bool(self.wh.columns(BULK_JOBS_TABLE))

    # -- the ledger ---------------------------------------------------------------------
    def objects_with_open_jobs(self) -> set[str]:
        """Lower-cased names of the objects with an open job (read once per run)."""
        q = self.wh.quote
        rows = self.wh.execute(
            f"SELECT DISTINCT lower({q('object_name')}) FROM {self.table} WHERE {q('status')} = ?",
            [OPEN],
        )
        return {str(r[0]) for r in rows}

    def open_jobs(self, object_name: str, operation: str, soql_digest: str) -> list[JobRow]:
        """The open jobs of this object, operation and SOQL, newest first."""
        q = self.wh.quote
        found = self.wh.execute(
            f"SELECT {', '.join(q(c) for c in COLUMNS)} FROM {self.table} "
            f"WHERE lower({q('object_name')}) = lower(?) AND {q('operation')} = ? "
            f"AND {q('soql_digest')} = ? AND {q('status')} = ? ORDER BY {q('created_at')} DESC",
            [object_name, operation, soql_digest, OPEN],
        )
        return [_row(r) for r in found]

    def started(
        self, job_id: str, object_name: str, operation: str, soql_digest: str, created_at: datetime
    ) -> None:
        """Record a job just created (``created_at``: Salesforce's createdDate), open."""
        q = self.wh.quote
        values = {
            "job_id": job_id,
            "object_name": object_name,
            "operation": operation,
            "soql_digest": soql_digest,
            "created_at": _bind(created_at),
            "run_id": self.run_id,
            "status": OPEN,
        }
        marks = ", ".join(f"CAST(? AS {self._ts})" if c in _TIMES else "?" for c in values)
        self.wh.execute(
            f"INSERT INTO {self.table} ({', '.join(q(c) for c in values)}) VALUES ({marks})",
            list(values.values()),
        )

    def reused(self, job_id: str) -> None:
        """Note that this run takes the job up again (it stays open until its rows are written)."""
        self._update(job_id, reused_by=self.run_id, reused_at=utcnow())

    def unusable(self, job_id: str, reason: str) -> None:
        """Close a job that cannot serve any run, saying why."""
        self._update(job_id, status=UNUSABLE, finished_at=utcnow(), note=reason[:500])

    def close_object(self, object_name: str) -> list[str]:
        """Mark every open job of ``object_name`` done (its rows are written, or a later
        extract superseded it) and drop rows older than :data:`KEEP_DAYS`; return the ids
        closed, for the caller to delete in Salesforce."""
        q = self.wh.quote
        found = self.wh.execute(
            f"SELECT {q('job_id')} FROM {self.table} WHERE lower({q('object_name')}) = lower(?) AND {q('status')} = ?",
            [object_name, OPEN],
        )
        ids = [str(r[0]) for r in found]
        if not ids:
            return []
        with self.wh.transaction():
            for job_id in ids:
                self._update(job_id, status=DONE, finished_at=utcnow())
            self.wh.execute(
                f"DELETE FROM {self.table} WHERE {q('created_at')} < CAST(? AS {self._ts})",
                [_bind(utcnow() - timedelta(days=KEEP_DAYS))],
            )
        return ids

    def _update(self, job_id: str, **values: Any) -> None:
        q = self.wh.quote
        sets = ", ".join(
            f"{q(c)} = CAST(? AS {self._ts})" if c in _TIMES else f"{q(c)} = ?" for c in values
        )
        binds = [_bind(v) if c in _TIMES else v for c, v in values.items()]
        self.wh.execute(f"UPDATE {self.table} SET {sets} WHERE {q('job_id')} = ?", [*binds, job_id])

    # -- reading --------------------------------------------------------------------------
    def rows(self, object_name: str | None = None, limit: int = 100) -> list[JobRow]:
        """The newest rows (of ``object_name``, any case), newest first."""
        q = self.wh.quote
        where, binds = "", []
        if object_name:
            where, binds = f" WHERE lower({q('object_name')}) = lower(?)", [object_name]
        found = self.wh.execute(
            f"SELECT {', '.join(q(c) for c in COLUMNS)} FROM {self.table}{where} "
            f"ORDER BY {q('created_at')} DESC LIMIT {int(limit)}",
            binds,
        )
        return [_row(r) for r in found]


def _row(values: tuple) -> JobRow:
    return JobRow(
        **{c: (_time(v) if c in _TIMES else v) for c, v in zip(COLUMNS, values, strict=True)}  # type: ignore[arg-type]
    )
