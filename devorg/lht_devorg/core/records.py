"""Record changes with Salesforce's semantics: audit stamps, recycle bin, purge, getDeleted /
getUpdated, schema changes and silent formula changes. Used through :class:`~.engine.OrgEngine`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from .. import ids
from ..errors import OrgError, not_found
from ..meta.schema import ObjectSchema
from ..soql import render
from ..soql.planner import q
from . import validate
from .derived import derived_reads, derived_sql

if TYPE_CHECKING:
    from .store import OrgStore

#: The integration user every change is made by (the first seeded User).
ADMIN_USER_ID = ids.ADMIN_USER_ID
AUDIT_FIELDS = {
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
}


def _utc_naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def record_id18(record_id: str) -> str:
    """The 18-character form of ``record_id`` (404 NOT_FOUND when it is not an Id)."""
    try:
        return ids.to18(record_id)
    except ValueError:
        raise not_found() from None


#: Field types stored as the text sent (a length check only).
_TEXT_TYPES = frozenset(
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


def coerce(f: dict, value: object) -> object:
    """A REST JSON value converted for storage in field ``f`` (400 on a bad value)."""
    if value is None or value == "":
        return None  # Salesforce stores no empty strings
    t, name = f["type"], f["name"]
    if t in _TEXT_TYPES and type(value) is str:  # the common case, without the checks below
        if "\x00" in value:
            value = value.replace("\x00", "")
        length = f.get("length") or 0
        if length and len(value) > length:
            raise OrgError(
                400,
                "STRING_TOO_LONG",
                f"{f['label']}: data value too large: {value[:40]} (max length={length})",
                [name],
            )
        return value
    try:
        if t == "boolean":
            if not isinstance(value, bool):
                raise TypeError(value)
            return value
        if t in ("int", "long"):
            whole = int(value)  # type: ignore[call-overload]
            digits = f.get("digits") or (9 if t == "int" else 18)
            if abs(whole) >= 10**digits:
                raise OrgError(
                    400,
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f['label']}: value outside of valid range on numeric field: {value}",
                    [name],
                )
            return whole
        if t in ("double", "currency", "percent"):
            number = Decimal(str(value))
            p, s = f.get("precision") or 0, f.get("scale") or 0
            number = round(number, s)
            if p and abs(number) >= Decimal(10) ** (p - s):
                raise OrgError(
                    400,
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f['label']}: value outside of valid range on numeric field: {value}",
                    [name],
                )
            return number
        if t == "date":
            day = dt.date.fromisoformat(str(value)[:10])
            if not dt.date(1700, 1, 1) <= day <= dt.date(4000, 12, 31):
                raise OrgError(400, "INVALID_FIELD", f"{f['label']}: invalid date: {value}", [name])
            return day
        if t == "datetime":
            text = str(value).replace("Z", "+00:00")
            if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
                text = text[:-2] + ":" + text[-2:]
            return _utc_naive(dt.datetime.fromisoformat(text)).replace(microsecond=0)
        if t == "time":
            return dt.time.fromisoformat(str(value).rstrip("Z"))
        if t in ("id", "reference"):
            try:
                return ids.to18(str(value))
            except ValueError:
                raise validate.malformed_id(f, value) from None
    except (ValueError, TypeError, InvalidOperation):
        raise OrgError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {t} from value {value!r} for field {name}",
            [name],
        ) from None
    text = str(value).replace("\x00", "")
    length = f.get("length") or 0
    if length and len(text) > length and t != "base64":
        raise OrgError(
            400,
            "STRING_TOO_LONG",
            f"{f['label']}: data value too large: {text[:40]} (max length={length})",
            [name],
        )
    return text


def writable(
    eng: OrgStore,
    obj: ObjectSchema,
    values: dict,
    *,
    creating: bool,
    cache: validate.LookupCache | None = None,
) -> dict[str, object]:
    """``values`` converted for storage: lookups resolved, each field known and writable (400 if not)."""
    return _writable(eng, obj, values, creating=creating, cache=cache)


def _writable(
    eng: OrgStore,
    obj: ObjectSchema,
    values: dict,
    *,
    creating: bool,
    cache: validate.LookupCache | None = None,
) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in validate.resolve_lookups(eng, obj, values, cache).items():
        if key == "attributes":
            continue
        f = obj.field(key)
        if f is None:
            raise OrgError(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
            )
        allowed = f["createable"] if creating else f["updateable"]
        if not allowed:
            raise OrgError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {f['name']}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission set.",
                [f["name"]],
            )
        out[f["name"]] = coerce(f, value)
    return out


def _insert(eng: OrgStore, obj: ObjectSchema, row: dict[str, object]) -> None:
    cols = ", ".join(q(c) for c in row)
    marks = ", ".join("?" for _ in row)
    eng._con.execute(
        f"INSERT INTO {q(obj.name.lower())} ({cols}) VALUES ({marks})", list(row.values())
    )


def next_number(eng: OrgStore, obj: ObjectSchema) -> int:
    """The next Id counter for ``obj`` (after every seeded row)."""
    cur = eng._con.execute("SELECT next_n FROM _org_counter WHERE obj = ?", [obj.name]).fetchone()
    n = int(cur[0]) if cur else 1
    eng._con.execute("INSERT OR REPLACE INTO _org_counter VALUES (?, ?)", [obj.name, n + 1])
    return n


def recompute_formulas(
    eng: OrgStore,
    obj: ObjectSchema,
    where: str = "TRUE",
    params: list | None = None,
    written: Iterable[str] | None = None,
) -> None:
    """Recompute derived fields (person Name, forecast category, ...) and stored formula values;
    given the fields just ``written``, only when some derived value reads one of them."""
    if written is not None and derived_reads(obj).isdisjoint(n.lower() for n in written):
        return
    for sql in derived_sql(obj, where):
        eng._con.execute(sql, params or [])


CreatePlan = tuple[list[tuple[str, object]], list[str]]


def create_plan(obj: ObjectSchema) -> CreatePlan:
    """What every insert of ``obj`` adds and needs: (field, default) pairs, required fields."""
    defaults: list[tuple[str, object]] = []
    for f in obj.stored_fields():
        if f["defaultedOnCreate"] and f["type"] == "boolean":
            defaults.append((f["name"], bool(f["defaultValue"])))
        elif f["type"] == "picklist":
            default = next((p["value"] for p in f["picklistValues"] if p["defaultValue"]), None)
            if default is not None:
                defaults.append((f["name"], default))
    return defaults, [
        f["name"]
        for f in obj.stored_fields()
        if not f["nillable"] and f["createable"] and not f["defaultedOnCreate"]
    ]


def new_row(
    eng: OrgStore,
    obj: ObjectSchema,
    values: dict,
    cache: validate.LookupCache | None = None,
    plan: CreatePlan | None = None,
) -> dict[str, object]:
    """A record to insert: ``values`` checked and converted, defaults added (no Id, no stamps yet).
    ``plan``: :func:`create_plan` of ``obj``, when many rows are inserted at once."""
    row = _writable(eng, obj, values, creating=True, cache=cache)
    defaults, required = plan or create_plan(obj)
    for n, value in defaults:
        if n not in row:
            row[n] = value
    missing = [n for n in required if row.get(n) is None]
    if missing:
        raise OrgError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    validate.check_values(obj, row, None)
    return row


def stamp_new(obj: ObjectSchema, row: dict[str, object], number: int, now: dt.datetime) -> str:
    """Give a new record (from :func:`new_row`) its Id, audit stamps and system values; its Id."""
    record_id = ids.make_id(obj.key_prefix, number)
    row["Id"] = record_id
    for n, v in (
        ("CreatedDate", now),
        ("LastModifiedDate", now),
        ("SystemModstamp", now),
        ("CreatedById", ADMIN_USER_ID),
        ("LastModifiedById", ADMIN_USER_ID),
        ("IsDeleted", False),
    ):
        if obj.field(n):
            row[n] = v
    if obj.field("OwnerId") and row.get("OwnerId") is None:
        row["OwnerId"] = ADMIN_USER_ID
    if obj.name == "Invoice__c":
        row["Name"] = f"INV-{number:06d}"
    if obj.name == "Case":
        row["CaseNumber"] = f"{1000 + number:08d}"
    if obj.name == "Attachment" and row.get("Body") is not None:
        import base64

        row["BodyLength"] = len(base64.b64decode(str(row["Body"])))
    return record_id


def create(eng: OrgStore, obj_name: str, values: dict) -> str:
    """Insert a record; see :meth:`OrgEngine.create`."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        row = new_row(eng, obj, values)
        validate.check_unique(eng, obj, row, None)
        record_id = stamp_new(obj, row, next_number(eng, obj), eng.now())
        _insert(eng, obj, row)
        recompute_formulas(eng, obj, '"Id" = ?', [record_id])
        return record_id


