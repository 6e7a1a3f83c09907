"""Describe-driven checks of a record write, with Salesforce's error codes and messages.

- values from Bulk CSV text (:func:`csv_value`): an empty cell is "leave as is" (the caller
  omits it), ``#N/A`` is null; dates ``YYYY-MM-DD``, datetimes with ``T`` and ``Z`` or an
  offset, booleans ``true``/``false``;
- lookups set through a parent's external id (:func:`resolve_lookups`): a nested JSON object
  ``{"Account": {"External_Id__c": "X"}}`` or a CSV header ``Account.External_Id__c``;
- rules on the converted row: restricted picklists and required fields cleared by an update
  (:func:`check_values`), unique fields (:func:`check_unique`, DUPLICATE_VALUE);
- errors as Bulk 2.0 writes them in ``sf__Error`` (:func:`bulk_error`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .. import ids
from ..errors import OrgError
from ..meta.schema import ObjectSchema
from ..soql.planner import q

if TYPE_CHECKING:
    from .store import OrgStore

#: The Bulk CSV cell that sets a field to null.
NULL_CELL = "#N/A"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def not_of_type(f: dict, value: object) -> OrgError:
    """INVALID_TYPE_ON_FIELD_IN_RECORD for a value that does not fit field ``f``."""
    return OrgError(
        400,
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f['label']}: value not of required type: {value}",
        [f["name"]],
    )


def malformed_id(f: dict | None, value: object) -> OrgError:
    """MALFORMED_ID for a value that is not a record Id."""
    if f is None:
        return OrgError(400, "MALFORMED_ID", f"malformed id {value}", [])
    return OrgError(
        400, "MALFORMED_ID", f"{f['label']}: id value of incorrect type: {value}", [f["name"]]
    )


def csv_value(f: dict, text: str) -> object:
    """A Bulk CSV cell converted to what the JSON path would send for field ``f``.

    ``#N/A`` is None; the result goes through the same storage coercion as REST values.
    Raises INVALID_TYPE_ON_FIELD_IN_RECORD when the text does not fit the field's type.
    """
    if text == NULL_CELL:
        return None
    t = f["type"]
    if t == "boolean":
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise not_of_type(f, text)
    if t in ("int", "long"):
        try:
            return int(text.strip())
        except ValueError:
            raise not_of_type(f, text) from None
    if t in ("double", "currency", "percent"):
        try:
            float(text.strip())
        except ValueError:
            raise not_of_type(f, text) from None
        return text.strip()
    if t in ("date", "datetime"):
        value = text.strip()
        if not (_DATE_RE.match(value) or _DATETIME_RE.match(value)):
            raise not_of_type(f, text)
        try:
            dt.date.fromisoformat(value[:10])
            if len(value) > 10:
                dt.time.fromisoformat(re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", value[11:]))
        except ValueError:
            raise not_of_type(f, text) from None
        return value
    return text


def external_id_field(obj: ObjectSchema, name: str) -> dict:
    """The external-id (or idLookup) field ``name`` of ``obj`` (404 NOT_FOUND otherwise)."""
    f = obj.field(name)
    if f is None or not (f["externalId"] or f["idLookup"]):
        raise OrgError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name}",
        )
    return f


def find_ids(eng: OrgStore, obj: ObjectSchema, f: dict, value: object) -> list[str]:
    """Ids of the live records of ``obj`` whose field ``f`` equals ``value`` (case-insensitive)."""
    if f["type"] == "id":
        try:
            value = ids.to18(str(value))
        except ValueError:
            return []
    alive = ' AND NOT "IsDeleted"' if obj.field("IsDeleted") else ""
    col = q(f["name"])
    cond = f"{col} = ?" if f["caseSensitive"] or f["type"] == "id" else f"lower({col}) = lower(?)"
    rows = eng._con.execute(
        f'SELECT "Id" FROM {q(obj.name.lower())} WHERE {cond}{alive} ORDER BY "Id"', [str(value)]
    ).fetchall()
    return [r[0] for r in rows]


def find_ids_many(
    eng: OrgStore, obj: ObjectSchema, f: dict, values: list[object]
) -> dict[str, list[str]]:
    """Live records of ``obj`` by value of field ``f`` (lower-cased keys unless case-sensitive)."""
    fold = not (f["caseSensitive"] or f["type"] == "id")
    wanted = sorted({(str(v).lower() if fold else str(v)) for v in values if v is not None})
    if not wanted:
        return {}
    alive = ' AND NOT "IsDeleted"' if obj.field("IsDeleted") else ""
    col = f"lower({q(f['name'])})" if fold else q(f["name"])
    rows = eng._con.execute(
        f'SELECT {col}, "Id" FROM {q(obj.name.lower())} WHERE list_contains(?, {col})'
        f'{alive} ORDER BY "Id"',
        [wanted],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for value, record_id in rows:
        out.setdefault(value, []).append(record_id)
    return out


def _reference(obj: ObjectSchema, relationship: str) -> dict | None:
    rel = relationship.lower()
    return next(
        (
            f
            for f in obj.describe["fields"]
            if f["type"] == "reference" and (f["relationshipName"] or "").lower() == rel
        ),
        None,
    )


#: Parent Ids found ahead for a batch: (target object, field) -> value (lower-cased) -> Ids.
LookupCache = dict[tuple[str, str], dict[str, list[str]]]


def _parent_id(
    eng: OrgStore,
    obj: ObjectSchema,
    relationship: str,
    target_type: str | None,
    key: str,
    value: object,
    cache: LookupCache | None = None,
) -> tuple[str, str | None]:
    """(reference field name, parent Id or None) for a lookup through the parent's ``key``."""
    ref = _reference(obj, relationship)
    if ref is None:
        raise OrgError(
            400, "INVALID_FIELD", f"No such column '{relationship}' on sobject of type {obj.name}"
        )
    target_name = target_type or ref["referenceTo"][0]
    if target_name.lower() not in {t.lower() for t in ref["referenceTo"]}:
        raise OrgError(
            400,
            "INVALID_FIELD",
            f"Invalid type {target_name} for field {ref['name']}",
            [ref["name"]],
        )
    target = eng.schema.require(target_name)
    f = target.field(key)
    if f is None or not (f["externalId"] or f["idLookup"]):
        raise OrgError(
            400,
            "INVALID_FIELD",
            f"{key} is not an external id or indexed field of {target.name}",
            [ref["name"]],
        )
    if value is None or value == "":
        return ref["name"], None
    known = None if cache is None else cache.get((target.name, f["name"]))
    if known is None:
        found = find_ids(eng, target, f, value)
    else:
        fold = not (f["caseSensitive"] or f["type"] == "id")
        found = known.get(str(value).lower() if fold else str(value), [])
    if not found:
        raise OrgError(
            400,
            "INVALID_FIELD",
            f"Foreign key external ID: {value} not found for field "
            f"{f['name']} in entity {target.name}",
            [],
        )
    if len(found) > 1:
        raise OrgError(
            400,
            "DUPLICATE_EXTERNAL_ID",
            f"{f['label']}: more than one record found for external id field: {found}",
            [ref["name"]],
        )
    return ref["name"], found[0]


