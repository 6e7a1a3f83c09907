"""The column-wise path of a Bulk 2.0 ``update`` chunk: cells checked and converted one column
at a time with Arrow compute kernels, then one UPDATE per set of columns the rows set.

It gives exactly the results of :func:`..core.batchwrite.apply` on the chunk's rows (same error
per row, chosen in the same order: the row's shape, the cells' types, the row-lock fault,
the Id, a deleted record, each field's write rules and value, then required fields and
restricted picklists). A kernel splits each column into cells that certainly need no
conversion (text within its length, a number needing no rounding) and the others, which go
one by one through the generic single-record conversion, the reference for every error.
:func:`applies` says when a chunk can take it: an update without lookup or unique-field
columns and naming each record once; other chunks go through :func:`..core.batchwrite.apply`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import batchsql, records, validate
from ..core.batchwrite import RowResult
from ..errors import OrgError
from ..meta.schema import ObjectSchema
from . import idcolumn
from .results import ChunkResults

if TYPE_CHECKING:
    from ..core.store import OrgStore

#: Types whose CSV cell is stored as it is (after a length check).
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "phone",
        "url",
        "email",
        "picklist",
        "multipicklist",
        "encryptedstring",
        "combobox",
    }
)
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})
_INT_RE = "-?[0-9]{1,9}"


def _eligible(operation: str, fields: list[dict | None]) -> bool:
    if operation != "update" or any(f is None or f["unique"] and f["type"] != "id" for f in fields):
        return False
    return sum(1 for f in fields if f is not None and f["name"] == "Id") == 1


def id_position(fields: list[dict | None]) -> int:
    """The index of the Id column."""
    return next(j for j, f in enumerate(fields) if f is not None and f["name"] == "Id")


def applies(
    operation: str, header: list[str], fields: list[dict | None], rows: list[list[str]]
) -> bool:
    """True when the chunk's rows can be written column-wise (see the module docstring)."""
    if not _eligible(operation, fields):
        return False
    at = id_position(fields)
    named = [row[at][:15] for row in rows if len(row) == len(header)]
    return len(set(named)) == len(named)


def applies_columns(operation: str, fields: list[dict | None], columns: Sequence[pa.Array]) -> bool:
    """:func:`applies` for a chunk given as columns (every row of the right shape)."""
    if not _eligible(operation, fields):
        return False
    named = pc.utf8_slice_codeunits(columns[id_position(fields)], 0, 15)
    return pc.count_distinct(named).as_py() == len(named)


def _number_re(f: dict) -> str | None:
    """Number cells that need no rounding and are within range: their text is their value."""
    p, s = int(f.get("precision") or 0), int(f.get("scale") or 0)
    if p and p - s < 1:
        return None
    whole = f"[0-9]{{1,{p - s}}}" if p else "[0-9]+"
    return f"-?{whole}" + (f"(\\.[0-9]{{1,{s}}})?" if s else "")


def _slow(
    f: dict, cell: str, updateable: bool
) -> tuple[str | None, OrgError | None, OrgError | None]:
    """(stored text, type error, write error) of one cell through the generic conversion."""
    try:
        value = validate.csv_value(f, cell)
    except OrgError as exc:
        return None, exc, None
    if not updateable:
        return None, None, _not_updateable(f)
    try:
        stored = records.coerce(f, value)
    except OrgError as exc:
        return None, None, exc
    return batchsql._text(stored), None, None


def _not_updateable(f: dict) -> OrgError:
    return OrgError(
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {f['name']}. Please check the security settings "
        "of this field and verify that it is read/write for your profile or permission set.",
        [f["name"]],
    )


def _indices(mask: pa.Array) -> list[int]:
    return pc.indices_nonzero(mask).to_pylist()


