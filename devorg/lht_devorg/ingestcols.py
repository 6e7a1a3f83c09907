"""The column-wise path of a Bulk 2.0 ``update`` chunk: cells checked and converted one column
at a time, then one UPDATE per set of columns the rows set.

It gives exactly the results of :func:`.batchwrite.apply` on the chunk's rows (same error
per row, chosen in the same order: the row's shape, the cells' types, the row-lock fault,
the Id, a deleted record, each field's write rules and value, then required fields and
restricted picklists), but most cells cost a type test instead of a pass through the
generic single-record conversion. :func:`applies` says when a chunk can take it: an update
without lookup or unique-field columns and naming each record once; other chunks go
through :func:`.batchwrite.apply`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from . import batchsql, ids, records, validate
from .batchwrite import RowResult
from .errors import OrgError
from .schema import ObjectSchema

if TYPE_CHECKING:
    from .store import OrgStore

#: Types whose CSV cell is stored as it is (after a length check).
TEXT_TYPES = frozenset({"string", "textarea", "phone", "url", "email", "picklist", "multipicklist",
                        "encryptedstring", "combobox"})
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})
_INT_RE = re.compile(r"-?\d{1,9}")


def applies(operation: str, header: list[str], fields: list[dict | None], rows: list[list[str]]) -> bool:
    """True when the chunk can be written column-wise (see the module docstring)."""
    if operation != "update" or any(f is None or f["unique"] and f["type"] != "id" for f in fields):
        return False
    if sum(1 for f in fields if f is not None and f["name"] == "Id") != 1:
        return False
    at = next(j for j, f in enumerate(fields) if f is not None and f["name"] == "Id")
    named = [row[at][:15] for row in rows if len(row) == len(header)]
    return len(set(named)) == len(named)


def _number_re(f: dict) -> re.Pattern[str] | None:
    """Number cells that need no rounding and are within range: their text is their value."""
    p, s = int(f.get("precision") or 0), int(f.get("scale") or 0)
    if p and p - s < 1:
        return None
    whole = f"\\d{{1,{p - s}}}" if p else r"\d+"
    return re.compile(f"-?{whole}" + (f"(\\.\\d{{1,{s}}})?" if s else ""))


def _slow(f: dict, cell: str, updateable: bool) -> tuple[str | None, OrgError | None, OrgError | None]:
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
    return OrgError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f['name']}. Please check the security settings "
                    "of this field and verify that it is read/write for your profile or permission set.",
                    [f["name"]])


class _Column:
    """One uploaded column's stored values and per-row errors (sparse: row index -> error)."""

    def __init__(self, f: dict, cells: Sequence[str]) -> None:
        self.f = f
        self.present = [c != "" for c in cells]
        self.values: list[str | None] = [None] * len(cells)
        self.type_errors: dict[int, OrgError] = {}
        self.write_errors: dict[int, OrgError] = {}
        self.rule_errors: dict[int, OrgError] = {}
        self._convert(cells)

    def _convert(self, cells: Sequence[str]) -> None:
        f, t = self.f, self.f["type"]
        updateable, null = bool(f["updateable"]), validate.NULL_CELL
        fast = _number_re(f) if t in _NUMBER_TYPES else _INT_RE if t == "int" else None
        if updateable and t in TEXT_TYPES:  # a text cell is its stored value
            length = int(f.get("length") or 0) or 1 << 62
            self.values = list(cells)
            odd = [i for i, c in enumerate(cells) if len(c) > length or c == null or "\x00" in c]
        elif updateable and fast is not None:  # so is a number needing no rounding, within range
            self.values, match = list(cells), fast.fullmatch
            odd = [i for i, c in enumerate(cells) if c and not match(c)]
        else:
            odd = [i for i, c in enumerate(cells) if c]
        for i in odd:
            self.values[i] = None
            if cells[i] == null:
                if not updateable:
                    self.write_errors[i] = _not_updateable(f)
                continue
            stored, type_error, write_error = _slow(f, cells[i], updateable)
            if type_error is not None:
                self.type_errors[i] = type_error
            elif write_error is not None:
                self.write_errors[i] = write_error
            else:
                self.values[i] = stored
        self._rules(cells)

    def _rules(self, cells: Sequence[str]) -> None:
        """validate.check_values on an update: required fields cleared, restricted picklists."""
        f = self.f
        required = not f["nillable"] and f["updateable"] and not f["defaultedOnCreate"]
        restricted = f["type"] in ("picklist", "multipicklist") and f["restrictedPicklist"]
        if not (required or restricted):
            return
        allowed = {p["value"] for p in f["picklistValues"] if p["active"]} if restricted else set()
        for i, cell in enumerate(cells):
            if cell == "" or i in self.type_errors or i in self.write_errors:
                continue
            value = self.values[i]
            if value is None:
                if required:
                    self.rule_errors[i] = OrgError(400, "REQUIRED_FIELD_MISSING",
                                                   f"Required fields are missing: [{f['name']}]", [f["name"]])
                continue
            if restricted:
                chosen = value.split(";") if f["type"] == "multipicklist" else [value]
                bad = [v for v in chosen if v not in allowed]
                if bad:
                    self.rule_errors[i] = OrgError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                                   f"{f['label']}: bad value for restricted picklist "
                                                   f"field: {bad[0]}", [f["name"]])


