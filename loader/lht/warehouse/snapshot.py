"""Where each registered object stands in the warehouse, and the snapshot of it that a
running sync keeps beside a DuckDB file for ``lht status``.

Per object: its saved state (``_lht_state``), the rows of its main table and the newest
batch merged into it, and the staged rows not merged yet. :func:`summarize` reads them;
nothing is created on a warehouse that has none of these tables.

DuckDB lets one process write a file and nobody else open it meanwhile, so ``lht status``
cannot read the warehouse while ``lht sync`` runs (nor while ``dbt build`` does). The sync
therefore keeps ``<database>.lht.status.json`` beside the file (:class:`SnapshotKeeper`):
the summary when it starts and when it ends, and meanwhile what each object is doing
(rows written so far, a Bulk job's state), at most once a second. The file is replaced
atomically, so a reader never sees half of it. On Snowflake readers are never blocked and
no file is kept.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lht.constants import BATCH_ID_COLUMN, STATE_TABLE
from lht.errors import LhtError
from lht.names import table_name
from lht.warehouse.connection import Warehouse
from lht.warehouse.state import ObjectState, StateStore
from lht.warehouse.target import Target

logger = logging.getLogger(__name__)

SUFFIX = ".lht.status.json"
#: Seconds between two writes of the live part of the snapshot.
WRITE_EVERY = 1.0


def main_table_summary(
    wh: Warehouse, object_name: str, schema: str
) -> tuple[int, str | None] | None:
    """(rows, newest merged batch id) of an object's main table, or None when it is not built."""
    table = object_name.lower()
    if not wh.columns(table, schema):
        return None
    rows = wh.execute(
        f"SELECT count(*), max({wh.quote(BATCH_ID_COLUMN)}) FROM {wh.table(table, schema)}"
    )
    count, newest = rows[0]
    return int(count), (str(newest) if newest is not None else None)


@dataclass
class TableSummary:
    """One object in the warehouse (``main_rows`` None: its main table is not built yet)."""

    object_name: str
    main_rows: int | None = None
    merged_through: str | None = None
    unmerged_rows: int = 0
    state: ObjectState | None = None


def summarize(wh: Warehouse, names: Iterable[str], schema: str) -> dict[str, TableSummary]:
    """Each object's summary, keyed by lower-case name; creates nothing. Three statements
    whatever the number of objects: the tables that exist, the states, the counts."""
    names = list(names)
    staging = wh.staging_schema
    present = wh.table_names([schema, staging])
    store = StateStore(wh, create=False)
    states = (
        {s.object_name.lower(): s for s in store.all()}
        if (staging.lower(), STATE_TABLE) in present
        else {}
    )
    out = {
        name.lower(): TableSummary(object_name=name, state=states.get(name.lower()))
        for name in names
    }
    arms, params = [], []
    q, batch = wh.quote, wh.quote(BATCH_ID_COLUMN)
    for name in names:
        table = table_name(name)
        main = (schema.lower(), table) in present
        staged = (staging.lower(), table) in present
        if not main and not staged:
            continue
        merged = (
            f"(SELECT max({batch}) FROM {wh.table(table, schema)})"
            if main
            else "CAST(NULL AS VARCHAR)"
        )
        unmerged = (
            (
                f"(SELECT count(*) FROM {wh.staging_table(name)} s WHERE {merged} IS NULL "
                f"OR s.{batch} > {merged})"
            )
            if staged
            else "0"
        )
        rows = f"(SELECT count(*) FROM {wh.table(table, schema)})" if main else "NULL"
        arms.append(
            f"SELECT ? AS {q('name')}, {rows} AS {q('main_rows')}, {merged} AS {q('merged_through')}, "
            f"{unmerged} AS {q('unmerged_rows')}"
        )
        params.append(name.lower())
    if arms:
        for key, main_rows, merged_through, unmerged_rows in wh.execute(
            " UNION ALL ".join(arms), params
        ):
            summary = out[str(key)]
            summary.main_rows = int(main_rows) if main_rows is not None else None
            summary.merged_through = str(merged_through) if merged_through is not None else None
            summary.unmerged_rows = int(unmerged_rows or 0)
    return out


@dataclass
class Snapshot:
    """The file a running sync keeps: when it was taken, the summaries, and what each object is
    doing now (empty once the run ended)."""

    taken_at: datetime
    objects: dict[str, TableSummary] = field(default_factory=dict)
    #: object (lower-case) -> what it is doing, e.g. "12,000 of 100,000 rows written"
    activity: dict[str, str] = field(default_factory=dict)
    #: True while the run that wrote it is going on
    running: bool = False


