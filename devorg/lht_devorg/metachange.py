"""Schema changes (fields added or removed) and formula values that change silently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import OrgError
from .customobjects import plain_object_fields
from .fieldspec import complete_field
from .planner import q
from .records import AUDIT_FIELDS, record_id18
from .schema import COMPOUND_TYPES, duck_type

if TYPE_CHECKING:
    from .store import OrgStore


def add_field(eng: OrgStore, obj_name: str, field: dict) -> None:
    """Add a field and its column; bump the metadata time."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        full = complete_field(field)
        if obj.field(full["name"]):
            raise OrgError(400, "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {full['name']} on {obj.name}.")
        obj.describe["fields"].append(full)
        obj.reindex()
        if full["type"] not in COMPOUND_TYPES:
            eng._con.execute(f"ALTER TABLE {q(obj.name.lower())} ADD COLUMN {q(full['name'])} {duck_type(full)}")
        eng._touch_metadata(obj.name)


def remove_field(eng: OrgStore, obj_name: str, name: str) -> None:
    """Remove a field and its column; bump the metadata time."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        f = obj.field(name)
        if f is None or f["name"] in AUDIT_FIELDS:
            raise OrgError(400, "INVALID_FIELD", f"No such removable field '{name}' on {obj.name}")
        obj.describe["fields"] = [g for g in obj.describe["fields"] if g is not f]
        obj.reindex()
        if f["type"] not in COMPOUND_TYPES:
            eng._con.execute(f"ALTER TABLE {q(obj.name.lower())} DROP COLUMN {q(f['name'])}")
        eng._touch_metadata(obj.name)


def change_formula_silently(eng: OrgStore, obj_name: str, field: str, record_ids: Sequence[str] | None) -> None:
    """Give a formula field new values (its ``silent change`` SQL) without touching the audit stamps."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        f = obj.field(field)
        formulas = obj.formulas()
        if f is None or f["name"] not in formulas:
            raise OrgError(400, "INVALID_FIELD", f"'{field}' is not a formula field of {obj.name}")
        where, params = "TRUE", []
        if record_ids is not None:
            params = [record_id18(r) for r in record_ids]
            where = f'"Id" IN ({", ".join("?" for _ in params)})' if params else "FALSE"
        normal, alt = formulas[f["name"]]
        col = q(f["name"])  # toggles, so every call changes the value again
        eng._con.execute(f"UPDATE {q(obj.name.lower())} SET {col} = CASE WHEN {col} IS NOT DISTINCT FROM ({alt}) "
                         f"THEN ({normal}) ELSE ({alt}) END WHERE {where}", params)


def add_objects(eng: OrgStore, objects: Sequence[tuple[str, str]]) -> None:
    """Add plain custom objects (audit fields and a Name), empty, each with its table.

    ``objects`` holds ``(api name, key prefix)`` pairs; the metadata changes once for all.
    """
    with eng._lock:
        for name, key_prefix in objects:
            if not name.endswith("__c"):
                raise OrgError(400, "INVALID_TYPE", f"A custom object name ends in __c: {name}")
            fields = [complete_field(f) for f in plain_object_fields()]
            eng.schema.add_object(name, name[:-3].replace("_", " "), key_prefix, fields)
            eng._create_table(name, replace=False)
        if objects:
            eng._touch_metadata(objects[0][0])
            for name, _ in objects[1:]:
                eng._meta_time[name] = eng._meta_time[objects[0][0]]
