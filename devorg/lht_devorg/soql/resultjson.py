"""REST JSON records of a planned query: nested parents, child subqueries, AggregateResults.

A record carries ``attributes`` (type and url), then its columns in SELECT order. A
relationship path nests: ``Account.Owner.Name`` becomes ``{"Account": {"attributes": ...,
"Owner": {"attributes": ..., "Name": ...}}}``, and ``"Account": null`` when the lookup is
empty (a polymorphic relationship's parent has type ``Name`` and the url of its own object).
A child subquery is ``{"totalSize", "done", "records"}``, or null when it found nothing.
Aggregate rows are ``{"attributes": {"type": "AggregateResult"}, "expr0": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from . import render
from .paths import q
from .planner import Child, Column, Plan


@dataclass
class Layout:
    """Where each value of a record row is: hop Ids (and Name types), then columns."""

    exprs: list[str]
    hop_pos: dict[str, int]
    col_pos: list[int]


def layout(p: Plan) -> Layout:
    """The SELECT list rendering records of ``p`` needs (first the record's Id)."""
    exprs = [f'{p.alias}."Id"']
    hop_pos: dict[str, int] = {}
    for hop in p.scope.hops.values():
        hop_pos[hop.alias] = len(exprs)
        exprs.append(f'{q(hop.alias)}."Id"')
        if hop.target.name == "Name":
            exprs.append(f'{q(hop.alias)}."Type"')
    col_pos = []
    for c in p.columns:
        col_pos.append(len(exprs))
        exprs += [e for _, _, e in c.comps] if c.comps else [c.expr]
    return Layout(exprs, hop_pos, col_pos)


def _url(api_version: str, obj: str, rid: object) -> str:
    return f"/services/data/v{api_version}/sobjects/{obj}/{rid}"


def _value(c: Column, row: tuple, pos: int, rid: str | None, api_version: str) -> object:
    f = c.field
    assert f is not None
    owner = c.resolved.owner.name if c.resolved else ""
    if c.comps:
        parts = {
            key: render.json_value(
                comp, row[pos + j], record_id=rid, obj=owner, api_version=api_version
            )
            for j, (key, comp, _) in enumerate(c.comps)
        }
        return render.compound_value(f["type"], parts)
    return render.json_value(f, row[pos], record_id=rid, obj=owner, api_version=api_version)


def records(
    cur: duckdb.DuckDBPyConnection, p: Plan, rows: list[tuple], lay: Layout, api_version: str
) -> list[dict]:
    """The REST records of ``rows`` (selected by ``lay.exprs``), children fetched with ``cur``."""
    children = {id(ch): _children(cur, ch, [r[0] for r in rows], api_version) for ch in p.children}
    out = []
    for row in rows:
        rid = row[0]
        rec: dict = {"attributes": {"type": p.obj.name, "url": _url(api_version, p.obj.name, rid)}}
        cols = iter(zip(p.columns, lay.col_pos, strict=True))
        for item in p.output:
            if isinstance(item, Child):
                found = children[id(item)].get(rid)
                rec[item.rel] = (
                    {"totalSize": len(found), "done": True, "records": found} if found else None
                )
                continue
            c, pos = next(cols)
            container: dict | None = rec
            hop_id: str | None = rid
            for hop in c.resolved.hops if c.resolved else []:
                assert container is not None
                if hop.rel not in container:
                    hpos = lay.hop_pos[hop.alias]
                    hid = row[hpos]
                    if hid is None:
                        container[hop.rel] = None
                    else:
                        kind = row[hpos + 1] if hop.target.name == "Name" else hop.target.name
                        container[hop.rel] = {
                            "attributes": {
                                "type": hop.target.name,
                                "url": _url(api_version, kind, hid),
                            }
                        }
                container = container[hop.rel]
                hop_id = row[lay.hop_pos[hop.alias]]
                if container is None:
                    break
            if container is not None:
                container[c.alias or c.field["name"]] = _value(c, row, pos, hop_id, api_version)  # type: ignore[index]
        out.append(rec)
    return out


def _children(
    cur: duckdb.DuckDBPyConnection, ch: Child, parent_ids: list, api_version: str
) -> dict:
    """Child records of ``parent_ids``, grouped by parent (each subquery's LIMIT per parent)."""
    if not parent_ids:
        return {}
    cp = ch.plan
    lay = layout(cp)
    fk = f"{cp.alias}.{q(ch.fk)}"
    window = ""
    if cp.limit is not None or cp.offset:
        first = int(cp.offset or 0)
        rank = f"row_number() OVER (PARTITION BY {fk} ORDER BY {cp.order_sql})"
        window = f" QUALIFY {rank} > {first}"
        if cp.limit is not None:
            window += f" AND {rank} <= {first + int(cp.limit)}"
    sql = (
        f"SELECT {fk}, {', '.join(lay.exprs)} FROM {cp.from_sql()} WHERE ({cp.where_sql}) "
        f"AND list_contains(?, {fk}){window} ORDER BY {fk}, {cp.order_sql}"
    )
    rows = cur.execute(sql, cp.select_params + cp.params + [list(parent_ids)]).fetchall()
    grouped: dict = {}
    for parent, recs in _by_parent(rows):
        grouped[parent] = records(cur, cp, recs, lay, api_version)
    return grouped


def _by_parent(rows: list[tuple]):
    current = None
    bucket: list[tuple] = []
    for row in rows:
        if row[0] != current and bucket:
            yield current, bucket
            bucket = []
        current = row[0]
        bucket.append(row[1:])
    if bucket:
        yield current, bucket


def aggregate_records(p: Plan, rows: list[tuple], api_version: str) -> list[dict]:
    """AggregateResult records of ``rows`` (one value per column of ``p``)."""
    out = []
    for row in rows:
        rec: dict = {"attributes": {"type": "AggregateResult"}}
        for c, value in zip(p.columns, row, strict=True):
            assert c.field is not None
            rec[c.key] = render.json_value(
                c.field, value, record_id=None, obj=p.obj.name, api_version=api_version
            )
        out.append(rec)
    return out
