"""Record locks by parent between the internal batches of one ingest job.

Salesforce splits an ingest job into batches of 10,000 records and processes several at
once; writing a child locks its parent (the record its lookup names) for the batch's
transaction. A batch that needs a parent another batch processing at the same time holds
waits, then fails the row with ``UNABLE_TO_LOCK_ROW``. The local org models that
deterministically: the job's rows are cut into batches of ``batch_rows``, processed
``parallel`` at a time (batches ``0..p-1``, then ``p..2p-1``, ...); within such a group
the first batch naming a parent holds its lock, and the rows of the other batches of the
group naming it fail. Rows ordered by parent share a batch, and so meet no lock but at the
edge of a batch.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .. import ids


def _parent(cell: str) -> str | None:
    value = cell.strip()
    if not value or value == "#N/A":
        return None
    return value[:15] if ids.is_id(value) else value.lower()


def locked_rows(
    path: Path, delimiter: str, fields: list[dict | None], batch_rows: int, parallel: int
) -> set[int]:
    """The indices (0-based, data rows, blank lines skipped) of the upload's rows that fail
    with UNABLE_TO_LOCK_ROW; none when the job fits one batch or names no parent."""
    parents = [i for i, f in enumerate(fields) if f is None or f.get("type") == "reference"]
    if not parents or batch_rows <= 0 or parallel < 2:
        return set()
    holders: dict[tuple[int, str], int] = {}
    locked: set[int] = set()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        index = 0
        for row in reader:
            if not row:
                continue
            batch = index // batch_rows
            group = batch // parallel
            for column in parents:
                parent = _parent(row[column]) if column < len(row) else None
                if parent is None:
                    continue
                holder = holders.setdefault((group, f"{column}:{parent}"), batch)
                if holder != batch:
                    locked.add(index)
            index += 1
    if index <= batch_rows:
        return set()
    return locked
