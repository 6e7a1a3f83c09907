"""OrgStore: the local org's data and metadata in an embedded DuckDB database.

The HTTPS server calls it from many threads: writes and DDL take one lock; reads run on
per-call cursors. A REST query's rows are copied once, in result order, into a table of their
own (schema ``_rs``); pages are rowid ranges of that copy, rendered on demand as JSON records.
A Bulk job's query is not copied: it streams once, as CSV text (DuckDB formats the values),
straight from the object's table into the job's spool (:mod:`.stream`, :mod:`..bulk.spool`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import duckdb

from .. import ids
from ..errors import OrgError
from ..meta.schema import Schema, duck_type
from ..soql import render, resultjson
from ..soql.parser import parse
from ..soql.planner import Plan, plan, q

log = logging.getLogger(__name__)
#: Base time of seeded data and metadata (fixed, so seeds are reproducible).
BASE_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)


@dataclass
class ResultSet:
    """A materialized query result."""

    id: str
    object_name: str
    columns: list[str]
    total_size: int
    is_count: bool
    bulk: bool = False
    table: str | None = None
    fields: list[dict | None] = field(default_factory=list)  # None: an aggregate's COUNT()
    #: REST results keep only their Ids (in result order); pages read the values from this.
    source: str | None = None
    plan: Plan | None = None
    api_version: str = "59.0"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class OrgStore:
    """The org's database: tables, metadata, queries and result pages. Thread-safe.

    Writes, seeding, schema changes and Bulk streams are operations on a store, in modules
    of their own (:mod:`.records`, :mod:`.seed`, :mod:`.metachange`, :mod:`.stream`);
    :class:`~.engine.OrgEngine` offers them as methods.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ):
        self._tmpdir = None
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="lht-devorg-")
            path = os.path.join(self._tmpdir, "org.duckdb")
        self.path = os.fspath(path)
        self._clock = clock or _utc_now
        self._lock = threading.RLock()
        self._closed = False
        self._con = duckdb.connect(self.path)
        self._con.execute("SET enable_progress_bar = false")  # no bar on stdout while seeding
        self._con.execute("SET preserve_insertion_order = true")  # result order = table (Id) order
        self._con.execute(
            "SET memory_limit = '1GB'"
        )  # spill to disk rather than hog a shared machine
        # a 100k-row ingest job's updates checkpoint once, not at every few commits
        self._con.execute("SET checkpoint_threshold = '256MB'")
        self.schema = Schema()
        self._meta_time: dict[str | None, dt.datetime] = {None: BASE_TIME}
        #: Fields hidden from the API user (field-level security), by (object, lower name):
        #: their describe entry; their column and values stay (metachange.set_field_visible).
        self.hidden_fields: dict[tuple[str, str], dict] = {}
        self._rs_counter = itertools.count(1)
        self._results: dict[str, ResultSet] = {}
        self._streams: set[duckdb.DuckDBPyConnection] = set()  # cursors of open Bulk streams
        with self._lock:
            self._con.execute("CREATE SCHEMA IF NOT EXISTS _rs")
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS _org_deleted (obj VARCHAR, id VARCHAR, "
                "deleted_date TIMESTAMP)"
            )
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS _org_counter (obj VARCHAR PRIMARY KEY, next_n BIGINT)"
            )
            for name in self.schema.objects():
                self._create_table(name, replace=False)

    # -- plumbing ---------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The clock's time as naive UTC, truncated to the whole second (as Salesforce stores it)."""
        value = self._clock()
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=0)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A fresh cursor on the org database (for reads from any thread)."""
        if self._closed:
            raise OrgError(503, "SERVER_UNAVAILABLE", "The local org is shutting down")
        return self._con.cursor()

    def table(self, obj: str) -> str:
        """The quoted store table of ``obj``."""
        return q(self.schema.require(obj).name.lower())

    def _create_table(self, name: str, *, replace: bool) -> None:
        obj = self.schema.require(name)
        cols = ", ".join(f"{q(f['name'])} {duck_type(f)}" for f in obj.stored_fields())
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
        self._con.execute(f"{verb} {q(name.lower())} ({cols})")

    def close(self) -> None:
        """Close the database (and remove it when it was a temp file)."""
        with self._lock:
            self._closed = True
            for cur in self._streams:
                cur.interrupt()
            self._con.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    # -- metadata ---------------------------------------------------------------------------
    def objects(self) -> list[str]:
        """API names of every object in the org."""
        return self.schema.objects()

    def describe_global(self, api_version: str = "59.0") -> dict:
        """The describeGlobal body."""
        return self.schema.describe_global(api_version)

    def describe(self, name: str, api_version: str = "59.0") -> dict:
        """The describe body of ``name`` (404 NOT_FOUND when unknown)."""
        with self._lock:
            return self.schema.describe(name, api_version)

    def metadata_changed_at(self, name: str | None = None) -> dt.datetime:
        """When metadata last changed (aware UTC): org-wide, or for one object."""
        if name is None:
            value = max(self._meta_time.values())
        else:
            canon = self.schema.require(name).name
            value = self._meta_time.get(canon, self._meta_time[None])
        return value.replace(tzinfo=dt.timezone.utc)

    def _touch_metadata(self, name: str) -> None:
        self._meta_time[name] = max(
            self.now(), max(self._meta_time.values()) + dt.timedelta(seconds=1)
        )

    # -- contents ----------------------------------------------------------------------------
    def has_data(self) -> bool:
        """True when some object already holds records (a reused database file)."""
        return any(self.count(name, include_deleted=True) for name in self.objects())

    # -- queries ----------------------------------------------------------------------------
    def plan(self, soql: str, *, include_deleted: bool, bulk: bool) -> Plan:
        """Parse and validate ``soql`` against the metadata (OrgError 400 when invalid)."""
        return plan(
            parse(soql), self.schema, include_deleted=include_deleted, bulk=bulk, now=self.now()
        )

    def execute(self, soql: str, *, include_deleted: bool, bulk: bool = False) -> ResultSet:
        """Validate and run a SOQL query; materialize its rows (OrgError 400 when invalid)."""
        with self._lock:
            if self._closed:
                raise OrgError(503, "SERVER_UNAVAILABLE", "The local org is shutting down")
            p = self.plan(soql, include_deleted=include_deleted, bulk=bulk)
            rs_id = ids.make_id("01g", next(self._rs_counter))
            if p.is_count:
                total = self._con.execute(
                    f"SELECT count(*) FROM ({p.rows_sql('1')})", p.all_params()
                ).fetchall()[0][0]
                return ResultSet(rs_id, p.obj.name, [], int(total), True, plan=p)
            rs = ResultSet(
                rs_id,
                p.obj.name,
                p.csv_columns,
                0,
                False,
                bulk,
                f'_rs."r_{rs_id}"',
                [c.field for c in p.columns],
                plan=p,
            )
            # preserve_insertion_order keeps the result order in the copy: pages are rowid ranges.
            # A REST cursor copies only the Ids, as Salesforce answers the first page of a
            # million-row query without preparing every row: its pages read the values then.
            if bulk or p.aggregate:
                exprs = ", ".join(f"{c.expr} AS {q(f'c{i}')}" for i, c in enumerate(p.columns))
                self._con.execute(f"CREATE TABLE {rs.table} AS {p.rows_sql(exprs)}", p.all_params())
            else:
                rs.source = p.from_sql()
                ids_only = p.rows_sql(f'{p.alias}."Id" AS "__rs_id"')
                self._con.execute(
                    f"CREATE TABLE {rs.table} AS {ids_only}", p.all_params(with_select=False)
                )
            rs.total_size = int(
                self._con.execute(f"SELECT count(*) FROM {rs.table}").fetchall()[0][0]
            )
            self._results[rs.id] = rs
            return rs

    def _page_rows(self, rs: ResultSet, offset: int, limit: int, *, csv: bool = False):
        if rs.table is None or rs.plan is None:
            raise OrgError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        p = rs.plan
        bounds = [int(offset), int(offset) + int(limit)]
        cur = self.cursor()
        try:
            if csv:
                # a Bulk query's columns are all fields (the planner refuses aggregates there)
                cols = ", ".join(
                    f"{render.csv_expr(cast(dict, f), q(f'c{i}'))} AS {q(c)}"
                    for i, (f, c) in enumerate(zip(rs.fields, rs.columns, strict=True))
                )
                sql = f"SELECT {cols} FROM {rs.table} WHERE rowid >= ? AND rowid < ? ORDER BY rowid"
                return cur.sql(sql, params=bounds).to_arrow_table()
            if p.aggregate:
                sql = f"SELECT * FROM {rs.table} WHERE rowid >= ? AND rowid < ? ORDER BY rowid"
                return resultjson.aggregate_records(
                    p, cur.execute(sql, bounds).fetchall(), rs.api_version
                )
            lay = resultjson.layout(p)
            # Ids in result order, values from the object's table and its parents'
            sql = (
                f'SELECT {", ".join(lay.exprs)} FROM (SELECT rowid AS __rs_pos, "__rs_id" FROM {rs.table} '
                f"WHERE rowid >= ? AND rowid < ?) AS page JOIN {q(p.obj.name.lower())} AS {p.alias} "
                f'ON {p.alias}."Id" = page."__rs_id"{p.scope.joins_sql()} ORDER BY page.__rs_pos'
            )
            rows = cur.execute(sql, p.select_params + bounds).fetchall()
            return resultjson.records(cur, p, rows, lay, rs.api_version)
        except (duckdb.CatalogException, duckdb.BinderException):
            raise OrgError(400, "INVALID_QUERY_LOCATOR", "invalid query locator") from None
        finally:
            cur.close()

    def page_records(
        self, rs: ResultSet, offset: int, limit: int, *, api_version: str = "59.0"
    ) -> list[dict]:
        """REST records ``offset``..``offset+limit`` of ``rs`` with their ``attributes``."""
        if rs.is_count:
            return []
        rs.api_version = api_version
        return self._page_rows(rs, offset, limit)

    def page_csv(
        self,
        rs: ResultSet,
        offset: int,
        limit: int,
        *,
        delimiter: str = ",",
        line_ending: str = "\n",
    ) -> bytes:
        """Bulk 2.0 CSV of rows ``offset``..``offset+limit`` of ``rs`` (header row included)."""
        if not rs.bulk:
            raise ValueError("page_csv needs a ResultSet from execute(..., bulk=True)")
        table = self._page_rows(rs, offset, limit, csv=True)
        return render.write_csv(table, delimiter, line_ending)

    def release(self, rs: ResultSet) -> None:
        """Drop a materialized result."""
        if rs.table:
            with self._lock:
                if self._closed:
                    return
                self._con.execute(f"DROP TABLE IF EXISTS {rs.table}")
                self._results.pop(rs.id, None)

    # -- counts ------------------------------------------------------------------------------
    def count(self, obj: str, *, include_deleted: bool = False) -> int:
        """Number of rows of ``obj`` (recycle bin included when asked)."""
        o = self.schema.require(obj)
        cond = "" if include_deleted or not o.field("IsDeleted") else ' WHERE NOT "IsDeleted"'
        return int(
            self.cursor().execute(f"SELECT count(*) FROM {self.table(obj)}{cond}").fetchall()[0][0]
        )