def snapshot_path(target: Target) -> Path | None:
    """The snapshot file of a DuckDB target (None for Snowflake or an in-memory database)."""
    if target.kind != "duckdb" or target.path is None or str(target.path) == ":memory:":
        return None
    return Path(f"{target.path}{SUFFIX}")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _encode(snapshot: Snapshot) -> str:
    def clean(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    objects = {}
    for key, summary in snapshot.objects.items():
        data = {k: v for k, v in asdict(summary).items() if k != "state"}
        data["state"] = (
            {k: clean(v) for k, v in asdict(summary.state).items()} if summary.state else None
        )
        objects[key] = data
    return json.dumps(
        {
            "taken_at": snapshot.taken_at.isoformat(),
            "running": snapshot.running,
            "activity": snapshot.activity,
            "objects": objects,
        },
        indent=1,
    )


def _decode(text: str) -> Snapshot:
    data = json.loads(text)
    times = {f.name for f in fields(ObjectState) if str(f.type).startswith("datetime")}
    objects = {}
    for key, raw in (data.get("objects") or {}).items():
        state = raw.pop("state", None)
        if state is not None:
            values: dict[str, Any] = {k: (_time(v) if k in times else v) for k, v in state.items()}
            state = ObjectState(**values)
        objects[key] = TableSummary(**raw, state=state)
    taken_at = _time(data.get("taken_at")) or datetime.fromtimestamp(0, timezone.utc)
    return Snapshot(
        taken_at=taken_at,
        objects=objects,
        activity=dict(data.get("activity") or {}),
        running=bool(data.get("running")),
    )


def read_snapshot(target: Target) -> Snapshot | None:
    """The snapshot beside ``target``'s file, or None (none kept, or unreadable)."""
    path = snapshot_path(target)
    if path is None or not path.is_file():
        return None
    try:
        return _decode(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as exc:
        logger.warning("Could not read the status snapshot %s: %s", path, exc)
        return None


def write_snapshot(target: Target, snapshot: Snapshot) -> None:
    """Replace the snapshot beside ``target``'s file (atomically); nothing for Snowflake."""
    path = snapshot_path(target)
    if path is None:
        return
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(_encode(snapshot), encoding="utf-8")
    os.replace(partial, path)


#: What a sync reports while it runs: (object, rows written so far, rows expected, what it is doing).
Progress = Callable[..., None]


class SnapshotKeeper:
    """Keeps the snapshot of a run that holds a DuckDB file (a no-op on Snowflake).

    Created when the run has opened the warehouse: writes the summary of ``names``;
    :meth:`watch` wraps the run's progress callback to record each object's activity;
    :meth:`close` writes the summary again, with the run over. A failure to keep the file
    is logged, never raised: the run matters more than its monitoring.
    """

    def __init__(self, wh: Warehouse, names: Iterable[str]) -> None:
        self.wh = wh
        self.names = list(names)
        self.enabled = snapshot_path(wh.target) is not None
        self._lock = threading.Lock()
        self._written = 0.0
        self.snapshot = Snapshot(taken_at=datetime.now(timezone.utc), running=True)
        if self.enabled:
            self._schema = wh.target.settings.schema
            self._refresh(running=True)

    def _refresh(self, *, running: bool) -> None:
        try:
            objects = summarize(self.wh, self.names, self._schema)
        except LhtError as exc:
            logger.warning("Could not summarize the warehouse for lht status: %s", exc)
            return
        with self._lock:
            self.snapshot = Snapshot(
                taken_at=datetime.now(timezone.utc), objects=objects, running=running
            )
            self._write()

    def _write(self) -> None:
        try:
            write_snapshot(self.wh.target, self.snapshot)
            self._written = time.monotonic()
        except OSError as exc:
            logger.warning(
                "Could not write the status snapshot beside %s: %s", self.wh.target.path, exc
            )

    def watch(self, progress: Progress | None) -> Progress | None:
        """A progress callback recording each object's activity, then calling ``progress``."""
        if not self.enabled:
            return progress

        def update(name: str, rows: int, expected: int | None, phase: str | None = None) -> None:
            what = f"{rows:,}" + (f" of {expected:,}" if expected else "") + " rows written"
            with self._lock:
                self.snapshot.activity[name.lower()] = f"{phase}; {what}" if phase else what
                if time.monotonic() - self._written >= WRITE_EVERY:
                    self._write()
            if progress is not None:
                progress(name, rows, expected, phase)

        return update

    def close(self) -> None:
        """Write the summary as the run leaves it."""
        if self.enabled:
            self._refresh(running=False)
