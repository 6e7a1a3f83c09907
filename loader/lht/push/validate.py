"""A push model checked against the object's describe before any write call.

Refused (nothing sent): a column that is no field of the object (nor a lookup written
through its parent's external id, ``Account.External_Id__c``), a field the operation
cannot write (not createable for insert, not updateable for update, neither for upsert),
an upsert key that is not an external id, a key column missing from the model. Columns
starting with ``_`` are not sent; an insert may be keyed by one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lht.push.changeset import MATCH_ID
from lht.push.spec import PushSpec
from lht.salesforce.values import OutColumn

_SCALED = frozenset({"double", "currency", "percent"})


@dataclass(frozen=True)
class SendPlan:
    """What goes out for one push: the columns on the wire and how rows are matched."""

    columns: tuple[OutColumn, ...]
    key_column: str  # the model's key column, as stored
    key_header: str | None  # the key's header on the wire; None when the key is not sent (`_key`)
    external_id_field: str | None  # upsert only


def model_columns(names: Sequence[str]) -> list[str]:
    """The columns of a model that a push could send (not the ``_`` ones)."""
    return [n for n in names if not n.startswith("_")]


def check(
    spec: PushSpec, stored_columns: Sequence[str], describe: Mapping[str, Any]
) -> tuple[SendPlan | None, list[str]]:
    """The plan of ``spec``, or the refusals (each naming the column or the key)."""
    refusals: list[str] = []
    fields = {f["name"].lower(): f for f in describe.get("fields") or []}
    relationships = {
        str(f.get("relationshipName")).lower(): f
        for f in fields.values()
        if f.get("type") == "reference" and f.get("relationshipName")
    }
    by_lower = {c.lower(): c for c in stored_columns}
    key_column = by_lower.get(spec.key.lower())
    if key_column is None:
        return None, [f"the key column {spec.key!r} is not a column of the model."]
    key_is_field = not key_column.startswith("_")
    if spec.match_on:
        if "id" in by_lower:
            return None, [
                f"with match_on the model selects {spec.match_on}, not Id (lht finds the Id): drop the "
                f"column {by_lower['id']!r}."
            ]
        if spec.match_on.lower() not in fields:
            return None, [f"match_on {spec.match_on!r} is not a field of {spec.object_name}."]
    if not key_is_field and spec.operation != "insert":
        refusals.append(
            f"key {key_column!r} starts with `_` (not sent); only an insert push may "
            "be keyed by a column of its own."
        )
    if spec.match_on:  # the match field finds the record (its Id is sent); it is not written
        sent = [] if spec.deletes else [c for c in model_columns(stored_columns) if c != key_column]
    elif spec.deletes:
        sent = [key_column]
    else:
        sent = model_columns(stored_columns)
    columns: list[OutColumn] = []
    verb = {"insert": "createable", "update": "updateable"}.get(spec.operation)
    for column in sent:
        lower = column.lower()
        if "." in column:
            relationship, parent_field = column.split(".", 1)
            ref = relationships.get(relationship.lower())
            if ref is None:
                refusals.append(
                    f"column {column!r}: {spec.object_name} has no lookup named "
                    f"{relationship!r} (write a lookup through its relationship name, e.g. "
                    "Account.External_Id__c)."
                )
                continue
            flag = {"insert": "createable", "update": "updateable"}.get(spec.operation)
            if flag and not ref.get(flag, True):
                refusals.append(f"column {column!r}: {ref['name']} is not {flag}.")
            columns.append(OutColumn(column, f"{ref['relationshipName']}.{parent_field}", "string"))
            continue
        field = fields.get(lower)
        if field is None:
            refusals.append(
                f"column {column!r} is not a field of {spec.object_name} "
                "(rename it to the field's API name, or start it with `_` to keep it unsent)."
            )
            continue
        name = field["name"]
        is_id = name == "Id"
        if is_id and spec.operation in ("update", "delete", "hard_delete"):
            pass
        elif is_id and spec.operation == "upsert" and key_column.lower() == "id":
            pass
        elif spec.deletes:
            pass
        elif verb and not field.get(verb, False):
            refusals.append(
                f"column {column!r}: {spec.object_name}.{name} is not {verb} "
                f"(an {spec.operation} cannot write it)."
            )
        elif spec.operation == "upsert" and not (
            field.get("createable") or field.get("updateable")
        ):
            refusals.append(
                f"column {column!r}: {spec.object_name}.{name} is neither createable "
                "nor updateable."
            )
        scale = int(field.get("scale") or 0) if field.get("type") in _SCALED else None
        columns.append(OutColumn(column, name, str(field.get("type") or "string"), scale))
    external_id = None
    if spec.operation == "upsert":
        key_field = fields.get(key_column.lower())
        if key_field is not None and key_field["name"] != "Id" and not key_field.get("externalId"):
            refusals.append(
                f"key {key_column!r}: {spec.object_name}.{key_field['name']} is not an "
                "external id field; an upsert matches records by an external id (or Id)."
            )
        external_id = key_field["name"] if key_field is not None else None
    if spec.operation == "insert" and key_is_field and key_column.lower() == "id":
        refusals.append(
            "an insert cannot be keyed by Id (Salesforce assigns it); key it by an "
            "external id or a column of the model's own such as `_key`."
        )
    if refusals:
        return None, refusals
    key_header = (
        next((c.header for c in columns if c.column == key_column), None) if key_is_field else None
    )
    if spec.match_on:
        columns.insert(0, OutColumn(MATCH_ID, "Id", "id"))
    return SendPlan(tuple(columns), key_column, key_header, external_id), []


def parent_columns(
    stored_columns: Sequence[str], describe: Mapping[str, Any] | None, spec: PushSpec
) -> list[str]:
    """The model's columns that name a record's parent, by which its rows are sent ordered:
    lookups (reference fields other than Id, by ``describe`` when cached, else the columns
    whose name ends in ``Id``) and lookups written through a parent's external id
    (``Account.External_Id__c``). None for a delete."""
    if spec.deletes:
        return []
    references = None
    if describe is not None:
        references = {
            str(f["name"]).lower()
            for f in describe.get("fields") or []
            if f.get("type") == "reference" and f.get("name") != "Id"
        }
    found = []
    for column in model_columns(stored_columns):
        if "." in column:
            found.append(column)
        elif references is not None and column.lower() in references:
            found.append(column)
        elif references is None and len(column) > 2 and column.endswith("Id"):
            found.append(column)
    return found
