"""The run history: ``<staging>._lht_runs``, one row per run and object (or push/merge
model) plus one row for the run itself, appended through THE writer (kind ``run``).

Every ``lht sync``, ``lht push`` and ``lht merge`` that ran writes its rows when it ends,
as one batch; a run killed before that writes nothing. A run refused before it starts
(lock held, configuration) writes its run row alone. The numbers add up: a run's
``api_calls`` summed over its rows is the run's real call count (the run row holds the
calls no object or model made: logins, describeGlobal, the org's limits). dbt builds
``salesforce.lht_runs`` and ``salesforce.lht_api_usage`` from this table; ``lht status``
and ``lht report`` read it as it is. Columns: ``docs/design.md``, "Run history".
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lht.constants import KIND_RUN, RUNS_TABLE
from lht.errors import ConcurrentRunError, LhtError, WarehouseError
from lht.lazy import pa
from lht.typemap import FieldSpec, timestamp_sql_type
from lht.warehouse.connection import Target, Warehouse, connect
from lht.warehouse.lock import run_lock
from lht.warehouse.results import write_result_rows
from lht.warehouse.writer import WriteResult, insert_rows

logger = logging.getLogger(__name__)

#: ``outcome`` values (sync objects also ``skipped``: not started, the API budget was reached).
OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"
REFUSED = "refused"  # configuration (exit 2) or the run lock held by another run (exit 3)

SYNC, PUSH, MERGE = "sync", "push", "merge"


@dataclass
class RunRow:
    """One row of ``_lht_runs``: a run's object (sync), model (push, merge) or the run itself
    (``object_name`` None). Counts a command does not have stay None."""

    run_id: str
    command: str  # sync | push | merge
    object_name: str | None  # the object (sync), the model (push, merge); None: the run's own row
    started_at: datetime
    finished_at: datetime
    outcome: str  # ok | failed | skipped | refused
    exit_code: int  # the run's exit code (0 ok, 1 some failed, 2 configuration, 3 lock held)
    mode: str | None = None  # sync: full | incremental; push: the operation
    engine: str | None = None  # sync: rest | bulk; push: collections | bulk; merge: soap
    seconds: float | None = None  # this row's own time (the run row: the whole run's)
    rows_written: int = 0  # sync: rows staged; push: rows Salesforce accepted; merge: losers merged
    api_calls: int = 0  # whole calls allotted to this row; a run's rows add up to its real calls
    api_calls_shared: int = 0  # of api_calls, calls that served several objects (Composite checks)
    error_message: str | None = None
    api_usage_used: int | None = None  # the org's daily API requests used, last seen by the run
    api_usage_limit: int | None = None  # ... and its daily limit
    # sync
    rows_extracted: int | None = None
    delete_markers: int | None = None
    records_marked_deleted: int | None = None
    fields_added: str | None = None
    fields_removed: str | None = None
    # push and merge
    rows_considered: int | None = None
    rows_sent: int | None = None
    rows_created: int | None = None
    rows_updated: int | None = None
    rows_deleted: int | None = None
    rows_failed: int | None = None
    rows_unchanged: int | None = None
    rows_merged: int | None = None
    rows_already_merged: int | None = None
    merge_requests: int | None = None


def _spec(name: str, annotation: str) -> FieldSpec:
    base = annotation.replace(" | None", "")
    kind = {
        "str": "textarea" if name == "error_message" else "string",
        "int": "long",
        "float": "double",
        "datetime": "datetime",
    }[base]
    return FieldSpec(name, kind)


#: The columns of ``_lht_runs`` (besides the writer's metadata), typed by the type map.
RUN_FIELDS: tuple[FieldSpec, ...] = tuple(_spec(f.name, str(f.type)) for f in fields(RunRow))
COLUMNS: tuple[str, ...] = tuple(f.name for f in RUN_FIELDS)


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by start time: ``YYYYMMDDTHHMMSSZ-<8 hex>`` (UTC)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def write_runs(wh: Warehouse, rows: Sequence[RunRow]) -> WriteResult:
    """Append a run's rows as one batch (all or nothing)."""
    finished = max((r.finished_at for r in rows), default=datetime.now(timezone.utc))
    return write_result_rows(wh, RUNS_TABLE, KIND_RUN, RUN_FIELDS, rows, attempted_at=finished)


_UNREAD = object()


def record_run(wh: Warehouse, rows: Sequence[RunRow], *, newest_batch: Any = _UNREAD) -> bool:
    """Write a finished run's rows, with the refusals waiting in the DuckDB spool, as one
    batch; a warehouse that refuses is logged, never fails the run (its work is done; the
    missing rows are the sign). True when written.

    ``newest_batch``: the table's largest batch id (None: empty), when the caller read it
    with the run's state (:meth:`lht.warehouse.state.StateStore.load`): the rows then go in
    one INSERT (:func:`lht.warehouse.writer.insert_rows`), else, or when that finds the
    table without a column, through :func:`write_runs`."""
    taken = _take_spool(wh.target)
    every = [*taken.rows, *rows]
    try:
        if newest_batch is _UNREAD or not _inserted(wh, every, newest_batch):
            write_runs(wh, every)
    except LhtError as exc:
        taken.give_back()
        logger.error("The run history (%s) was not written: %s", RUNS_TABLE, exc)
        return False
    taken.done()
    return True


