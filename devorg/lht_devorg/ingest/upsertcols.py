"""The column-wise path of a Bulk 2.0 ``upsert`` chunk: rows whose external id names exactly one
live record, and no other row of the chunk does, are updates of that record by Id, written by
:mod:`.colwise`; the other rows (new records, missing or repeated external ids, several
matches) go through :func:`..core.batchwrite.apply`, as the whole chunk did.

Each row's result is the one :func:`..core.batchwrite.apply` gives it on the whole chunk: a matched
row's errors are an update's (the cells' types, the fields' write rules and values) with the
matched record's Id, a repeated external id is judged among the rows that repeat it, and the
rows split off share no record and no unique value with the rest (the header may hold no other
unique field and no lookup). It is taken only while no row fault is armed (the fault would fire
in another order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from ..core import batchwrite, validate
from ..core.batchwrite import RowResult
from ..meta.schema import ObjectSchema
from . import colwise

#: External-id field types whose cell is the value (no conversion, no type error).
_TEXT_KEYS = frozenset({"string", "email", "phone", "url"})


def _ext_position(
    obj: ObjectSchema, fields: list[dict | None], ext_field: str | None
) -> int | None:
    """The index of the external-id column when the chunk's other columns allow the split."""
    try:
        f = validate.external_id_field(obj, ext_field or "")
    except Exception:  # noqa: BLE001 - batchwrite reports the problem
        return None
    at = [j for j, g in enumerate(fields) if g is not None and g["name"] == f["name"]]
    if len(at) != 1 or f["type"] not in _TEXT_KEYS:
        return None
    others = [g for j, g in enumerate(fields) if j != at[0]]
    if any(g is None or g["name"] == "Id" or g["unique"] for g in others):
        return None
    return at[0]


def apply(
    eng: Any,
    obj: ObjectSchema,
    fields: list[dict | None],
    columns: list[pa.Array],
    ext_field: str | None,
    rest: Callable[[list[int]], list[RowResult]],
) -> list[RowResult] | None:
    """Write an upsert chunk (given as columns) split as the module says; None when it cannot
    be split (then nothing was written). ``rest(indices)`` writes the other rows through
    batchwrite and returns their results, in order."""
    at = _ext_position(obj, fields, ext_field)
    if at is None:
        return None
    ext = fields[at]
    assert ext is not None  # _ext_position found the external id field
    f = obj.field(ext["name"])
    assert f is not None
    cells: list[str] = columns[at].to_pylist()
    keys = [batchwrite._fold(f, c) for c in cells]
    counts = Counter(keys)
    matches = validate.find_ids_many(
        eng, obj, f, [c for c in cells if c not in ("", validate.NULL_CELL)]
    )
    plain = [
        i
        for i, (c, k) in enumerate(zip(cells, keys, strict=True))
        if c not in ("", validate.NULL_CELL) and counts[k] == 1 and len(matches.get(k, ())) == 1
    ]
    if not plain:
        return None
    chosen = pa.array(plain, pa.int64())
    id_field = obj.field("Id")
    sub_fields = [id_field, *(g for j, g in enumerate(fields) if j != at)]
    sub_columns = [
        pa.array([matches[keys[i]][0] for i in plain], pa.string()),
        *(c.take(chosen) for j, c in enumerate(columns) if j != at),
    ]
    updated = colwise.apply_update_columns(eng, obj, sub_fields, sub_columns, None).rows()
    taken = set(plain)
    others = [i for i in range(len(cells)) if i not in taken]
    out: list[RowResult] = [RowResult() for _ in cells]
    for i, result in zip(plain, updated, strict=True):
        out[i] = result
    if others:
        for i, result in zip(others, rest(others), strict=True):
            out[i] = result
    return out