class _Column:
    """One uploaded column's stored values (text, null clears) and per-row errors (sparse)."""

    def __init__(self, f: dict, cells: pa.Array) -> None:
        self.f = f
        self.present = pc.not_equal(cells, "")
        self.type_errors: dict[int, OrgError] = {}
        self.write_errors: dict[int, OrgError] = {}
        self.rule_errors: dict[int, OrgError] = {}
        self.values = self._convert(cells)
        self._rules(cells)

    def _convert(self, cells: pa.Array) -> pa.Array:
        f, t = self.f, self.f["type"]
        updateable, null = bool(f["updateable"]), validate.NULL_CELL
        fast = _number_re(f) if t in _NUMBER_TYPES else _INT_RE if t == "int" else None
        if updateable and t in TEXT_TYPES:  # a text cell is its stored value
            odd = pc.equal(cells, null)
            data = cells.buffers()[2]
            if (
                data is not None and data.to_pybytes().find(b"\x00") >= 0
            ):  # the kernel only when needed
                odd = pc.or_(odd, pc.match_substring(cells, "\x00"))
            longest = (
                pc.max(pc.binary_length(cells)).as_py() or 0
            )  # bytes: never fewer than characters
            if f.get("length") and longest > int(f["length"]):
                odd = pc.or_(odd, pc.greater(pc.utf8_length(cells), int(f["length"])))
        elif updateable and fast is not None:  # so is a number needing no rounding, within range
            odd = pc.and_(self.present, pc.invert(pc.match_substring_regex(cells, f"^(?:{fast})$")))
        else:
            odd = self.present
        at = _indices(odd)
        if not at:
            return cells
        stored: list[str | None] = []
        for i in at:
            cell = cells[i].as_py()
            stored.append(None)
            if cell == null:
                if not updateable:
                    self.write_errors[i] = _not_updateable(f)
                continue
            value, type_error, write_error = _slow(f, cell, updateable)
            if type_error is not None:
                self.type_errors[i] = type_error
            elif write_error is not None:
                self.write_errors[i] = write_error
            else:
                stored[-1] = value
        return pc.replace_with_mask(cells, odd, pa.array(stored, pa.string()))

    def _rules(self, cells: pa.Array) -> None:
        """validate.check_values on an update: required fields cleared, restricted picklists."""
        f = self.f
        required = not f["nillable"] and f["updateable"] and not f["defaultedOnCreate"]
        restricted = f["type"] in ("picklist", "multipicklist") and f["restrictedPicklist"]
        if not (required or restricted):
            return
        failed = self.type_errors.keys() | self.write_errors.keys()
        if required:
            for i in _indices(pc.and_(self.present, pc.is_null(self.values))):
                if i not in failed:
                    self.rule_errors[i] = OrgError(
                        400,
                        "REQUIRED_FIELD_MISSING",
                        f"Required fields are missing: [{f['name']}]",
                        [f["name"]],
                    )
        if not restricted:
            return
        allowed = {p["value"] for p in f["picklistValues"] if p["active"]}
        candidates = pc.and_(self.present, pc.is_valid(self.values))
        if f["type"] == "picklist":
            candidates = pc.and_(
                candidates, pc.invert(pc.is_in(self.values, pa.array(sorted(allowed), pa.string())))
            )
        for i in _indices(candidates):
            if i in failed:
                continue
            value = self.values[i].as_py()
            chosen = value.split(";") if f["type"] == "multipicklist" else [value]
            bad = [v for v in chosen if v not in allowed]
            if bad:
                self.rule_errors[i] = OrgError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f['label']}: bad value for restricted picklist field: {bad[0]}",
                    [f["name"]],
                )


def apply_update(
    eng: OrgStore,
    obj: ObjectSchema,
    header: list[str],
    fields: list[dict | None],
    rows: list[list[str]],
    before_row: Callable[[dict], None] | None,
) -> list[RowResult]:
    """Write an update chunk of rows that :func:`applies`; one result per row, in order."""
    width = len(header)
    shape_errors = {
        i: OrgError(
            400, "INVALID_FIELD", f"The row has {len(row)} values; the header has {width}", []
        )
        for i, row in enumerate(rows)
        if len(row) != width
    }
    shaped = (
        rows if not shape_errors else [row if len(row) == width else [""] * width for row in rows]
    )
    by_column = list(zip(*shaped, strict=True)) if rows else [() for _ in header]
    columns = [pa.array(cells, pa.string()) for cells in by_column]
    return apply_update_columns(eng, obj, fields, columns, before_row, shape_errors).rows()


