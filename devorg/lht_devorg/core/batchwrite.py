"""Many record writes of one object and one operation, with one result per row, in order.

Bulk API 2.0 ingest jobs write their rows through :func:`apply`: ``insert``, ``update``,
``upsert`` (on an external-id field), ``delete`` and ``hardDelete``. Each row is a dict of
values as the REST JSON path takes them (``None`` sets null; a key ``Account.External_Id__c``
sets a lookup through the parent's external id); a row's problem is its own error, the other
rows are written. The caller wraps a chunk of rows in one transaction.

The checks are the single-record writes' (:mod:`.records`, :mod:`.validate`), but the
database work is set-based: one query finds the records an update names, one the matches of
an upsert's external ids, one each the holders of unique values and the parents of lookups;
rows then go in with one INSERT or one UPDATE ... FROM an Arrow table per set of columns.
Two rows of a chunk naming the same record are written in order, one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import ids
from ..errors import OrgError
from ..meta.schema import ObjectSchema
from . import batchsql, records, validate
from .rules import WriteRules, assign, duplicate_errors

if TYPE_CHECKING:
    from .store import OrgStore

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


@dataclass
class RowResult:
    """What happened to one row: its record Id (when known), created?, or the error."""

    record_id: str = ""
    created: bool = False
    error: OrgError | None = None


def _record_id(values: dict) -> str:
    value = next((v for k, v in values.items() if k.lower() == "id"), None)
    if value in (None, ""):
        raise OrgError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
    if not ids.is_id(str(value)):
        raise validate.malformed_id({"label": "Record ID", "name": "Id"}, value)
    return ids.to18(str(value))


def _fold(f: dict, value: object) -> str:
    return str(value) if f["caseSensitive"] or f["type"] == "id" else str(value).lower()


def _unique(
    eng: OrgStore,
    obj: ObjectSchema,
    writes: list[tuple[int, str, dict]],
    out: list[RowResult],
    updating: set[int],
) -> None:
    """DUPLICATE_VALUE for rows whose unique values another record, or an earlier row, holds."""
    present = set().union(*(row.keys() for _, _, row in writes)) if writes else set()
    unique = {
        f["name"]: f
        for f in (obj.field(n) for n in present)
        if f is not None and f["unique"] and f["type"] != "id"
    }
    fields: dict[str, dict] = {}  # in the order the rows first set them, as validate.unique_fields
    if unique:
        for _, _, row in writes:
            for name, value in row.items():
                if value is not None and name in unique:
                    fields.setdefault(name, unique[name])
    for name, f in fields.items():
        holders = validate.find_ids_many(eng, obj, f, [row.get(name) for _, _, row in writes])
        seen: dict[str, str] = {}
        for i, rid, row in writes:
            if row.get(name) is None or out[i].error is not None:
                continue
            key = _fold(f, row[name])
            others = [x for x in holders.get(key, []) if x != rid]
            first = seen.setdefault(key, rid)
            if others or first != rid:
                out[i] = RowResult(
                    rid if i in updating else "",
                    False,
                    validate.duplicate_value(f, others[0] if others else first),
                )


def apply(
    eng: OrgStore,
    obj_name: str,
    operation: str,
    rows: Sequence[dict | OrgError],
    ext_field: str | None = None,
    before_row: Callable[[dict], None] | None = None,
    rules: WriteRules | None = None,
) -> list[RowResult]:
    """Write ``rows`` (an OrgError stands for a row that already failed); one result per row.

    ``before_row`` runs before each row's write and may raise an OrgError for that row (the
    row-lock fault). ``rules``: the request's assignment rule and duplicate-rule override
    (:mod:`.rules`; Account's duplicate rule runs on every write path).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    obj = eng.schema.require(obj_name)
    out = [RowResult() for _ in rows]
    live: list[int] = []
    for i, values in enumerate(rows):
        if isinstance(values, OrgError):
            out[i].error = values
            continue
        try:
            if before_row is not None:
                before_row(values)
            live.append(i)
        except OrgError as exc:
            out[i] = RowResult(_known_id(operation, values), False, exc)
    if operation in ("delete", "hardDelete"):
        named: list[tuple[int, str]] = []
        for i in live:
            try:
                named.append((i, _record_id(rows[i])))  # type: ignore[arg-type]
            except OrgError as exc:
                out[i] = RowResult("", False, exc)
        errors = batchsql.delete(eng, obj, operation == "hardDelete", named)
        for i, rid in named:
            out[i] = RowResult(rid, False, errors.get(i))
        return out
    cache = validate.prefetch_lookups(eng, obj, [rows[i] for i in live])  # type: ignore[misc]
    plan = records.create_plan(obj)
    updates: list[tuple[int, str, dict]] = []
    inserts: list[tuple[int, dict]] = []

    def plan_update(i: int, rid: str, values: dict) -> None:
        row = records.writable(eng, obj, values, creating=False, cache=cache)
        validate.check_values(obj, row, rid)
        updates.append((i, rid, row))
        out[i] = RowResult(rid, False)

    if operation == "update":
        named = []
        for i in live:
            try:
                named.append((i, _record_id(rows[i])))  # type: ignore[arg-type]
            except OrgError as exc:
                out[i] = RowResult("", False, exc)
        existing = batchsql.existing(eng, obj, [rid for _, rid in named])
        for i, rid in named:
            try:
                if existing.get(rid, True):
                    raise batchsql.deleted_error()
                plan_update(i, rid, {k: v for k, v in rows[i].items() if k.lower() != "id"})  # type: ignore[union-attr]
            except OrgError as exc:
                out[i] = RowResult(rid, False, exc)
    elif operation == "insert":
        for i in live:
            try:
                if any(k.lower() == "id" and v not in (None, "") for k, v in rows[i].items()):  # type: ignore[union-attr]
                    raise OrgError(
                        400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                    )
                inserts.append((i, records.new_row(eng, obj, rows[i], cache, plan)))  # type: ignore[arg-type]
            except OrgError as exc:
                out[i] = RowResult("", False, exc)
    else:
        keyed = [(i, rows[i]) for i in live]
        _plan_upsert(eng, obj, ext_field, keyed, out, plan_update, inserts, cache, plan)  # type: ignore[arg-type]
    if inserts:
        first, now = batchsql.reserve(eng, obj, len(inserts)), eng.now()
        for k, (i, row) in enumerate(inserts):
            out[i] = RowResult(records.stamp_new(obj, row, first + k, now), True)
    updating = {i for i, _, _ in updates}
    _unique(
        eng,
        obj,
        sorted([*updates, *((i, row["Id"], row) for i, row in inserts)], key=lambda w: w[0]),
        out,
        updating,
    )
    _rules(eng, obj, rules, updates, inserts, out)
    good_updates = [(rid, row) for i, rid, row in updates if out[i].error is None]
    good_inserts = [row for i, row in inserts if out[i].error is None]
    if good_updates:
        batchsql.write_updates(eng, obj, good_updates)
    if good_inserts:
        batchsql.write_inserts(eng, obj, good_inserts)
    return out


def _rules(
    eng: OrgStore,
    obj: ObjectSchema,
    rules: WriteRules | None,
    updates: list[tuple[int, str, dict]],
    inserts: list[tuple[int, dict]],
    out: list[RowResult],
) -> None:
    """The duplicate rule's refusals, then the assignment rule's owner on the rows still good."""
    pending = sorted(
        [
            *((i, rid, row, False) for i, rid, row in updates if out[i].error is None),
            *((i, row["Id"], row, True) for i, row in inserts if out[i].error is None),
        ],
        key=lambda w: w[0],
    )
    blocked = duplicate_errors(
        eng, obj, rules, [(rid, row, creating) for _, rid, row, creating in pending]
    )
    for k, error in blocked.items():
        i, rid, _, creating = pending[k]
        out[i] = RowResult("" if creating else rid, False, error)
    assign(eng, obj, rules, [row for i, _, row, _ in pending if out[i].error is None])


def _plan_upsert(
    eng: OrgStore,
    obj: ObjectSchema,
    ext_field: str | None,
    live: list[tuple[int, dict]],
    out: list[RowResult],
    plan_update: Callable[[int, str, dict], None],
    inserts: list[tuple[int, dict]],
    cache: validate.LookupCache,
    plan: records.CreatePlan,
) -> None:
    f = validate.external_id_field(obj, ext_field or "")
    keyed: list[tuple[int, dict, object]] = []
    for i, values in live:
        value = next((v for k, v in values.items() if k.lower() == f["name"].lower()), None)
        if value in (None, ""):
            out[i] = RowResult(
                "",
                False,
                OrgError(400, "MISSING_ARGUMENT", f"{f['name']} not specified", [f["name"]]),
            )
        else:
            keyed.append((i, values, value))
    counts: dict[str, int] = {}
    for _, _, value in keyed:
        counts[_fold(f, value)] = counts.get(_fold(f, value), 0) + 1
    matches = validate.find_ids_many(eng, obj, f, [v for _, _, v in keyed])
    for i, values, value in keyed:
        body = {k: v for k, v in values.items() if k.lower() not in (f["name"].lower(), "id")}
        found = matches.get(_fold(f, value), [])
        try:
            if counts[_fold(f, value)] > 1:
                raise OrgError(
                    400,
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {value}",
                    [f["name"]],
                )
            if len(found) > 1:
                raise OrgError(
                    400,
                    "DUPLICATE_EXTERNAL_ID",
                    f"{f['label']}: more than one record found for external id field: {found}",
                    [],
                )
            if found:
                plan_update(i, found[0], body)
            elif f["type"] == "id":
                raise batchsql.deleted_error()
            else:
                body[f["name"]] = value
                inserts.append((i, records.new_row(eng, obj, body, cache, plan)))
        except OrgError as exc:
            out[i] = RowResult(found[0] if len(found) == 1 else "", False, exc)


def _known_id(operation: str, values: dict) -> str:
    if operation not in ("update", "delete", "hardDelete"):
        return ""
    try:
        return _record_id(values)
    except OrgError:
        return ""
