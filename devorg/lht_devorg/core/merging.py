"""Record merges with Salesforce's semantics (the data side of SOAP ``merge()``).

One merge request is one transaction: the master takes the field values given with it,
every live record that looks up a loser (``Contact.AccountId``, ``Opportunity.AccountId``,
``Case.AccountId``/``ContactId``, ``Task.WhatId``/``WhoId``, custom lookups) is
re-parented to the master, and the losers go to the recycle bin with ``MasterRecordId``
set. ``SystemModstamp`` (and ``LastModifiedDate``) of every record touched moves.
Refusals are raised as :class:`~..errors.OrgError` carrying the status code Salesforce puts
in the request's ``MergeResult`` (the error codes of a few refusals are unconfirmed: no
document settles them; they are marked so below). Used through :class:`~.engine.OrgEngine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import ids
from ..errors import OrgError
from ..soql.planner import q
from . import records
from .records import ADMIN_USER_ID, recompute_formulas

if TYPE_CHECKING:
    from ..meta.schema import ObjectSchema
    from .store import OrgStore

#: Objects SOAP merge() accepts (Person Accounts are Accounts; Case is not offered).
MERGEABLE = ("Account", "Contact", "Lead")
#: Records to merge into the master in one request (three records in all).
MAX_LOSERS = 2


@dataclass
class MergeOutcome:
    """What one successful merge request did."""

    master_id: str
    merged_ids: list[str]
    updated_related_ids: list[str] = field(default_factory=list)


def _id18(value: str) -> str:
    if not ids.is_id(value):
        raise OrgError(400, "MALFORMED_ID", f"malformed id {value}")
    return ids.to18(value)


def _check_request(obj: ObjectSchema, master: str, losers: Sequence[str]) -> tuple[str, list[str]]:
    if obj.name not in MERGEABLE:
        raise OrgError(
            400,
            "INVALID_TYPE",
            f"Cannot merge records of type {obj.name}: merge() supports {', '.join(MERGEABLE)}",
        )
    master18 = _id18(master)
    loser18 = [_id18(i) for i in losers]
    if not loser18:
        raise OrgError(400, "MISSING_ARGUMENT", "recordToMergeIds: at least one record is required")
    if len(loser18) > MAX_LOSERS:  # error code unconfirmed
        raise OrgError(
            400,
            "LIMIT_EXCEEDED",
            "Up to three records can be merged in one request, including the master record",
        )
    for rid in [master18, *loser18]:
        if rid[:3] != obj.key_prefix:  # error code unconfirmed
            raise OrgError(
                400,
                "INVALID_ID_FIELD",
                f"invalid record id {rid}: every record of a merge must be a {obj.name}",
            )
    if master18 in loser18 or len(set(loser18)) != len(loser18):  # error code unconfirmed
        raise OrgError(
            400,
            "INVALID_ID_FIELD",
            "A record cannot be merged into itself, nor be listed twice in recordToMergeIds",
        )
    return master18, loser18


def _check_alive(eng: OrgStore, obj: ObjectSchema, record_ids: Sequence[str]) -> None:
    table = q(obj.name.lower())
    marks = ", ".join("?" for _ in record_ids)
    found = dict(
        eng._con.execute(
            f'SELECT "Id", "IsDeleted" FROM {table} WHERE "Id" IN ({marks})', list(record_ids)
        ).fetchall()
    )
    for rid in record_ids:
        if rid not in found:
            raise OrgError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id {rid}")
        if found[rid]:
            raise OrgError(400, "ENTITY_IS_DELETED", f"entity is deleted: {rid}")


def _lookups_to(eng: OrgStore, target: str) -> list[tuple[ObjectSchema, str]]:
    """Every stored lookup field (object, field) that can point at a ``target`` record."""
    out = []
    for name in eng.schema.objects():
        child = eng.schema.require(name)
        for f in child.stored_fields():
            if (
                f["type"] == "reference"
                and target in (f.get("referenceTo") or [])
                and f["name"] != "MasterRecordId"
            ):
                out.append((child, f["name"]))
    return out


def _touch(obj: ObjectSchema, now: object) -> tuple[str, list[object]]:
    """SET clauses (and their parameters) moving the audit stamps of a record touched by a merge."""
    names = [n for n in ("SystemModstamp", "LastModifiedDate") if obj.field(n)]
    params: list[object] = [now] * len(names)
    if obj.field("LastModifiedById"):
        names.append("LastModifiedById")
        params.append(ADMIN_USER_ID)
    return ", ".join(f"{q(n)} = ?" for n in names), params


def _reparent(
    eng: OrgStore, obj: ObjectSchema, master: str, losers: list[str], now: object
) -> list[str]:
    moved: list[str] = []
    marks = ", ".join("?" for _ in losers)
    skip = [master, *losers]
    skip_marks = ", ".join("?" for _ in skip)
    for child, column in _lookups_to(eng, obj.name):
        table = q(child.name.lower())
        alive = ' AND NOT "IsDeleted"' if child.field("IsDeleted") else ""
        where = f'{q(column)} IN ({marks}) AND "Id" NOT IN ({skip_marks}){alive}'
        rows = eng._con.execute(
            f'SELECT "Id" FROM {table} WHERE {where}', [*losers, *skip]
        ).fetchall()
        if not rows:
            continue
        touch, touch_params = _touch(child, now)
        sets = f"{q(column)} = ?" + (f", {touch}" if touch else "")
        eng._con.execute(
            f"UPDATE {table} SET {sets} WHERE {where}", [master, *touch_params, *losers, *skip]
        )
        moved += [r[0] for r in rows if r[0] not in moved]
    return moved


def merge(
    eng: OrgStore,
    obj_name: str,
    master_id: str,
    loser_ids: Sequence[str],
    values: dict | None = None,
) -> MergeOutcome:
    """Merge ``loser_ids`` (one or two) into ``master_id``; see :meth:`OrgEngine.merge`."""
    with eng._lock:
        obj = eng.schema.get(obj_name)
        if obj is None:
            raise OrgError(400, "INVALID_TYPE", f"sObject type '{obj_name}' is not supported")
        master, losers = _check_request(obj, master_id, loser_ids)
        eng._con.execute("BEGIN TRANSACTION")
        try:
            _check_alive(eng, obj, [master, *losers])
            now = eng.now()
            table = q(obj.name.lower())
            moved = _reparent(eng, obj, master, losers, now)
            if values:
                records.update(eng, obj.name, master, values)  # the values the master takes
            touch, touch_params = _touch(obj, now)
            eng._con.execute(f'UPDATE {table} SET {touch} WHERE "Id" = ?', [*touch_params, master])
            marks = ", ".join("?" for _ in losers)
            master_col = ', "MasterRecordId" = ?' if obj.field("MasterRecordId") else ""
            eng._con.execute(
                f'UPDATE {table} SET "IsDeleted" = true{master_col}, {touch} '
                f'WHERE "Id" IN ({marks})',
                [*([master] if master_col else []), *touch_params, *losers],
            )
            for rid in losers:
                eng._con.execute("INSERT INTO _org_deleted VALUES (?, ?, ?)", [obj.name, rid, now])
            recompute_formulas(eng, obj, '"Id" = ?', [master])
            eng._con.execute("COMMIT")
        except BaseException:
            eng._con.execute("ROLLBACK")
            raise
        return MergeOutcome(master, losers, moved)