def _inserted(wh: Warehouse, rows: Sequence[RunRow], newest_batch: str | None) -> bool:
    """The rows written by one INSERT; False (nothing written) when the table lacks a column."""
    finished = max((r.finished_at for r in rows), default=datetime.now(timezone.utc))
    try:
        insert_rows(
            wh,
            RUNS_TABLE,
            RUN_FIELDS,
            [[getattr(r, c) for c in COLUMNS] for r in rows],
            kind=KIND_RUN,
            extracted_at=finished,
            newest_batch=newest_batch,
        )
    except WarehouseError as exc:
        logger.info("Run history by one INSERT refused (%s); writing it as a load", exc)
        return False
    return True


def record_refusal(target: Target, row: RunRow) -> str:
    """Record a run refused before it started (its run row alone), where the warehouse is
    reachable: ``written``; ``spooled`` when a DuckDB file is held by another process (the
    next run writes it); ``skipped`` when there is no warehouse yet, or it cannot be reached."""
    if target.kind != "duckdb":
        try:
            wh = connect(target)
        except LhtError as exc:
            logger.info("The refusal was not recorded in the run history: %s", exc)
            return "skipped"
        try:
            return "written" if record_run(wh, [row]) else "skipped"
        finally:
            wh.close()
    if target.path is None or str(target.path) == ":memory:" or not Path(target.path).is_file():
        return "skipped"  # no warehouse yet: do not create one for a refusal
    # DuckDB lets one process write the file: only under the run lock, and only when no
    # other process (a dbt build) has it open; else the next run writes it.
    try:
        with run_lock(target, wait=False):
            wh = connect(target)
            try:
                return "written" if record_run(wh, [row]) else "skipped"
            finally:
                wh.close()
    except (ConcurrentRunError, WarehouseError):
        with _spool_path(target).open("a", encoding="utf-8") as spool:  # one line, one write
            spool.write(json.dumps(asdict(row), default=_iso) + "\n")
        return "spooled"


def _spool_path(target: Target) -> Path:
    return Path(f"{target.path}.lht.runs-pending.jsonl")


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass
class _Spooled:
    """Refusals taken from the spool: written with a run's rows, or given back."""

    path: Path | None = None
    rows: list[RunRow] = field(default_factory=list)

    def give_back(self) -> None:
        if self.path is not None:
            self.path.replace(self.path.with_name(self.path.name.replace(".taken.", ".back.")))

    def done(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _take_spool(target: Target) -> _Spooled:
    """The refusals spooled for a DuckDB target, moved aside (under the run lock)."""
    if target.kind != "duckdb" or target.path is None:
        return _Spooled()
    spool = _spool_path(target)
    waiting = sorted(spool.parent.glob(f"{spool.name}*"))
    if not waiting:
        return _Spooled()
    taken = spool.with_name(f"{spool.name}.taken.{os.getpid()}")
    lines: list[str] = []
    for path in waiting:
        try:
            lines += path.read_text(encoding="utf-8").splitlines()
            path.unlink()
        except OSError as exc:
            logger.warning("Could not read the spooled refusals in %s: %s", path, exc)
    taken.write_text("".join(f"{line}\n" for line in lines if line.strip()), encoding="utf-8")
    rows = []
    for line in lines:
        try:
            data = json.loads(line)
            data["started_at"] = datetime.fromisoformat(data["started_at"])
            data["finished_at"] = datetime.fromisoformat(data["finished_at"])
            rows.append(RunRow(**data))
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("Skipping a damaged spooled refusal (%s): %s", exc, line[:200])
    return _Spooled(taken, rows)


def read_runs(
    wh: Warehouse, *, last: int | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """The rows of the newest ``last`` runs (or of the runs started since ``since``), newest
    run first, as dicts keyed by lower-case column name; [] before the first run."""
    if not wh.columns(RUNS_TABLE):
        return []
    q, table = wh.quote, wh.table(RUNS_TABLE)
    cols = ", ".join(q(c) for c in COLUMNS)
    params: list[Any] = []
    where = ""
    if since is not None:  # bound as UTC text and cast: one form both connectors bind alike
        where = f"where {q('started_at')} >= cast(? as {timestamp_sql_type(wh.kind)})"  # type: ignore[arg-type]
        params = [since.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")]
    runs = f"select {q('run_id')} from {table} {where} group by {q('run_id')}"
    if last is not None:
        runs = (
            f"select {q('run_id')} from {table} {where} group by {q('run_id')} "
            f"order by max({q('started_at')}) desc, {q('run_id')} desc limit {int(last)}"
        )
    data = wh.fetch_arrow(
        f"select {cols} from {table} where {q('run_id')} in ({runs}) "
        f"order by {q('started_at')} desc, {q('run_id')} desc",
        params,
    )
    data = data.rename_columns([n.lower() for n in data.column_names])
    return _rows(data)


def last_successes(wh: Warehouse) -> dict[str, datetime]:
    """Each object's last successful sync (the start of that run), however old."""
    if not wh.columns(RUNS_TABLE):
        return {}
    q = wh.quote
    rows = wh.execute(
        f"select {q('object_name')}, max({q('started_at')}) from {wh.table(RUNS_TABLE)} "
        f"where {q('command')} = ? and {q('outcome')} = ? and {q('object_name')} is not null "
        f"group by {q('object_name')}",
        [SYNC, OK],
    )
    return {str(name): _utc(when) for name, when in rows}


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _rows(data: pa.Table) -> list[dict[str, Any]]:
    rows = data.to_pylist()
    for row in rows:
        for key in ("started_at", "finished_at"):
            if isinstance(row.get(key), datetime):
                row[key] = _utc(row[key])
    return rows
