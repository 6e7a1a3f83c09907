"""The set-based SQL of :mod:`.batchwrite`: rows in and out of Arrow tables registered on the
store's connection, one statement per set of columns (called under the store's write lock)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, cast

import numpy as np
import pyarrow as pa

from ..errors import OrgError
from ..meta.schema import ObjectSchema, duck_type
from ..soql.planner import q
from . import records

if TYPE_CHECKING:
    from .store import OrgStore


def deleted_error() -> OrgError:
    """ENTITY_IS_DELETED, for a record that is gone or in the recycle bin."""
    return OrgError(400, "ENTITY_IS_DELETED", "entity is deleted", [])


_serial = itertools.count(1)


def _text(value: object) -> str | None:
    """A stored value as text DuckDB casts back to the column's type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _cast(f: dict, expr: str) -> str:
    kind = duck_type(f)
    return expr if kind == "VARCHAR" else f"CAST({expr} AS {kind})"


def _with_table(eng: OrgStore, table: pa.Table, run: Callable[[str], None]) -> None:
    name = f"_batch_{next(_serial)}"
    eng._con.register(name, table)
    try:
        run(name)
    finally:
        eng._con.unregister(name)


def _update_group(
    eng: OrgStore, obj: ObjectSchema, cols: tuple[str, ...], group: list[tuple[str, dict]]
) -> None:
    data = {"Id": pa.array([rid for rid, _ in group], pa.string())}
    for j, c in enumerate(cols):
        data[f"c{j}"] = pa.array(
            [v if type(v) is str else _text(v) for v in (row[c] for _, row in group)], pa.string()
        )
    update_table(eng, obj, cols, pa.table(data))


def update_table(
    eng: OrgStore,
    obj: ObjectSchema,
    cols: Sequence[str],
    data: pa.Table,
    *,
    live_only: bool = False,
) -> int:
    """One UPDATE of the records named by ``data``'s ``Id`` column: field ``cols[j]`` set from
    the text column ``c{j}`` (stored values as text, NULL clears), with the audit stamps; the
    number of records written (``live_only``: none in the recycle bin)."""
    now = eng.now()
    stamps = [
        (n, v)
        for n, v in (
            ("LastModifiedDate", now),
            ("SystemModstamp", now),
            ("LastModifiedById", records.ADMIN_USER_ID),
        )
        if obj.field(n)
    ]
    table = q(obj.name.lower())
    live = f' AND NOT {table}."IsDeleted"' if live_only and obj.field("IsDeleted") else ""
    written: list[int] = []

    def run(name: str) -> None:
        # cols are fields of obj
        sets = [
            f"{q(c)} = {_cast(cast(dict, obj.field(c)), f's.c{j}')}" for j, c in enumerate(cols)
        ]
        sets += [f"{q(n)} = ?" for n, _ in stamps]
        row = eng._con.execute(
            f"UPDATE {table} SET {', '.join(sets)} FROM {name} AS s "
            f'WHERE {table}."Id" = s."Id"{live}',
            [v for _, v in stamps],
        ).fetchone()
        written.append(int(row[0]) if row else 0)
        records.recompute_formulas(
            eng, obj, f'"Id" IN (SELECT "Id" FROM {name})', written=[*cols, *(n for n, _ in stamps)]
        )

    _with_table(eng, data, run)
    return written[0]


def write_updates(eng: OrgStore, obj: ObjectSchema, updates: list[tuple[str, dict]]) -> None:
    rounds: list[dict[str, dict]] = []
    for rid, row in updates:
        target = next((r for r in rounds if rid not in r), None)
        if target is None:
            target = {}
            rounds.append(target)
        target[rid] = row
    for by_id in rounds:
        groups: dict[tuple[str, ...], list[tuple[str, dict]]] = {}
        for rid, row in by_id.items():
            groups.setdefault(tuple(row), []).append((rid, row))
        for cols, group in groups.items():
            _update_group(eng, obj, cols, group)