def apply_update_columns(
    eng: OrgStore,
    obj: ObjectSchema,
    fields: list[dict | None],
    cells: Sequence[pa.Array],
    before_row: Callable[[dict], None] | None,
    shape_errors: dict[int, OrgError] | None = None,
) -> ChunkResults:
    """:func:`apply_update` on a chunk given as string columns (``shape_errors``: rows that
    already failed for their number of cells). ``before_row`` None: no row fault is armed."""
    results, writes = check_update_columns(eng, obj, fields, cells, before_row, shape_errors)
    for cols, data in writes:
        batchsql.update_table(eng, obj, cols, data)
    return results


#: One UPDATE to run: the fields set, and the Ids with the text of each (``Id``, ``c0``, ...).
Write = tuple[tuple[str, ...], pa.Table]


def check_update_columns(
    eng: OrgStore,
    obj: ObjectSchema,
    fields: list[dict | None],
    cells: Sequence[pa.Array],
    before_row: Callable[[dict], None] | None,
    shape_errors: dict[int, OrgError] | None = None,
) -> tuple[ChunkResults, list[Write]]:
    """:func:`apply_update_columns`'s results and the UPDATEs that write them, not yet run."""
    n = len(cells[0]) if cells else 0
    failures: idcolumn.Failures = {i: ("", error) for i, error in (shape_errors or {}).items()}
    if not n:
        return ChunkResults(pa.array([], pa.string()), {}), []
    at = id_position(fields)
    columns = [_Column(f, cells[j]) for j, f in enumerate(fields) if j != at]  # type: ignore[arg-type]
    for col in columns:  # the cells' types, the first in header order (validate.csv_value)
        for i, error in col.type_errors.items():
            if i not in failures:
                failures[i] = ("", error)
    record_ids = idcolumn.resolve(eng, obj, cells[at], failures, before_row)
    for kind in ("write_errors", "rule_errors"):  # records.writable, then validate.check_values
        for col in columns:  # the first in header order
            for i, error in getattr(col, kind).items():
                if i not in failures:
                    failures[i] = (record_ids[i].as_py(), error)
    good = np.ones(n, np.bool_)
    good[list(failures)] = False
    reported = idcolumn.replaced(record_ids, {i: rid for i, (rid, _) in failures.items()})
    return ChunkResults(reported, {i: error for i, (_, error) in failures.items()}), _writes(
        columns, record_ids, good
    )


def _writes(columns: list[_Column], record_ids: pa.Array, good: np.ndarray) -> list[Write]:
    """One UPDATE per set of columns the good rows set (empty cells leave a field as it is),
    the sets in the order of their first row."""
    present = [col.present.to_numpy(zero_copy_only=False) for col in columns]
    if len(columns) <= 62:
        key = np.zeros(len(good), np.int64)
        for j, p in enumerate(present):
            key |= p.astype(np.int64) << j
        keys, first = np.unique(key[good], return_index=True)
        chosen_keys = keys[np.argsort(first)].tolist()
        groups = [
            (tuple(bool(k >> j & 1) for j in range(len(columns))), good & (key == k))
            for k in chosen_keys
        ]
    else:
        by_shape: dict[tuple[bool, ...], np.ndarray] = {}
        for i, shape in enumerate(zip(*(p.tolist() for p in present), strict=True)):
            if good[i]:
                by_shape.setdefault(shape, np.zeros(len(good), np.bool_))[i] = True
        groups = list(by_shape.items())
    out: list[Write] = []
    for shape, mask in groups:
        chosen = [col for col, on in zip(columns, shape, strict=True) if on]
        taken = pa.array(mask)
        data = {"Id": record_ids.filter(taken)}
        for j, col in enumerate(chosen):
            data[f"c{j}"] = col.values.filter(taken)
        out.append((tuple(col.f["name"] for col in chosen), pa.table(data)))
    return out
