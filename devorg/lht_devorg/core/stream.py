"""Bulk query rows streamed as CSV text straight from the object's table (no copy of the rows).

A Bulk 2.0 job reads its result once, in order, so it needs no materialized result set:
:func:`stream_csv` runs the query's one statement (the plan and bind parameters ``execute``
would use, each value rendered as Bulk CSV text by DuckDB) on a cursor of its own and hands
out its rows in tables of exactly ``chunk_rows`` rows (the last one shorter).

Locking: the org's lock is held only while the query is planned and a transaction is begun
and pinned to the current snapshot, so the plan and the rows agree (no schema change can
slip in between) and the result is the org as of that instant, whatever REST writes or the
activity thread commit while it streams (one query, one snapshot). Rows are read without the
lock, so those writes are not held up. ``OrgStore.close`` interrupts streams still open.
Used through :meth:`OrgEngine.stream_csv`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pyarrow as pa

from ..soql import render
from ..soql.planner import q

if TYPE_CHECKING:
    from .store import OrgStore

#: Rows DuckDB computes per fetch (about 70 MB of CSV text for a 70-column object).
FETCH_ROWS = 100_000


@dataclass
class CsvStream:
    """An open Bulk query: its column names and its rows as CSV text, in result order."""

    columns: list[str]
    tables: Iterator[pa.Table]


@contextmanager
def stream_csv(
    eng: OrgStore, soql: str, *, include_deleted: bool, chunk_rows: int
) -> Iterator[CsvStream]:
    """Open ``soql`` (a Bulk query) for streaming; the cursor is closed on leaving the block.

    Raises OrgError 400 when the query is invalid, 503 when the org is shutting down.
    """
    with eng._lock:
        p = eng.plan(soql, include_deleted=include_deleted, bulk=True)
        cur = eng.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            # DuckDB takes a transaction's snapshot when it first reads: read now, under the lock.
            cur.execute(f"SELECT 1 FROM {q(p.obj.name.lower())} LIMIT 0").fetchall()
        except BaseException:
            cur.close()
            raise
        eng._streams.add(cur)
    reader = None
    try:
        # a Bulk query's columns are all fields (the planner refuses aggregates there)
        select = ", ".join(
            f"{render.csv_expr(cast(dict, c.field), c.expr)} AS {q(f'c{i}')}"
            for i, c in enumerate(p.columns)
        )
        # DuckDB fills large batches on all its threads; small ones come out one at a time.
        fetch = max(chunk_rows, FETCH_ROWS)
        reader = cur.sql(p.rows_sql(select), params=p.all_params()).to_arrow_reader(fetch)
        yield CsvStream(p.csv_columns, _exact_chunks(reader, chunk_rows))
    finally:
        if reader is not None:
            reader.close()
        with eng._lock:
            eng._streams.discard(cur)
        cur.close()


def _exact_chunks(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches of any sizes into tables of exactly ``rows`` rows (the last fewer)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)
