"""Main tables built by `dbt build` from staging, on DuckDB and on fakesnow (dbt-snowflake):
a first build, then incremental builds with every kind of change docs/design.md lists."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from lht.typemap import FieldSpec
from lht.warehouse.state import StateStore

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

ACCOUNT = [
    FieldSpec("Id", "id"),
    FieldSpec("Name", "string"),
    FieldSpec("SystemModstamp", "datetime"),
    FieldSpec("IsDeleted", "boolean"),
    FieldSpec("Formula__c", "string", calculated=True),
]
NEW_FIELD = FieldSpec("NewField__c", "string")
FORMULAS = {"lht_formula_columns": {"Account": ["Formula__c"]}}
COLUMNS = "Id, Name, SystemModstamp, IsDeleted, Formula__c, _lht_is_deleted"


def t(day: int) -> datetime:
    """A SystemModstamp on day ``day`` of January 2024 (UTC)."""
    return datetime(2024, 1, day, 10, 0, 0, 123000, tzinfo=timezone.utc)


def rec(
    id_: str,
    name: str | None,
    day: int,
    deleted: bool = False,
    formula: str | None = "f",
    **extra: object,
) -> dict:
    """A full record as the loader stages it."""
    return {
        "Id": id_,
        "Name": name,
        "SystemModstamp": t(day),
        "IsDeleted": deleted,
        "Formula__c": formula,
        **extra,
    }


def marker(id_: str, day: int) -> dict:
    """A delete marker: Id, IsDeleted and the deletedDate as SystemModstamp."""
    return {"Id": id_, "IsDeleted": True, "SystemModstamp": t(day)}


def main_rows(env: DbtEnv, columns: str = COLUMNS) -> list[tuple]:
    """The main Account table, ordered by Id, timestamps in UTC."""
    rows = env.query(f"select {columns} from {env.schema}.account order by Id")
    return [
        tuple(v.astimezone(timezone.utc) if isinstance(v, datetime) else v for v in row)
        for row in rows
    ]


def build(env: DbtEnv, **vars: object) -> None:
    env.dbt("build", "--select", "account", vars={**FORMULAS, **vars}).check()


def test_merge_follows_every_change_through_incremental_builds(env: DbtEnv) -> None:
    # first build: duplicate versions in one batch, a record in the recycle bin
    env.write(
        "Account",
        [
            rec("A1", "v1", 1),
            rec("A1", "v2", 2),
            rec("A2", "two", 1),
            rec("A3", "binned", 1, deleted=True),
            rec("A4", "four", 1),
        ],
        fields=ACCOUNT,
    )
    build(env)
    assert main_rows(env) == [
        ("A1", "v2", t(2), False, "f", False),
        ("A2", "two", t(1), False, "f", False),
        ("A3", "binned", t(1), True, "f", True),
        ("A4", "four", t(1), False, "f", False),
    ]
    synced_a4 = main_rows(env, "_lht_synced_at")[3]

    # a new version, a version fetched again (overlap), a new Id, delete markers
    env.write("Account", [rec("A1", "v3", 3), rec("A2", "two", 1), rec("A5", "five", 2)])
    env.write("Account", [marker("A2", 4), marker("A6", 4)], kind="deleted")
    build(env)
    assert main_rows(env) == [
        ("A1", "v3", t(3), False, "f", False),
        ("A2", "two", t(4), True, "f", True),
        ("A3", "binned", t(1), True, "f", True),
        ("A4", "four", t(1), False, "f", False),
        ("A5", "five", t(2), False, "f", False),
        ("A6", None, t(4), True, None, True),
    ]
    assert main_rows(env, "_lht_synced_at")[3] == synced_a4, "a row no batch touched was rewritten"

    # a new field; undeletes; formula refreshes (one turning NULL); a delete of a known Id
    env.write(
        "Account",
        [rec("A2", "two back", 5, NewField__c="x"), rec("A3", "restored", 5, NewField__c="y")],
        fields=[*ACCOUNT, NEW_FIELD],
    )
    env.write(
        "Account",
        [
            {"Id": "A1", "SystemModstamp": t(3), "Formula__c": "F-new"},
            {"Id": "A4", "SystemModstamp": t(1), "Formula__c": None},
        ],
        kind="formula",
    )
    env.write("Account", [marker("A5", 6)], kind="deleted")
    build(env)
    assert main_rows(env, COLUMNS + ", NewField__c") == [
        ("A1", "v3", t(3), False, "F-new", False, None),
        ("A2", "two back", t(5), False, "f", False, "x"),
        ("A3", "restored", t(5), False, "f", False, "y"),
        ("A4", "four", t(1), False, None, False, None),
        ("A5", "five", t(6), True, "f", True, None),
        ("A6", None, t(4), True, None, True, None),
    ]

    # an out-of-order batch: an older version of A1 arrives last
    last = env.write("Account", [rec("A1", "v2 again", 2, NewField__c="late")])
    build(env)
    expected = [
        ("A1", "v3", t(3), False, "F-new", False, None),
        ("A2", "two back", t(5), False, "f", False, "x"),
        ("A3", "restored", t(5), False, "f", False, "y"),
        ("A4", "four", t(1), False, None, False, None),
        ("A5", "five", t(6), True, "f", True, None),
        ("A6", None, t(4), True, None, True, None),
    ]
    assert main_rows(env, COLUMNS + ", NewField__c") == expected
    assert env.query(f"select max(_lht_batch_id) from {env.schema}.account") == [(last,)]
    assert env.query(f"select count(*) from {env.schema}.account where Id = 'A1'") == [(1,)]


#: Staging written by hand to the contract of docs/design.md ("Staging tables"), not by lht's
#: writer: three batches (record, deleted, record), literal values throughout.
HAND_STAGING = [
    ("A1", "v1", "2024-01-01 10:00:00.123", False, "20240105T100000000000Z-0000000a", "record"),
    ("A1", "v2", "2024-01-02 10:00:00.456", False, "20240105T100000000000Z-0000000a", "record"),
    ("A2", "two", "2024-01-01 10:00:00", False, "20240105T100000000000Z-0000000a", "record"),
    ("A2", None, "2024-01-03 08:30:00", True, "20240106T100000000000Z-0000000b", "deleted"),
    ("A3", "three", "2024-01-02 09:00:00", False, "20240107T100000000000Z-0000000c", "record"),
]


def test_staging_written_by_hand_to_the_documented_contract_builds_the_expected_main_table(
    env: DbtEnv,
) -> None:
    stamp = "timestamptz" if env.engine == "duckdb" else "timestamp_tz(3)"
    wh = env.warehouse()
    try:
        wh.execute(f"create schema if not exists {env.staging_schema}")
        wh.execute(
            f"create table {env.staging_schema}.account (Id varchar, Name varchar, SystemModstamp {stamp}, "
            f"IsDeleted boolean, _lht_batch_id varchar, _lht_extracted_at {stamp}, _lht_kind varchar)"
        )
        for id_, name, modstamp, deleted, batch, kind in HAND_STAGING:
            wh.execute(
                f"insert into {env.staging_schema}.account values (?, ?, cast(? as {stamp}), ?, ?, "
                f"cast(? as {stamp}), ?)",
                [id_, name, modstamp + "+00:00", deleted, batch, "2024-01-08 00:00:00+00:00", kind],
            )
    finally:
        wh.close()
    env.dbt("build", "--select", "account").check()
    rows = env.query(
        f"select Id, Name, SystemModstamp, _lht_is_deleted, _lht_batch_id from {env.schema}.account "
        "order by Id"
    )
    utc = [(i, n, m.astimezone(timezone.utc), d, b) for i, n, m, d, b in rows]
    assert utc == [
        (
            "A1",
            "v2",
            datetime(2024, 1, 2, 10, 0, 0, 456000, tzinfo=timezone.utc),
            False,
            "20240105T100000000000Z-0000000a",
        ),
        # the delete marker keeps the record's last values and stamps the deletion
        (
            "A2",
            "two",
            datetime(2024, 1, 3, 8, 30, tzinfo=timezone.utc),
            True,
            "20240106T100000000000Z-0000000b",
        ),
        (
            "A3",
            "three",
            datetime(2024, 1, 2, 9, 0, tzinfo=timezone.utc),
            False,
            "20240107T100000000000Z-0000000c",
        ),
    ]


def test_full_refresh_keeps_main_rows_that_staging_no_longer_holds(env: DbtEnv) -> None:
    env.write("Account", [rec("A1", "one", 1), rec("A2", "two", 1)], fields=ACCOUNT)
    build(env)
    wh = env.warehouse()
    try:
        wh.execute(f"delete from {wh.staging_table('Account')} where {wh.quote('Id')} = 'A1'")
    finally:
        wh.close()
    refused = env.dbt("build", "--select", "account", "--full-refresh", vars=FORMULAS).check()
    assert main_rows(env, "Id, Name") == [("A1", "one"), ("A2", "two")]
    assert "account is not rebuilt by --full-refresh" in refused.output, "a refusal must say so"

    env.dbt(
        "build",
        "--select",
        "account",
        "--full-refresh",
        vars={**FORMULAS, "lht_allow_full_refresh": True},
    ).check()
    assert main_rows(env, "Id, Name") == [("A2", "two")]


def test_incremental_build_leaves_no_temporary_relation_behind(env: DbtEnv) -> None:
    env.write("Account", [rec("A1", "one", 1)], fields=ACCOUNT)
    build(env)
    env.write("Account", [rec("A1", "one again", 2)])
    build(env)
    tables = env.query(
        "select table_schema, table_name from information_schema.tables "
        f"where lower(table_schema) in ('{env.schema}', '{env.staging_schema}')"
    )
    assert sorted(name.lower() for _, name in tables) == ["account", "account"]


def test_formula_columns_come_from_the_cached_describe(env: DbtEnv) -> None:
    env.write("Account", [rec("A1", "one", 1, formula="old")], fields=ACCOUNT)
    wh = env.warehouse()
    try:
        fields = [{"name": f.name, "type": f.sf_type, "calculated": f.calculated} for f in ACCOUNT]
        StateStore(wh).put_describe("Account", {"name": "Account", "fields": fields})
    finally:
        wh.close()
    env.dbt("build", "--select", "account").check()
    env.write(
        "Account",
        [{"Id": "A1", "SystemModstamp": t(1), "Formula__c": "refreshed", "Name": "ignored"}],
        kind="formula",
    )
    env.dbt("build", "--select", "account").check()
    assert main_rows(env, "Id, Name, Formula__c") == [("A1", "one", "refreshed")]


def test_unit_tests_of_the_merge_pass(duckdb_env: DbtEnv) -> None:
    # DuckDB only: fakesnow refuses the temporary table dbt's unit test materialization creates
    result = duckdb_env.dbt("test", "--select", "test_type:unit").check()
    outcomes = {r["unique_id"].split(".")[-1]: r["status"] for r in result.results()}
    assert len(outcomes) >= 5 and set(outcomes.values()) == {"pass"}, outcomes


def test_source_freshness_reports_stale_staging_then_fresh(env: DbtEnv) -> None:
    now = datetime.now(timezone.utc)
    env.write(
        "Account", [rec("A1", "one", 1)], fields=ACCOUNT, extracted_at=now - timedelta(hours=30)
    )
    stale = env.dbt("source", "freshness", "--select", "source:salesforce_staging.account")
    assert stale.returncode == 1, stale.output[-3000:]
    assert [r["status"] for r in stale.results("sources.json")] == ["error"]

    env.write("Account", [rec("A1", "one", 2)], extracted_at=now - timedelta(hours=13))
    warned = env.dbt("source", "freshness", "--select", "source:salesforce_staging.account")
    assert [r["status"] for r in warned.results("sources.json")] == ["warn"], warned.output[-3000:]

    env.write("Account", [rec("A1", "one", 3)], extracted_at=now)
    fresh = env.dbt("source", "freshness", "--select", "source:salesforce_staging.account").check()
    assert [r["status"] for r in fresh.results("sources.json")] == ["pass"]
