"""The prune rule on every engine (DuckDB, the fakesnow server, in-process fakesnow): only
merged rows older than the cutoff go, and each Id keeps its newest row of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from lht.commands.prune import prune_object
from lht.typemap import FieldSpec
from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.target import Target
from lht.warehouse.writer import write_batch

FIELDS = [
    FieldSpec("Id", "id"),
    FieldSpec("Name", "string"),
    FieldSpec("SystemModstamp", "datetime"),
    FieldSpec("IsDeleted", "boolean"),
]
AT = datetime(2024, 5, 1, tzinfo=timezone.utc)


def _target(tmp_path: Path, **kwargs) -> Target:
    return Target(name="test", profile="lht", profiles_file=tmp_path / "profiles.yml", **kwargs)


@pytest.fixture(
    params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake), "snowflake-patch"]
)
def wh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        target = _target(tmp_path, kind="duckdb", path=tmp_path / "lht.duckdb", database="lht")
        warehouse = connect(target, staging_schema="salesforce_staging")
    elif request.param == "snowflake":
        server = request.getfixturevalue("fakesnow_server")
        database = request.getfixturevalue("snowflake_database")
        target = _target(
            tmp_path,
            kind="snowflake",
            account=server["account"],
            user=server["user"],
            password=server["password"],
            host=server["host"],
            port=server["port"],
            protocol=server["protocol"],
            database=database,
            schema="PUBLIC",
        )
        warehouse = connect(target, staging_schema="salesforce_staging")
    else:
        import fakesnow

        request.getfixturevalue("fakesnow_fixes")
        patcher = fakesnow.patch()
        patcher.__enter__()
        request.addfinalizer(lambda: patcher.__exit__(None, None, None))
        target = _target(
            tmp_path,
            kind="snowflake",
            account="fakesnow",
            user="fake",
            password="snow",
            database="LHT_PRUNE",
            schema="PUBLIC",
        )
        warehouse = connect(target, staging_schema="salesforce_staging")
    yield warehouse
    warehouse.close()


def put(wh: Warehouse, rows: list[tuple], kind: str = "record") -> str:
    data = pa.table(
        {
            "Id": [r[0] for r in rows],
            "Name": [r[1] for r in rows],
            "SystemModstamp": pa.array(
                [AT + timedelta(days=r[2]) for r in rows], pa.timestamp("ms", tz="UTC")
            ),
            "IsDeleted": [kind == "deleted"] * len(rows),
        }
    )
    return write_batch(wh, "Account", data, FIELDS, kind=kind, extracted_at=AT).batch_id


def merged_through(wh: Warehouse, batch_id: str) -> None:
    wh.ensure_schema("salesforce")
    table = wh.table("account", "salesforce")
    wh.execute(
        f"CREATE TABLE {table} ({wh.quote('Id')} VARCHAR, {wh.quote('_lht_batch_id')} VARCHAR)"
    )
    wh.execute(f"INSERT INTO {table} VALUES (?, ?)", ["a", batch_id])


def staged(wh: Warehouse) -> set[tuple]:
    rows = wh.execute(
        f"SELECT {wh.quote('Id')}, {wh.quote('Name')}, {wh.quote('_lht_kind')}, {wh.quote('_lht_batch_id')} "
        f"FROM {wh.staging_table('Account')}"
    )
    return {tuple(r) for r in rows}


def test_prune_keeps_unmerged_batches_and_each_ids_newest_rows(wh: Warehouse) -> None:
    put(wh, [("a", "a1", 1), ("b", "b1", 1), ("c", "c2", 2)])
    put(wh, [("a", "a2", 2), ("c", "c1 re-extracted late", 1)])
    put(wh, [("a", None, 2)], kind="formula")
    put(wh, [("a", None, 3)], kind="formula")
    last_merged = put(wh, [("b", None, 5)], kind="deleted")
    put(wh, [("a", "a3", 6)])  # not merged yet
    merged_through(wh, last_merged)
    before = staged(wh)

    early = prune_object(wh, "Account", "salesforce", cutoff=AT - timedelta(hours=1))
    assert early.rows_deleted == 0 and staged(wh) == before

    dry = prune_object(wh, "Account", "salesforce", cutoff=AT + timedelta(hours=1), dry_run=True)
    assert staged(wh) == before
    result = prune_object(wh, "Account", "salesforce", cutoff=AT + timedelta(hours=1))
    after = staged(wh)
    gone = {(i, n, k) for i, n, k, _ in before - after}
    # a: both merged records are superseded by the unmerged a3, the older formula row by the newer;
    # c keeps its newest version (c2) and its newest batch (the late re-extract of c1)
    assert gone == {("a", "a1", "record"), ("a", "a2", "record"), ("a", None, "formula")}
    assert result.rows_deleted == dry.rows_deleted == 3 and result.rows_kept == len(after) == 6
    assert result.batches_emptied == 1  # the first formula batch
    assert {(i, n, k) for i, n, k, _ in after} == {
        ("a", "a3", "record"),
        ("a", None, "formula"),
        ("b", "b1", "record"),
        ("b", None, "deleted"),
        ("c", "c2", "record"),
        ("c", "c1 re-extracted late", "record"),
    }
    assert (
        prune_object(wh, "Account", "salesforce", cutoff=AT + timedelta(hours=1)).rows_deleted == 0
    )


def test_prune_does_nothing_before_the_main_table_is_built(wh: Warehouse) -> None:
    put(wh, [("a", "a1", 1)])
    put(wh, [("a", "a2", 2)])
    result = prune_object(wh, "Account", "salesforce", cutoff=AT + timedelta(days=1))
    assert result.outcome == "skipped: main table not built" and len(staged(wh)) == 2
