"""Many record writes of one object and one operation, with one result per row, in order.

Bulk API 2.0 ingest jobs write their rows through :func:`apply`: ``insert``, ``update``,
``upsert`` (on an external-id field), ``delete`` and ``hardDelete``. Each row is a dict of
values as the REST JSON path takes them (``None`` sets null; a key ``Account.External_Id__c``
sets a lookup through the parent's external id); a row's problem is its own error, the other
rows are written. The caller wraps a chunk of rows in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import ids, records, upsert, validate
from .errors import OrgError

if TYPE_CHECKING:
    from .store import OrgStore

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


@dataclass
class RowResult:
    """What happened to one row: its record Id (when known), created?, or the error."""

    record_id: str = ""
    created: bool = False
    error: OrgError | None = None


def _deleted_error() -> OrgError:
    return OrgError(400, "ENTITY_IS_DELETED", "entity is deleted", [])


def _record_id(values: dict) -> str:
    value = next((v for k, v in values.items() if k.lower() == "id"), None)
    if value in (None, ""):
        raise OrgError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
    if not ids.is_id(str(value)):
        raise validate.malformed_id({"label": "Record ID", "name": "Id"}, value)
    return ids.to18(str(value))


def _one(eng: OrgStore, obj_name: str, operation: str, values: dict, ext_field: str | None) -> RowResult:
    if operation == "insert":
        return RowResult(records.create(eng, obj_name, values), True)
    if operation == "upsert":
        assert ext_field is not None
        value = next((v for k, v in values.items() if k.lower() == ext_field.lower()), None)
        record_id, created = upsert.upsert(eng, obj_name, ext_field, value, values)
        return RowResult(record_id, created)
    record_id = _record_id(values)
    try:
        if operation == "update":
            records.update(eng, obj_name, record_id, {k: v for k, v in values.items() if k.lower() != "id"})
        elif operation == "delete":
            records.delete(eng, obj_name, record_id)
        else:
            records.purge(eng, obj_name, [record_id])
    except OrgError as exc:
        if exc.status == 404:
            raise _deleted_error() from None
        raise
    return RowResult(record_id, False)


def apply(eng: OrgStore, obj_name: str, operation: str, rows: Sequence[dict | OrgError],
          ext_field: str | None = None,
          before_row: Callable[[dict], None] | None = None) -> list[RowResult]:
    """Write ``rows`` (an OrgError stands for a row that already failed); one result per row.

    ``before_row`` runs before each row's write and may raise an OrgError for that row (the
    row-lock fault).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    out: list[RowResult] = []
    for values in rows:
        if isinstance(values, OrgError):
            out.append(RowResult(error=values))
            continue
        try:
            if before_row is not None:
                before_row(values)
            out.append(_one(eng, obj_name, operation, values, ext_field))
        except OrgError as exc:
            known = ""
            if operation in ("update", "delete", "hardDelete"):
                try:
                    known = _record_id(values)
                except OrgError:
                    known = ""
            out.append(RowResult(known, False, exc))
    return out
