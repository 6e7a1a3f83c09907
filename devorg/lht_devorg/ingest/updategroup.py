"""Column-wise update chunks of an ingest job written a few at a time (fewer, larger UPDATEs
and commits), each with the results it has alone.

Each chunk is checked on its own (:func:`.colwise.check_update_columns`, under the store's
lock): its results do not depend on the chunks before it, since an update changes no record's
existence. The UPDATEs of a group of checked chunks then run in one transaction, those setting
the same fields as one statement when the chunks name different records (else chunk after
chunk, in order), with one commit; the job's progress moves a chunk at a time after it. The
lock is free between the checks and the write, so a record another request deletes meanwhile
would be written while it is gone: the statements then write fewer records than were checked,
the transaction is rolled back, and the group's chunks are written again one by one, each
checked and written in one transaction. The first group is one chunk (the job's first progress
comes early); the others hold up to :data:`GROUP_ROWS` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..core import batchsql
from ..meta.schema import ObjectSchema
from . import colwise
from .results import ChunkResults

#: Rows of the chunks written together after the first (Salesforce's batches stay 10,000 rows).
GROUP_ROWS = 30_000


class _Stale(Exception):
    """A record checked live is gone or in the recycle bin now."""


@dataclass
class _Checked:
    chunk: list[pa.Array]
    results: ChunkResults
    writes: list[colwise.Write]


class UpdateGroup:
    """The checked chunks of an update job not yet written."""

    def __init__(self, eng: Any, obj: ObjectSchema, fields: list[dict | None]) -> None:
        self.eng, self.obj, self.fields = eng, obj, fields
        self._items: list[_Checked] = []
        self._rows = 0
        self._first = True

    def chunks(self) -> list[list[pa.Array]]:
        """The chunks checked and not yet written, in order."""
        return [item.chunk for item in self._items]

    def takes(self, operation: str, chunk: list) -> bool:
        """True when ``chunk`` (Arrow columns) is an update chunk of the column-wise path."""
        return (
            bool(chunk)
            and isinstance(chunk[0], pa.Array)
            and colwise.applies_columns(operation, self.fields, chunk)
        )

    def add(self, chunk: list[pa.Array]) -> bool:
        """Check ``chunk`` (no row fault armed); True when the group is now full (:meth:`write`)."""
        with self.eng._lock:
            results, writes = colwise.check_update_columns(
                self.eng, self.obj, self.fields, chunk, None
            )
        self._items.append(_Checked(chunk, results, writes))
        self._rows += len(chunk[0])
        return self._first or self._rows >= GROUP_ROWS

    def write(self, report: Callable[[list[pa.Array], ChunkResults], None]) -> None:
        """Write the checked chunks; ``report(chunk, results)`` for each once committed, in order."""
        if not self._items:
            return
        self._first = False
        try:
            with self.eng.transaction():
                if not self._run():
                    raise _Stale
        except _Stale:
            while self._items:
                item = self._items[0]
                with self.eng.transaction():
                    results = colwise.apply_update_columns(
                        self.eng, self.obj, self.fields, item.chunk, None
                    )
                self._items.pop(0)
                report(item.chunk, results)
            self._rows = 0
            return
        items, self._items, self._rows = self._items, [], 0
        for item in items:
            report(item.chunk, item.results)

    def _run(self) -> bool:
        """Run the group's UPDATEs; False when they wrote fewer live records than were checked."""
        writes = [w for item in self._items for w in item.writes]
        expected = sum(data.num_rows for _, data in writes)
        if not expected:
            return True
        ids = pa.chunked_array([data.column("Id") for _, data in writes], pa.string())
        if len(self._items) > 1 and pc.count_distinct(ids).as_py() == expected:
            merged: dict[tuple[str, ...], list[pa.Table]] = {}
            for cols, data in writes:
                merged.setdefault(cols, []).append(data)
            writes = [(cols, pa.concat_tables(parts)) for cols, parts in merged.items()]
        written = sum(
            batchsql.update_table(self.eng, self.obj, cols, data, live_only=True)
            for cols, data in writes
        )
        return written == expected
