"""``query?q=...&columns=true``: the columns of a query as Salesforce describes them.

The body is ``{"columnMetadata": [...], "entityName", "groupBy", "idSelected", "keyPrefix"}``
and carries no records. Each column has ``aggregate, apexType, booleanType, columnName,
custom, displayName, foreignKeyName, insertable, joinColumns, numberType, textType,
updatable``. A relationship path is one column per relationship (``Owner``, its
``foreignKeyName`` the lookup field ``OwnerId``) whose ``joinColumns`` nest the fields
selected through it; a child subquery is an aggregate column whose ``joinColumns`` are the
child query's columns; an aggregate function is named by its alias or ``exprN`` and
displayed as written (``avg(Amount)``). The ``sf data query`` command reads this.
"""

from __future__ import annotations

from .planner import Child, Column, Plan

_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "long": "Long",
    "double": "Double",
    "percent": "Double",
    "currency": "Decimal",
    "date": "Date",
    "datetime": "Datetime",
    "time": "Time",
    "base64": "Blob",
    "address": "Address",
    "location": "Location",
}
_TEXT = {
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
}
_NUMBER = {"int", "long", "double", "currency", "percent"}


def _entry(
    name: str,
    display: str,
    *,
    aggregate: bool = False,
    apex: str | None = None,
    kind: str = "",
    custom: bool = False,
    fk: str | None = None,
    insertable: bool = False,
    updatable: bool = False,
    joins: list | None = None,
) -> dict:
    return {
        "aggregate": aggregate,
        "apexType": apex,
        "booleanType": kind == "boolean",
        "columnName": name,
        "custom": custom,
        "displayName": display,
        "foreignKeyName": fk,
        "insertable": insertable,
        "joinColumns": joins if joins is not None else [],
        "numberType": kind in _NUMBER,
        "textType": kind in _TEXT,
        "updatable": updatable,
    }


def _field_entry(f: dict, name: str | None = None) -> dict:
    t = f["type"]
    return _entry(
        name or f["name"],
        f["name"],
        apex=_APEX_TYPES.get(t, "String"),
        kind=t,
        custom=bool(f.get("custom")),
        insertable=bool(f.get("createable")),
        updatable=bool(f.get("updateable")),
    )


def _columns(p: Plan) -> list[dict]:
    out: list[dict] = []
    by_path: dict[tuple, dict] = {}
    for item in p.output:
        if isinstance(item, Child):
            out.append(_entry(item.rel, item.rel, aggregate=True, joins=_columns(item.plan)))
            continue
        assert isinstance(item, Column) and item.field is not None
        if p.aggregate and item.func not in (None, "tolabel"):
            out.append(
                _entry(
                    item.key,
                    item.display,
                    aggregate=True,
                    kind="double"
                    if item.func in ("count", "count_distinct", "sum", "avg")
                    or item.field["type"] in _NUMBER
                    else "",
                )
            )
            continue
        container = out
        path: tuple[str, ...] = ()
        for hop in item.resolved.hops if item.resolved else []:
            path = path + (hop.rel,)
            rel = by_path.get(path)
            if rel is None:
                rel = _entry(hop.rel, hop.rel, custom=hop.rel.endswith("__r"), fk=hop.fk["name"])
                by_path[path] = rel
                container.append(rel)
            container = rel["joinColumns"]
        container.append(_field_entry(item.field, item.key if p.aggregate or item.alias else None))
    return out


def column_metadata(p: Plan) -> dict:
    """The ``columns=true`` body of the planned query ``p``."""
    return {
        "columnMetadata": _columns(p),
        "entityName": p.obj.name,
        "groupBy": bool(p.group_sql),
        "idSelected": any(
            c.resolved is not None
            and not c.resolved.hops
            and c.field is not None
            and c.field["name"] == "Id"
            for c in p.columns
        ),
        "keyPrefix": p.obj.key_prefix,
    }