def write_inserts(eng: OrgStore, obj: ObjectSchema, rows: list[dict]) -> None:
    present = set().union(*(row.keys() for row in rows))
    cols = [f["name"] for f in obj.stored_fields() if f["name"] in present]
    data = {
        f"c{j}": pa.array([_text(row.get(c)) for row in rows], pa.string())
        for j, c in enumerate(cols)
    }

    def run(name: str) -> None:
        # cols are fields of obj (its stored fields)
        exprs = ", ".join(_cast(cast(dict, obj.field(c)), f"s.c{j}") for j, c in enumerate(cols))
        eng._con.execute(
            f"INSERT INTO {q(obj.name.lower())} ({', '.join(q(c) for c in cols)}) "
            f"SELECT {exprs} FROM {name} AS s"
        )
        recompute_ids = pa.table({"Id": pa.array([row["Id"] for row in rows], pa.string())})
        _with_table(
            eng,
            recompute_ids,
            lambda ids_name: records.recompute_formulas(
                eng, obj, f'"Id" IN (SELECT "Id" FROM {ids_name})'
            ),
        )

    _with_table(eng, pa.table(data), run)


def reserve(eng: OrgStore, obj: ObjectSchema, count: int) -> int:
    """The first of ``count`` new Id numbers of ``obj``."""
    cur = eng._con.execute("SELECT next_n FROM _org_counter WHERE obj = ?", [obj.name]).fetchone()
    first = int(cur[0]) if cur else 1
    eng._con.execute("INSERT OR REPLACE INTO _org_counter VALUES (?, ?)", [obj.name, first + count])
    return first


def existing(eng: OrgStore, obj: ObjectSchema, record_ids: list[str]) -> dict[str, bool]:
    """Record Id -> in the recycle bin?, for those of ``record_ids`` that exist."""
    if not record_ids:
        return {}
    wanted = sorted(set(record_ids))
    at, deleted = existing_at(eng, obj, pa.array(wanted, pa.string()))
    return {wanted[i]: bool(d) for i, d in zip(at.tolist(), deleted.tolist(), strict=True)}


def existing_at(
    eng: OrgStore, obj: ObjectSchema, record_ids: pa.Array
) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``record_ids`` of the Ids that exist, in the recycle bin? of each) of a
    string array of Ids naming each record at most once: one hash join, answered as Arrow."""
    col = 't."IsDeleted"' if obj.field("IsDeleted") else "false"
    wanted = pa.table({"i": pa.array(np.arange(len(record_ids), dtype=np.int64)), "Id": record_ids})
    found: list[pa.Table] = []
    _with_table(
        eng,
        wanted,
        lambda name: found.append(
            eng._con.sql(
                f'SELECT w.i, {col} AS d FROM {name} AS w JOIN {q(obj.name.lower())} AS t ON t."Id" = w."Id"'
            ).to_arrow_table()
        ),
    )
    table = found[0]
    return (
        table.column("i").to_numpy().astype(np.int64, copy=False),
        table.column("d").to_numpy(zero_copy_only=False).astype(np.bool_, copy=False),
    )


def delete(
    eng: OrgStore, obj: ObjectSchema, hard: bool, named: list[tuple[int, str]]
) -> dict[int, OrgError]:
    """Soft delete (to the recycle bin) or hard delete records, set-based; the rows' errors."""
    found = existing(eng, obj, [rid for _, rid in named])
    chosen: dict[str, bool] = {}  # record Id -> was in the recycle bin
    errors: dict[int, OrgError] = {}
    for i, rid in named:
        in_bin = found.get(rid)
        if in_bin is None or rid in chosen or (in_bin and not hard):
            errors[i] = deleted_error()
            continue
        chosen[rid] = in_bin
    if not chosen:
        return errors
    now, table = eng.now(), q(obj.name.lower())
    data = pa.table(
        {
            "Id": pa.array(list(chosen), pa.string()),
            "fresh": pa.array([not was for was in chosen.values()], pa.bool_()),
        }
    )

    def run(name: str) -> None:
        eng._con.execute(
            f'INSERT INTO _org_deleted SELECT ?, "Id", ? FROM {name} WHERE fresh', [obj.name, now]
        )
        if hard:
            eng._con.execute(f'DELETE FROM {table} WHERE "Id" IN (SELECT "Id" FROM {name})')
        else:
            eng._con.execute(
                f'UPDATE {table} SET "IsDeleted" = true, "SystemModstamp" = ? '
                f'WHERE "Id" IN (SELECT "Id" FROM {name})',
                [now],
            )

    _with_table(eng, data, run)
    return errors