def _lookups(obj: ObjectSchema, values: dict) -> Iterator[tuple[str, str | None, str, object]]:
    """(relationship, target type or None, parent field, value) of each lookup key of ``values``."""
    for key, value in values.items():
        if isinstance(value, dict) and key != "attributes" and obj.field(key) is None:
            inner = {k: v for k, v in value.items() if k != "attributes"}
            if len(inner) != 1:
                raise OrgError(
                    400,
                    "INVALID_FIELD",
                    f"The relationship {key} needs exactly one external id field",
                    [],
                )
            ((field_name, field_value),) = inner.items()
            attrs = value.get("attributes")
            yield (
                key,
                attrs.get("type") if isinstance(attrs, dict) else None,
                field_name,
                field_value,
            )
        elif "." in key:
            rel, _, field_name = key.partition(".")
            target_type, _, rel = rel.rpartition(":")
            yield rel, target_type or None, field_name, value


def prefetch_lookups(eng: OrgStore, obj: ObjectSchema, rows: list[dict]) -> LookupCache:
    """The parent Ids every lookup of ``rows`` needs, found with one query per parent field."""
    wanted: dict[tuple[str, str], list[object]] = {}
    for values in rows:
        try:
            for rel, target_type, field_name, value in _lookups(obj, values):
                ref = _reference(obj, rel)
                if ref is None or value in (None, ""):
                    continue
                target = eng.schema.get(target_type or ref["referenceTo"][0])
                f = target.field(field_name) if target else None
                if target is not None and f is not None:
                    wanted.setdefault((target.name, f["name"]), []).append(value)
        except OrgError:
            continue  # reported when the row is written
    cache: LookupCache = {}
    for (target_name, field_name), wanted_values in wanted.items():
        target = eng.schema.require(target_name)
        f = target.field(field_name)
        assert f is not None
        cache[(target_name, field_name)] = find_ids_many(eng, target, f, wanted_values)
    return cache