def apply_update(eng: OrgStore, obj: ObjectSchema, header: list[str], fields: list[dict | None],
                 rows: list[list[str]], before_row: Callable[[dict], None]) -> list[RowResult]:
    """Write an update chunk that :func:`applies`; one result per row, in order."""
    n = len(rows)
    out = [RowResult() for _ in rows]
    failed = [False] * n
    for i, row in enumerate(rows):
        if len(row) != len(header):
            out[i], failed[i] = RowResult("", False, OrgError(
                400, "INVALID_FIELD", f"The row has {len(row)} values; the header has {len(header)}", [])), True
    at = next(j for j, f in enumerate(fields) if f is not None and f["name"] == "Id")
    width = len(header)
    if not rows:
        return out
    shaped = rows if not any(failed) else [row if len(row) == width else [""] * width for row in rows]
    by_column = list(zip(*shaped))  # the chunk's cells column by column
    columns = [(j, _Column(f, by_column[j]))  # type: ignore[arg-type]
               for j, f in enumerate(fields) if j != at]

    def fail(i: int, error: OrgError, record_id: str = "") -> None:
        out[i], failed[i] = RowResult(record_id, False, error), True

    for _, col in columns:  # the cells' types, the first in header order (validate.csv_value)
        for i, error in col.type_errors.items():
            if not failed[i]:
                fail(i, error)
    record_ids: list[str] = [""] * n
    # a cell that is a stored Id is its own 18-character form: only the others need the checksum
    found = batchsql.existing(eng, obj, [row[at] for i, row in enumerate(rows) if not failed[i]])
    for i, row in enumerate(rows):
        if failed[i]:
            continue
        cell = row[at]
        try:
            before_row({"Id": cell} if cell != "" else {})
        except OrgError as exc:
            fail(i, exc, cell if cell in found else _id18(cell) or "")
            continue
        rid = cell if cell in found else _id18(cell)
        if cell == "":
            fail(i, OrgError(400, "MISSING_ARGUMENT", "Id not specified in an update call", []))
        elif rid is None:
            fail(i, validate.malformed_id({"label": "Record ID", "name": "Id"}, cell))
        else:
            record_ids[i] = rid
    others = [r for i, r in enumerate(record_ids) if not failed[i] and r not in found]
    if others:
        found.update(batchsql.existing(eng, obj, others))
    for i, rid in enumerate(record_ids):
        if not failed[i] and found.get(rid, True):
            fail(i, batchsql.deleted_error(), rid)
    for kind in ("write_errors", "rule_errors"):  # records.writable, then validate.check_values
        for _, col in columns:  # the first in header order
            for i, error in getattr(col, kind).items():
                if not failed[i]:
                    fail(i, error, record_ids[i])
    _write(eng, obj, columns, record_ids, failed)
    for i in range(n):
        if not failed[i]:
            out[i] = RowResult(record_ids[i], False)
    return out


def _id18(cell: str) -> str | None:
    """The 18-character form of an Id cell, or None when it is not an Id (as batchwrite._record_id)."""
    if not ids.is_id(cell):
        return None
    return cell[:15] + ids.suffix(cell[:15])


def _write(eng: OrgStore, obj: ObjectSchema, columns: list[tuple[int, _Column]], record_ids: list[str],
           failed: list[bool]) -> None:
    """One UPDATE per set of columns the good rows set (empty cells leave a field as it is)."""
    groups: dict[tuple[bool, ...], list[int]] = {}
    shapes = zip(*(col.present for _, col in columns)) if columns else (() for _ in record_ids)
    for i, shape in enumerate(shapes):
        if not failed[i]:
            groups.setdefault(shape, []).append(i)
    for shape, rows in groups.items():
        chosen = [col for (_, col), on in zip(columns, shape) if on]
        data = {"Id": pa.array([record_ids[i] for i in rows], pa.string())}
        for j, col in enumerate(chosen):
            values = col.values
            data[f"c{j}"] = pa.array([values[i] for i in rows], pa.string())
        batchsql.update_table(eng, obj, [col.f["name"] for col in chosen], pa.table(data))
