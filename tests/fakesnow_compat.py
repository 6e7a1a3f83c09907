"""Fixes for four fakesnow 0.12 server bugs that lht's Snowflake path meets.

The fakesnow server runs inside the pytest process (``fakesnow.server()`` starts a thread),
so patching its modules fixes it for every client, including ``lht`` run as a subprocess:

- NULL timestamps come back as 1970-01-01: the result struct loses its validity mask.
- ``write_pandas`` creates its stage with ``CREATE TEMP STAGE identifier(?)`` bound to a
  qualified, quoted name (``"DB"."SCHEMA"."STAGE"``); fakesnow takes the whole string as
  one identifier, so the PUT that follows finds no stage.
- ``write_pandas`` copies with ``COPY INTO ... FROM (SELECT $1:"C" FROM '@"DB"."S"."STAGE"')``;
  fakesnow only accepts an unquoted ``@stage`` there ("invalid URL prefix").
- ``COMMENT ON COLUMN ...`` runs, then the server describes its result by running
  ``DESCRIBE COMMENT ON ...``, which DuckDB cannot parse: the statement fails although the
  comment was written. Snowflake answers it like other DDL ("Statement executed successfully.").

With these, the connector's real ``write_pandas`` (temporary stage, PUT through the
server's presigned URL, one COPY INTO) works against the server.
"""

from __future__ import annotations

import pytest


def fix_fakesnow_server(mp: pytest.MonkeyPatch) -> None:
    """Patch the four bugs through ``mp`` (undo it to restore fakesnow)."""
    import fakesnow.arrow as fs_arrow
    import fakesnow.cursor as fs_cursor
    import fakesnow.copy_into as copy_into
    import fakesnow.transforms as transforms
    import pyarrow as pa
    import pyarrow.compute as pc
    from sqlglot import exp

    original_identifier = transforms.identifier
    original_from_source = copy_into._from_source
    original_to_struct = fs_arrow.timestamp_to_sf_struct

    def timestamp_to_sf_struct(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        struct = original_to_struct(ts)
        if not ts.null_count:
            return struct
        children = [pc.fill_null(struct.field(i), 0) for i in range(struct.type.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(struct.type), mask=ts.is_null())

    def identifier(expression: exp.Expr, params: object) -> exp.Expr:
        result = original_identifier(expression, params)
        if (
            result is not expression
            and isinstance(result, exp.Table)
            and isinstance(result.this, exp.Identifier)
            and '"."' in result.this.this
        ):
            return exp.to_table(f'"{result.this.this}"', dialect="snowflake")
        return result

    def from_source(expression: exp.Copy) -> str:
        source = expression.args["files"][0].this
        if isinstance(source, exp.Select):
            table = source.args["from_"].this
            if isinstance(table.this, exp.Literal) and table.this.name.startswith("@"):
                return table.this.name
        return original_from_source(expression)

    original_describe_last_sql = fs_cursor.FakeSnowflakeCursor._describe_last_sql

    def describe_last_sql(self: fs_cursor.FakeSnowflakeCursor) -> list:
        last = self._last_sql
        if isinstance(last, str) and last.lstrip().upper().startswith("COMMENT"):
            self._last_sql = fs_cursor.SQL_SUCCESS
            try:
                return original_describe_last_sql(self)
            finally:
                self._last_sql = last
        return original_describe_last_sql(self)

    mp.setattr(fs_cursor.FakeSnowflakeCursor, "_describe_last_sql", describe_last_sql)
    mp.setattr(transforms, "identifier", identifier)
    mp.setattr(copy_into, "_from_source", from_source)
    mp.setattr(fs_arrow, "timestamp_to_sf_struct", timestamp_to_sf_struct)
