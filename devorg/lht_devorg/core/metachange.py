"""Schema changes an admin makes (fields added, removed, retyped, hidden or shown again) and
formula values that change silently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import OrgError
from ..meta.customobjects import plain_object_fields
from ..meta.fieldspec import complete_field
from ..meta.schema import COMPOUND_TYPES, duck_type
from ..soql.planner import q
from .records import AUDIT_FIELDS, record_id18

if TYPE_CHECKING:
    from .store import OrgStore


def add_field(eng: OrgStore, obj_name: str, field: dict) -> None:
    """Add a field and its column; bump the metadata time."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        full = complete_field(field)
        if obj.field(full["name"]):
            raise OrgError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {full['name']} on {obj.name}.",
            )
        obj.describe["fields"].append(full)
        obj.reindex()
        if full["type"] not in COMPOUND_TYPES:
            eng._con.execute(
                f"ALTER TABLE {q(obj.name.lower())} ADD COLUMN {q(full['name'])} {duck_type(full)}"
            )
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


def change_formula_silently(
    eng: OrgStore, obj_name: str, field: str, record_ids: Sequence[str] | None
) -> None:
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
        eng._con.execute(
            f"UPDATE {q(obj.name.lower())} SET {col} = CASE WHEN {col} IS NOT DISTINCT FROM ({alt}) "
            f"THEN ({normal}) ELSE ({alt}) END WHERE {where}",
            params,
        )


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


#: Describe attributes a type change may set.
_TYPE_KEYS = (
    "type",
    "precision",
    "scale",
    "length",
    "digits",
    "referenceTo",
    "picklistValues",
    "soapType",
    "relationshipName",
)


def change_field_type(eng: OrgStore, obj_name: str, name: str, changes: dict) -> None:
    """Change a field's type as Setup does (``changes``: type, precision, scale, length,
    referenceTo...): the describe follows, stored values are converted (a value the new
    type cannot hold becomes NULL, as Salesforce warns), SystemModstamp does not move."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        f = obj.field(name)
        if (
            f is None
            or f["name"] in AUDIT_FIELDS
            or f["type"] in COMPOUND_TYPES
            or f["name"] == "Id"
        ):
            raise OrgError(400, "INVALID_FIELD", f"No such changeable field '{name}' on {obj.name}")
        unknown = set(changes) - set(_TYPE_KEYS)
        if unknown:
            raise OrgError(
                400, "INVALID_INPUT", f"Cannot change {sorted(unknown)} of a field's type"
            )
        base = {k: v for k, v in f.items() if k not in _TYPE_KEYS}
        full = complete_field({**base, **changes, "name": f["name"]})
        f.clear()
        f.update(full)
        obj.reindex()
        col, new = q(f["name"]), duck_type(full)
        eng._con.execute(
            f"ALTER TABLE {q(obj.name.lower())} ALTER COLUMN {col} SET DATA TYPE {new} "
            f"USING TRY_CAST({col} AS {new})"
        )
        eng._touch_metadata(obj.name)


def set_field_visible(eng: OrgStore, obj_name: str, name: str, visible: bool) -> None:
    """Hide a field from the API user (field-level security revoked) or show it again.

    Hidden, it leaves the describe and queries naming it fail with INVALID_FIELD; its values
    stay in the store, so once visible again every record has its old value, while no
    record's SystemModstamp moved (as in Salesforce).
    """
    with eng._lock:
        obj = eng.schema.require(obj_name)
        key = (obj.name, name.lower())
        if visible:
            hidden = eng.hidden_fields.pop(key, None)
            if hidden is None:
                raise OrgError(
                    400, "INVALID_FIELD", f"'{name}' is not a hidden field of {obj.name}"
                )
            obj.describe["fields"].append(hidden)
        else:
            f = obj.field(name)
            if (
                f is None
                or f["name"] in AUDIT_FIELDS
                or f["name"] == "Id"
                or f["type"] in COMPOUND_TYPES
            ):
                raise OrgError(
                    400, "INVALID_FIELD", f"No such hideable field '{name}' on {obj.name}"
                )
            obj.describe["fields"] = [g for g in obj.describe["fields"] if g is not f]
            eng.hidden_fields[key] = f
        obj.reindex()
        eng._touch_metadata(obj.name)


#: Object-level describe flags an admin situation may set (see set_object_flags).
OBJECT_FLAGS = (
    "replicateable",
    "retrieveable",
    "deletable",
    "undeletable",
    "queryable",
    "searchable",
    "triggerable",
)


def set_object_flags(eng: OrgStore, obj_name: str, flags: dict) -> None:
    """Give an object the describe flags of another kind of object (a history, share or feed
    object is ``replicateable: false``, often ``deletable: false``); the API follows them."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        unknown = set(flags) - set(OBJECT_FLAGS)
        if unknown:
            raise OrgError(
                400, "INVALID_INPUT", f"Unknown object flags {sorted(unknown)}; use {OBJECT_FLAGS}"
            )
        obj.describe.update({k: bool(v) for k, v in flags.items()})
        eng._touch_metadata(obj.name)
