"""Fixes for fakesnow 0.12 bugs and gaps that lht's Snowflake path meets (test-only).

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
server's presigned URL, one COPY INTO) works against the server (the loader used it before
it wrote its own Parquet files; ``bench/snowflake_roundtrips.py`` still runs that loader).

lht's loader (``lht.warehouse.snowflake_load``) issues Snowflake's stage statements as
Snowflake documents them; :func:`add_stage_commands` fills in what fakesnow lacks, on the
server and in-process alike, so those exact statements run in tests:

- ``REMOVE @stage/path/`` (not implemented): deletes the stage files under the path and
  returns Snowflake's ``name``, ``result`` rows.
- ``LIST @stage/path/`` (fakesnow lists only a whole stage): the files under the path.
- ``COPY INTO`` loads file after file with no transaction of its own, so a bad value in
  the third file leaves the first two loaded; in Snowflake a COPY is one statement that
  loads all its files or none (``ON_ERROR = ABORT_STATEMENT``). The fix runs it in a
  DuckDB transaction when none is open, so later statements see what Snowflake would
  leave. No test asserts that guarantee (it is Snowflake's, given here by this patch): the
  loader's tests pin what lht does around it (one COPY per extract with that option, its
  error, the REMOVE of the load's files, a refused REMOVE).
- ``CREATE [OR REPLACE] TEMPORARY TABLE db.schema.name`` (what dbt's unit tests run):
  DuckDB keeps temporary tables in its own catalog and refuses the qualified name; the
  table is created as a plain one instead (a test database is thrown away anyway).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest


def fix_fakesnow_server(mp: pytest.MonkeyPatch) -> None:
    """Patch the four bugs through ``mp`` (undo it to restore fakesnow)."""
    import fakesnow.arrow as fs_arrow
    import fakesnow.copy_into as copy_into
    import fakesnow.cursor as fs_cursor
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

    def identifier(expression: exp.Expr, params: list[Any] | dict[Any, Any] | None) -> exp.Expr:
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

    add_stage_commands(mp)

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


_QUALIFIED_TEMP_TABLE = re.compile(
    r"^(\s*create\s+(?:or\s+replace\s+)?)temporary\s+(table\s+[^\s(]+\.[^\s(]+\.)", re.IGNORECASE
)
_STAGE_PATH = re.compile(r"^\s*(REMOVE|RM|LIST|LS)\s+(@\S+?/\S*)\s*;?\s*$", re.IGNORECASE)


def _sql_text(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def add_stage_commands(mp: pytest.MonkeyPatch) -> None:
    """``REMOVE`` and ``LIST`` of a stage path, and atomic ``COPY INTO`` (see the module doc)."""
    import duckdb
    import fakesnow.cursor as fs_cursor
    import fakesnow.transforms.stage as fs_stage

    original_execute = fs_cursor.FakeSnowflakeCursor.execute
    original_copy_into = fs_cursor.copy_into

    def stage_files(cursor: Any, ref: str) -> tuple[str, list[Path]]:
        var, _, path = ref[1:].partition("/")
        conn = cursor._conn
        catalog, schema, name = fs_stage.parts_from_var(var, conn.database, conn.schema)
        root = Path(fs_stage.internal_dir(f"{catalog}.{schema}.{name}"))
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).as_posix().startswith(path)
        )
        return name.lower(), [root, *files]

    def execute(self: Any, command: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(command, str):
            command = _QUALIFIED_TEMP_TABLE.sub(r"\1\2", command)
        match = _STAGE_PATH.match(command) if isinstance(command, str) else None
        if not match:
            return original_execute(self, command, params, *args, **kwargs)
        verb, ref = match.group(1).upper(), match.group(2)
        prefix, (root, *files) = stage_files(self, ref)
        names = [f"{prefix}/{f.relative_to(root).as_posix()}" for f in files]
        if verb in ("REMOVE", "RM"):
            for f in files:
                f.unlink()
            rows = [f"({_sql_text(n)}, 'removed')" for n in names]
            select = (
                f'select column1 as "name", column2 as "result" from (values {", ".join(rows)})'
                if rows
                else 'select cast(null as varchar) as "name", cast(null as varchar) as "result" where false'
            )
        else:
            rows = [
                f"({_sql_text(n)}, {f.stat().st_size}, '', '')"
                for n, f in zip(names, files, strict=True)
            ]
            select = (
                'select column1 as "name", column2 as "size", column3 as "md5", column4 as "last_modified" '
                f"from (values {', '.join(rows)})"
                if rows
                else 'select cast(null as varchar) as "name", cast(null as bigint) as "size", '
                'cast(null as varchar) as "md5", cast(null as varchar) as "last_modified" where false'
            )
        return original_execute(self, select, None, *args, **kwargs)

    def copy_into(duck_conn: Any, *args: Any, **kwargs: Any) -> str:
        try:
            duck_conn.begin()
        except duckdb.TransactionException:  # inside the caller's transaction: it decides
            return original_copy_into(duck_conn, *args, **kwargs)
        try:
            sql = original_copy_into(duck_conn, *args, **kwargs)
        except BaseException:
            duck_conn.rollback()
            raise
        duck_conn.commit()
        duck_conn.execute(sql)  # the COPY's result rows, after the commit
        return sql

    mp.setattr(fs_cursor.FakeSnowflakeCursor, "execute", execute)
    mp.setattr(fs_cursor, "copy_into", copy_into)
