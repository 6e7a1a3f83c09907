"""Staging columns that follow a field's type change without losing a value.

Salesforce lets an admin change a field's type: decimal places up or down, precision,
text length, number to text and back, picklist to text, a lookup's targets. A staging
column keeps every value it ever held, so it moves to the narrowest type that holds both
its old values and the new type's, exactly (the *join* of the two):

- equal types, or a text column: unchanged (text holds every value; new values are cast
  to text);
- two exact numbers (integers and decimals): a decimal with the larger integer digits and
  the larger scale (``NUMBER(18,0)`` + ``NUMBER(18,2)`` -> ``NUMBER(20,2)``), text past 38
  digits;
- anything else (number to text, float to decimal, date to datetime...): text, the old
  values cast to text.

A column never narrows, so a later change back keeps the wider type. DuckDB changes the
column in place (``ALTER COLUMN ... SET DATA TYPE``); Snowflake cannot change a NUMBER's
scale nor a number into text in place, so there a new column is added, filled with the old
values cast, the old column dropped and the new one renamed. The batch is
then cast to the stored type (:func:`stored_fields`), so the writer appends into it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

from lht.errors import WarehouseError
from lht.typemap import MAX_PRECISION, FieldSpec, sql_type
from lht.warehouse.connection import Warehouse

logger = logging.getLogger(__name__)

TEXT = "text"
#: Decimal digits an int64 (DuckDB BIGINT) needs.
_BIGINT_DIGITS = 19
_DECIMAL_RE = re.compile(r"^(?:decimal|numeric|number)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_SIMPLE = {
    "varchar": TEXT,
    "text": TEXT,
    "string": TEXT,
    "boolean": "bool",
    "bool": "bool",
    "bigint": "int",
    "integer": "int",
    "int": "int",
    "hugeint": "int",
    "smallint": "int",
    "double": "float",
    "float": "float",
    "real": "float",
    "date": "date",
    "timestamptz": "timestamp",
    "timestamp with time zone": "timestamp",
    "timestamp_tz": "timestamp",
    "time": "time",
}


def shape(type_name: str, precision: int | None = None, scale: int | None = None) -> str:
    """One comparable form of a column type, as either engine reports or declares it:
    ``text``, ``bool``, ``int``, ``float``, ``date``, ``timestamp``, ``time`` or
    ``decimal(p,s)`` (unknown types compare by their own name)."""
    t = " ".join(type_name.strip().lower().split())
    t = re.sub(r"^(varchar|text|timestamp_tz|time)\(\d+\)$", r"\1", t)
    match = _DECIMAL_RE.match(t)
    if match:
        p, s = int(match.group(1)), int(match.group(2))
    elif t in ("number", "decimal", "numeric"):
        p, s = int(precision if precision is not None else 38), int(scale or 0)
    else:
        return _SIMPLE.get(t, t)
    return f"decimal({p},{s})"


def _digits(s: str) -> tuple[int, int] | None:
    """(integer digits, scale) of an exact number shape, else None."""
    if s == "int":
        return _BIGINT_DIGITS, 0
    match = _DECIMAL_RE.match(s)
    if match is None:
        return None
    p, sc = int(match.group(1)), int(match.group(2))
    return p - sc, sc


def join(stored: str, wanted: str) -> str:
    """The narrowest shape holding every value of both ``stored`` and ``wanted`` exactly."""
    if stored == wanted or stored == TEXT:
        return stored
    a, b = _digits(stored), _digits(wanted)
    if a is not None and b is not None:
        whole, frac = max(a[0], b[0]), max(a[1], b[1])
        if whole + frac > MAX_PRECISION:
            return TEXT
        joined = f"decimal({whole + frac},{frac})"
        return stored if _digits(joined) == a and stored != "int" else joined
    return TEXT


def _known(s: str) -> bool:
    return s in _SIMPLE.values() or _DECIMAL_RE.match(s) is not None


def _shape_sql(s: str, dialect: str) -> str:
    if s == TEXT:
        return "VARCHAR"
    p, sc = _DECIMAL_RE.match(s).groups()  # type: ignore[union-attr]
    return f"NUMBER({p},{sc})" if dialect == "snowflake" else f"DECIMAL({p},{sc})"


def _spec_for(field: FieldSpec, s: str) -> FieldSpec:
    """``field`` retyped to the stored shape ``s`` (for the Arrow cast of a batch)."""
    if s == TEXT:
        return dataclasses.replace(field, sf_type="string", precision=0, scale=0)
    match = _DECIMAL_RE.match(s)
    if match:
        return dataclasses.replace(
            field, sf_type="currency", precision=int(match.group(1)), scale=int(match.group(2))
        )
    return field


def column_shapes(wh: Warehouse, table_name: str) -> dict[str, str]:
    """``{lower-case column: shape}`` of a staging table (``{}`` when it does not exist)."""
    if wh.kind == "snowflake":
        info = (
            f"{wh.quote(wh.database)}.information_schema.columns"
            if wh.database
            else "information_schema.columns"
        )
        rows = wh.execute(
            f"SELECT column_name, data_type, numeric_precision, numeric_scale FROM {info} "
            "WHERE table_schema = ? AND table_name = ?",
            [wh.column_name(wh.staging_schema), wh.column_name(table_name)],
        )
        return {str(n).lower(): shape(str(t), p, s) for n, t, p, s in rows}
    return {name: shape(t) for name, t in wh.columns(table_name).items()}


def stored_fields(wh: Warehouse, object_name: str, fields: Sequence[FieldSpec]) -> list[FieldSpec]:
    """``fields`` as the staging table stores them, retyping columns whose field changed type.

    Call after the table and its columns exist. Each returned spec types the batch's Arrow
    cast: a field whose column is wider than its own type (or text) is cast to the column's.
    """
    name = object_name.lower()
    shapes = wh.type_cache.get(name)
    if shapes is None:
        shapes = wh.type_cache[name] = column_shapes(wh, name)
    out: list[FieldSpec] = []
    for f in fields:
        if not f.loadable:
            out.append(f)
            continue
        wanted = shape(sql_type(f, wh.kind))  # type: ignore[arg-type]
        stored = shapes.get(f.name.lower())
        if stored is None:  # added by another connection since the cache was read
            shapes = wh.type_cache[name] = column_shapes(wh, name)
            stored = shapes.get(f.name.lower(), wanted)
        if stored != wanted and _known(stored) and _known(wanted):
            joined = join(stored, wanted)
            if joined != stored:
                retype_column(wh, name, f.name, stored, joined)
                shapes[f.name.lower()] = stored = joined
            out.append(_spec_for(f, stored))
        else:
            out.append(f)
    return out


def retype_column(wh: Warehouse, table_name: str, column: str, old: str, new: str) -> None:
    """Change a staging column from shape ``old`` to the wider ``new``, keeping its values."""
    table = wh.table(table_name)
    col = wh.quote(column)
    target = _shape_sql(new, wh.kind)
    logger.warning(
        "%s.%s changed type in Salesforce: staging column %s becomes %s (was %s); "
        "every stored value is kept",
        table_name,
        column,
        column,
        target,
        old,
    )
    try:
        if wh.kind == "snowflake":
            tmp = wh.quote(f"{column}__lht_retype")
            # Snowflake commits each DDL statement on its own: these four run under the
            # run lock, so no other lht process writes the table meanwhile.
            wh.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {tmp} {target}")
            wh.execute(f"UPDATE {table} SET {tmp} = CAST({col} AS {target})")
            wh.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
            wh.execute(f"ALTER TABLE {table} RENAME COLUMN {tmp} TO {col}")
        else:
            wh.execute(f"ALTER TABLE {table} ALTER COLUMN {col} SET DATA TYPE {target}")
    except WarehouseError as exc:
        raise WarehouseError(
            f"Could not retype {table}.{column} to {target} after its type changed in Salesforce: {exc}. "
            "Nothing was written; fix the warehouse error and run `lht sync` again."
        ) from exc