def _existing(eng: OrgStore, obj: ObjectSchema, record_id: str) -> tuple[str, bool]:
    rid = record_id18(record_id)
    has_deleted = obj.field("IsDeleted") is not None
    col = '"IsDeleted"' if has_deleted else "false"
    row = eng._con.execute(
        f'SELECT {col} FROM {q(obj.name.lower())} WHERE "Id" = ?', [rid]
    ).fetchone()
    if row is None:
        raise not_found()
    return rid, bool(row[0])


def update(eng: OrgStore, obj_name: str, record_id: str, values: dict) -> None:
    """Update a record; see :meth:`OrgEngine.update`."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        rid, is_deleted = _existing(eng, obj, record_id)
        if is_deleted:
            raise OrgError(400, "ENTITY_IS_DELETED", "entity is deleted")
        row = _writable(eng, obj, values, creating=False)
        validate.check_values(obj, row, rid)
        validate.check_unique(eng, obj, row, rid)
        now = eng.now()
        row.update(LastModifiedDate=now, SystemModstamp=now, LastModifiedById=ADMIN_USER_ID)
        sets = ", ".join(f"{q(c)} = ?" for c in row)
        eng._con.execute(
            f'UPDATE {q(obj.name.lower())} SET {sets} WHERE "Id" = ?', [*row.values(), rid]
        )
        recompute_formulas(eng, obj, '"Id" = ?', [rid])


def delete(eng: OrgStore, obj_name: str, record_id: str) -> None:
    """Soft delete; see :meth:`OrgEngine.delete`."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        rid, is_deleted = _existing(eng, obj, record_id)
        if is_deleted:
            raise OrgError(404, "ENTITY_IS_DELETED", "entity is deleted")
        now = eng.now()
        eng._con.execute(
            f'UPDATE {q(obj.name.lower())} SET "IsDeleted" = true, "SystemModstamp" = ? '
            'WHERE "Id" = ?',
            [now, rid],
        )
        eng._con.execute("INSERT INTO _org_deleted VALUES (?, ?, ?)", [obj.name, rid, now])


