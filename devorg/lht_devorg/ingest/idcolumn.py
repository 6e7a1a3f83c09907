"""The Id column of a column-wise update chunk (:mod:`.colwise`) resolved to the records it
names, with each row's Id error, as :func:`..core.batchwrite.apply` chooses them: the row-lock fault,
no Id (MISSING_ARGUMENT), not an Id (MALFORMED_ID), a record that is gone or in the recycle
bin (ENTITY_IS_DELETED).

A cell that is a stored Id is its own 18-character form; one hash join answers which cells are
(as Arrow), and only the other cells (15-character Ids, Ids in another case, strings that are
not Ids) are looked at one by one. While a row fault is armed every row goes through the
fault hook in order, one by one, as the record-by-record path runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import ids
from ..core import batchsql, validate
from ..errors import OrgError
from ..meta.schema import ObjectSchema

if TYPE_CHECKING:
    from ..core.store import OrgStore

#: A failed row's (sf__Id, error), by position in the chunk.
Failures = dict[int, tuple[str, OrgError]]


def _missing() -> OrgError:
    return OrgError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])


def _malformed(cell: str) -> OrgError:
    return validate.malformed_id({"label": "Record ID", "name": "Id"}, cell)


def id18(cell: str) -> str | None:
    """The 18-character form of an Id cell, or None when it is not an Id (as batchwrite._record_id)."""
    return ids.to18(cell) if ids.is_id(cell) else None


def replaced(cells: pa.Array, values: dict[int, str]) -> pa.Array:
    """``cells`` with the positions of ``values`` replaced by them."""
    if not values:
        return cells
    mask = np.zeros(len(cells), np.bool_)
    at = sorted(values)
    mask[at] = True
    return pc.replace_with_mask(
        cells, pa.array(mask), pa.array([values[i] for i in at], pa.string())
    )


def resolve(
    eng: OrgStore,
    obj: ObjectSchema,
    cells: pa.Array,
    failures: Failures,
    before_row: Callable[[dict], None] | None,
) -> pa.Array:
    """Each row's record Id (18 characters; the cell itself for rows that fail); the rows not
    yet in ``failures`` that fail here are added to it."""
    if before_row is not None:
        return _resolve_row_by_row(eng, obj, cells, failures, before_row)
    ok = np.ones(len(cells), np.bool_)
    ok[list(failures)] = False
    asked = np.flatnonzero(ok)
    exists = np.zeros(len(cells), np.bool_)
    if len(asked):
        at, in_bin = batchsql.existing_at(eng, obj, cells.take(pa.array(asked)))
        exists[asked[at]] = True
        for i in asked[at[in_bin]].tolist():
            failures[i] = (cells[i].as_py(), batchsql.deleted_error())
    patched: dict[int, str] = {}
    for i in np.flatnonzero(ok & ~exists).tolist():
        cell = cells[i].as_py()
        rid = id18(cell)
        if cell == "":
            failures[i] = ("", _missing())
        elif rid is None:
            failures[i] = ("", _malformed(cell))
        else:
            patched[i] = rid
    if patched:
        found = batchsql.existing(eng, obj, list(patched.values()))
        for i, rid in patched.items():
            if found.get(rid, True):
                failures[i] = (rid, batchsql.deleted_error())
    return replaced(cells, patched)


def _resolve_row_by_row(
    eng: OrgStore,
    obj: ObjectSchema,
    cells: pa.Array,
    failures: Failures,
    before_row: Callable[[dict], None],
) -> pa.Array:
    """:func:`resolve` with the row-lock fault hook run before each row, in order."""
    id_cells: list[str] = cells.to_pylist()
    found = batchsql.existing(eng, obj, [c for i, c in enumerate(id_cells) if i not in failures])
    patched: dict[int, str] = {}
    for i, cell in enumerate(id_cells):
        if i in failures:
            continue
        try:
            before_row({"Id": cell} if cell != "" else {})
        except OrgError as exc:
            failures[i] = (cell if cell in found else id18(cell) or "", exc)
            continue
        rid = cell if cell in found else id18(cell)
        if cell == "":
            failures[i] = ("", _missing())
        elif rid is None:
            failures[i] = ("", _malformed(cell))
        elif rid != cell:
            patched[i] = rid
    others = [rid for i, rid in patched.items() if i not in failures and rid not in found]
    if others:
        found.update(batchsql.existing(eng, obj, others))
    for i, cell in enumerate(id_cells):
        rid = patched.get(i, cell)
        if i not in failures and found.get(rid, True):
            failures[i] = (rid, batchsql.deleted_error())
    return replaced(cells, patched)
