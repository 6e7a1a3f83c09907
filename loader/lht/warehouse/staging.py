"""Read-only queries on the loader's own staging tables.

Used for full-refresh delete markers, the Id reconciliation and ``lht status``. A staging
table that does not exist yet reads as empty.
"""

from __future__ import annotations

from lht.constants import BATCH_ID_COLUMN, KIND_COLUMN, KIND_DELETED, KIND_RECORD
from lht.lazy import pa, pc
from lht.names import table_name
from lht.warehouse.connection import Warehouse


def _exists(wh: Warehouse, object_name: str) -> bool:
    return bool(wh.columns(table_name(object_name)))


def _ids(wh: Warehouse, sql: str, params: list) -> pa.Array:
    table = wh.fetch_arrow(sql, params)
    column = (
        table.column(0).cast(pa.string())
        if table.num_columns
        else pa.chunked_array([], pa.string())
    )
    return pc.unique(column.combine_chunks()) if len(column) else pa.array([], pa.string())


def staged_ids(wh: Warehouse, object_name: str) -> pa.Array:
    """Every distinct ``Id`` in the object's staging table (any kind)."""
    if not _exists(wh, object_name):
        return pa.array([], pa.string())
    q = wh.quote
    return _ids(
        wh,
        f"SELECT DISTINCT {q('Id')} FROM {wh.staging_table(object_name)} WHERE {q('Id')} IS NOT NULL",
        [],
    )


def ids_missing_since(wh: Warehouse, object_name: str, first_batch_id: str) -> pa.Array:
    """Ids staged before ``first_batch_id`` that no ``record`` row at or after it carries,
    and whose newest staged row is not already a ``deleted`` marker.

    After a full extract that started writing at ``first_batch_id``, these are the records
    Salesforce no longer returns: the ones that need a delete marker.
    """
    if not _exists(wh, object_name):
        return pa.array([], pa.string())
    q, table = wh.quote, wh.staging_table(object_name)
    idc, batch, kind = q("Id"), q(BATCH_ID_COLUMN), q(KIND_COLUMN)
    sql = f"""
        WITH newest AS (
            SELECT {idc} AS id, {kind} AS kind,
                   row_number() OVER (PARTITION BY {idc} ORDER BY {batch} DESC, {kind} ASC) AS rn,
                   min({batch}) OVER (PARTITION BY {idc}) AS first_seen
            FROM {table}
            WHERE {idc} IS NOT NULL
        ),
        seen AS (
            SELECT DISTINCT {idc} AS id FROM {table} WHERE {batch} >= ? AND {kind} = ?
        )
        SELECT n.id FROM newest n
        WHERE n.rn = 1 AND n.kind <> ? AND n.first_seen < ?
          AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.id = n.id)
        ORDER BY n.id
    """
    return _ids(wh, sql, [first_batch_id, KIND_RECORD, KIND_DELETED, first_batch_id])


def staged_rows_after(wh: Warehouse, object_name: str, batch_id: str | None) -> int:
    """Rows in the object's staging table with a batch id after ``batch_id`` (all rows if None)."""
    if not _exists(wh, object_name):
        return 0
    table = wh.staging_table(object_name)
    if batch_id is None:
        rows = wh.execute(f"SELECT count(*) FROM {table}")
    else:
        rows = wh.execute(
            f"SELECT count(*) FROM {table} WHERE {wh.quote(BATCH_ID_COLUMN)} > ?", [batch_id]
        )
    return int(rows[0][0])