def undelete(eng: OrgStore, obj_name: str, record_id: str) -> None:
    """Restore from the recycle bin; see :meth:`OrgEngine.undelete`."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        rid, is_deleted = _existing(eng, obj, record_id)
        if not is_deleted:
            raise OrgError(400, "UNDELETE_FAILED", "Entity is not in the recycle bin")
        eng._con.execute(
            f'UPDATE {q(obj.name.lower())} SET "IsDeleted" = false, "SystemModstamp" = ? '
            'WHERE "Id" = ?',
            [eng.now(), rid],
        )
        eng._con.execute("DELETE FROM _org_deleted WHERE obj = ? AND id = ?", [obj.name, rid])


def purge(eng: OrgStore, obj_name: str, record_ids: Sequence[str]) -> None:
    """Hard delete; see :meth:`OrgEngine.purge`. A record not yet in the recycle bin is hard-deleted now."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        now = eng.now()
        for record_id in record_ids:
            rid, is_deleted = _existing(eng, obj, record_id)
            if not is_deleted:
                eng._con.execute("INSERT INTO _org_deleted VALUES (?, ?, ?)", [obj.name, rid, now])
            eng._con.execute(f'DELETE FROM {q(obj.name.lower())} WHERE "Id" = ?', [rid])


def _covered(eng: OrgStore, end: dt.datetime) -> dt.datetime:
    """Salesforce covers whole minutes only: min(end, now) truncated to the minute."""
    return min(_utc_naive(end), eng.now()).replace(second=0, microsecond=0)


def deleted(eng: OrgStore, obj_name: str, start: dt.datetime, end: dt.datetime) -> dict:
    """getDeleted body: records deleted in [start, latestDateCovered)."""
    obj = eng.schema.require(obj_name)
    latest = _covered(eng, end)
    cur = eng.cursor()
    rows = cur.execute(
        "SELECT id, deleted_date FROM _org_deleted WHERE obj = ? AND deleted_date >= ? "
        "AND deleted_date < ? ORDER BY deleted_date, id",
        [obj.name, _utc_naive(start), latest],
    ).fetchall()
    earliest = cur.execute(
        "SELECT min(deleted_date) FROM _org_deleted WHERE obj = ?", [obj.name]
    ).fetchall()[0][0]
    return {
        "deletedRecords": [{"id": r[0], "deletedDate": render.json_datetime(r[1])} for r in rows],
        "earliestDateAvailable": render.json_datetime(earliest or latest),
        "latestDateCovered": render.json_datetime(latest),
    }


def updated(eng: OrgStore, obj_name: str, start: dt.datetime, end: dt.datetime) -> dict:
    """getUpdated body: live records whose SystemModstamp is in [start, latestDateCovered)."""
    obj = eng.schema.require(obj_name)
    latest = _covered(eng, end)
    alive = ' AND NOT "IsDeleted"' if obj.field("IsDeleted") else ""
    rows = (
        eng.cursor()
        .execute(
            f'SELECT "Id" FROM {q(obj.name.lower())} WHERE "SystemModstamp" >= ? '
            f'AND "SystemModstamp" < ?{alive} ORDER BY "Id"',
            [_utc_naive(start), latest],
        )
        .fetchall()
    )
    return {"ids": [r[0] for r in rows], "latestDateCovered": render.json_datetime(latest)}


def get_record(
    eng: OrgStore, obj_name: str, record_id: str, fields: list[str] | None, *, api_version: str
) -> dict:
    """One record as REST returns it (all fields unless ``fields`` names some)."""
    obj = eng.schema.require(obj_name)
    rid = record_id18(record_id)
    names = fields or [f["name"] for f in obj.describe["fields"]]
    soql_fields = ", ".join(names)
    rs = eng.execute(
        f"SELECT {soql_fields} FROM {obj.name} WHERE Id = '{rid}'", include_deleted=False
    )
    try:
        recs = eng.page_records(rs, 0, 1, api_version=api_version)
    finally:
        eng.release(rs)
    if not recs:
        raise not_found()
    return recs[0]