def resolve_lookups(
    eng: OrgStore, obj: ObjectSchema, values: dict, cache: LookupCache | None = None
) -> dict:
    """``values`` with lookups through a parent's external id replaced by the parent's Id.

    A key that names a relationship (``Account``) with a JSON object value, or a key
    ``Account.External_Id__c`` (``Type:Relationship.Field`` for a polymorphic lookup), sets
    the reference field (``AccountId``). Other keys pass through unchanged.
    """
    if not any(isinstance(v, dict) or "." in k for k, v in values.items()):
        return values
    out = {
        k: v
        for k, v in values.items()
        if not ((isinstance(v, dict) and k != "attributes" and obj.field(k) is None) or "." in k)
    }
    for rel, target_type, field_name, value in _lookups(obj, values):
        name, parent = _parent_id(eng, obj, rel, target_type, field_name, value, cache)
        out[name] = parent
    return out


def check_values(obj: ObjectSchema, row: dict[str, object], record_id: str | None) -> None:
    """Restricted picklists and (on update, ``record_id`` set) required fields set to null."""
    for name, value in row.items():
        f = obj.field(name)
        if f is None:
            continue
        if value is None:
            if (
                record_id is not None
                and not f["nillable"]
                and f["updateable"]
                and not f["defaultedOnCreate"]
            ):
                raise OrgError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{f['name']}]",
                    [f["name"]],
                )
            continue
        if f["type"] in ("picklist", "multipicklist") and f["restrictedPicklist"]:
            allowed = {p["value"] for p in f["picklistValues"] if p["active"]}
            chosen = str(value).split(";") if f["type"] == "multipicklist" else [str(value)]
            bad = [v for v in chosen if v not in allowed]
            if bad:
                raise OrgError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f['label']}: bad value for restricted picklist field: {bad[0]}",
                    [f["name"]],
                )


def unique_fields(obj: ObjectSchema, row: dict[str, object]) -> list[dict]:
    """The unique fields (other than Id) ``row`` sets to a value."""
    out = []
    for name, value in row.items():
        f = obj.field(name)
        if f is not None and value is not None and f["unique"] and f["type"] != "id":
            out.append(f)
    return out


def duplicate_value(f: dict, other_id: str) -> OrgError:
    """DUPLICATE_VALUE: a unique field's value is already held by ``other_id``."""
    return OrgError(
        400,
        "DUPLICATE_VALUE",
        f"duplicate value found: {f['name']} duplicates value on record with id: {other_id}",
        [],
    )


def check_unique(
    eng: OrgStore, obj: ObjectSchema, row: dict[str, object], record_id: str | None
) -> None:
    """DUPLICATE_VALUE when another live record holds a value of a unique field of ``row``."""
    for f in unique_fields(obj, row):
        others = [i for i in find_ids(eng, obj, f, row[f["name"]]) if i != record_id]
        if others:
            raise duplicate_value(f, others[0])


def bulk_error(exc: OrgError) -> str:
    """The ``sf__Error`` text of a Bulk 2.0 failed result: ``CODE:message:FIELDS --``."""
    fields = " ".join(exc.fields or [])
    return f"{exc.error_code}:{exc.message}:{fields + ' ' if fields else ''}--"


def row_lock(record_id: str | None) -> OrgError:
    """UNABLE_TO_LOCK_ROW, Salesforce's transient row-lock error."""
    what = f"this record or 1 records: {record_id}" if record_id else "this record"
    return OrgError(400, "UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to {what}", [])
