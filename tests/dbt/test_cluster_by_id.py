"""The var ``lht_cluster_by_id``: on Snowflake the main table is created ``cluster by (Id)``
and incremental builds still merge; DuckDB ignores it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from lht.typemap import FieldSpec

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

ACCOUNT = [
    FieldSpec("Id", "id"),
    FieldSpec("Name", "string"),
    FieldSpec("SystemModstamp", "datetime"),
]
CLUSTER = {"lht_cluster_by_id": True, "lht_formula_columns": {"Account": []}}


def rec(id_: str, name: str, day: int) -> dict:
    return {"Id": id_, "Name": name, "SystemModstamp": datetime(2024, 1, day, tzinfo=timezone.utc)}


def test_clustering_by_id_is_a_snowflake_option_and_the_merge_still_works(env: DbtEnv) -> None:
    env.write("Account", [rec("A1", "one", 1), rec("A2", "two", 1)], fields=ACCOUNT)
    env.dbt("build", "--select", "account", vars=CLUSTER).check()
    created = "\n".join(
        p.read_text() for p in (env.project / "target" / "run").rglob("account.sql")
    )
    assert created, "dbt wrote no run SQL for the model"
    assert ("cluster by (id)" in created.lower()) == (env.engine == "snowflake")
    env.write("Account", [rec("A2", "two again", 2), rec("A3", "three", 2)])
    env.dbt("build", "--select", "account", vars=CLUSTER).check()
    rows = env.query("select Id, Name from salesforce.account order by Id")
    assert [tuple(r) for r in rows] == [("A1", "one"), ("A2", "two again"), ("A3", "three")]
