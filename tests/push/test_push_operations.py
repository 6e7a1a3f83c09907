"""Each operation against the local org (collections and Bulk): upsert on an external id with a
lookup through a parent's external id, insert keyed by a column of the model's own with mirror,
delete and hard_delete; NULL handling both ways; a partial failure, then a fixed model; the dry run.

The operations run on DuckDB and on the Snowflake dialect: what differs by engine is the
warehouse side (the change set, the results, the mirror's deletes), so the Snowflake dialect
runs each operation through one API (Bulk, which every operation can use); DuckDB runs both
APIs. Models use SQL both engines read (``values`` lists, not DuckDB's ``range``)."""

from __future__ import annotations

import pytest

from .conftest import BULK, ENGINES, PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def numbers(start: int, stop: int) -> str:
    """``(values (start), ..., (stop - 1)) as t(i)``: a row per number, on both engines."""
    return "(values " + ", ".join(f"({i})" for i in range(start, stop)) + ") as t(i)"


NEW_ACCOUNTS = """select 'PUSH-' || cast(i as varchar) as External_Id__c, 'Pushed ' || cast(i as varchar) as Name,
    cast(i as double) + 0.25 as Account_Score__c
from {rows}"""

#: (dialect, API): DuckDB with both APIs, the Snowflake dialect with Bulk
DIALECTS_AND_APIS = [
    pytest.param("duckdb", {}, id="duckdb-collections"),
    pytest.param("duckdb", BULK, id="duckdb-bulk"),
    pytest.param("snowflake", BULK, id="snowflake-bulk", marks=pytest.mark.snowflake),
]


@pytest.mark.parametrize(("pws_any", "engine_env"), DIALECTS_AND_APIS, indirect=["pws_any"])
def test_upsert_creates_then_updates_and_contacts_find_their_account_by_external_id(
    pws_any: PushWorkspace, engine_env: dict
) -> None:
    p = pws_any
    p.model(
        "push_new_accounts",
        NEW_ACCOUNTS.format(rows=numbers(1, 6)),
        object="Account",
        operation="upsert",
        key="External_Id__c",
    )
    p.model(
        "push_contacts",
        f"""select 'PCON-' || cast(i as varchar) as External_Id__c, 'Last' || cast(i as varchar) as LastName,
    'PUSH-' || cast(i as varchar) as "Account.External_Id__c"
from {numbers(1, 6)}
-- depends_on: {{{{ ref('push_new_accounts') }}}}""",
        object="Contact",
        operation="upsert",
        key="External_Id__c",
    )
    p.build()
    run = p.push(env=engine_env)
    accounts, contacts = p.result(run, "push_new_accounts"), p.result(run, "push_contacts")
    assert [r["name"] for r in run.report["results"]] == [
        "push_new_accounts",
        "push_contacts",
    ]  # DAG order
    assert (accounts["created"], accounts["updated"], contacts["created"]) == (5, 0, 5)
    org = {
        ext: (name, float(score))
        for ext, name, score in p.accounts(
            "External_Id__c", "Name", "Account_Score__c", where="\"External_Id__c\" like 'PUSH-%'"
        )
    }
    assert org == {
        f"PUSH-{i}": (f"Pushed {i}", i + 0.25) for i in range(1, 6)
    }  # a value of the field's scale, as sent
    linked = (
        p.org.engine.cursor()
        .execute(
            f'select c."External_Id__c", a."External_Id__c" from {p.org.engine.table("Contact")} c '
            f'join {p.org.engine.table("Account")} a on a."Id" = c."AccountId" where c."External_Id__c" like \'PCON-%\''
        )
        .fetchall()
    )
    assert sorted(linked) == [(f"PCON-{i}", f"PUSH-{i}") for i in range(1, 6)]
    ids = {
        r["key_value"]: r["salesforce_id"]
        for r in p.results("push_name = 'push_new_accounts' and success")
    }
    assert ids == {
        ext: i
        for ext, i in p.org.engine.cursor()
        .execute(
            f'select "External_Id__c", "Id" from {p.org.engine.table("Account")} where "External_Id__c" like \'PUSH-%\''
        )
        .fetchall()
    }

    p.model(
        "push_new_accounts",
        NEW_ACCOUNTS.format(rows=numbers(1, 7)).replace("'Pushed '", "'Renamed '"),
        object="Account",
        operation="upsert",
        key="External_Id__c",
    )
    p.build("push_new_accounts")
    again = p.result(p.push("push_new_accounts", env=engine_env), "push_new_accounts")
    assert (again["created"], again["updated"], again["unchanged"]) == (1, 5, 0)
    assert len(p.accounts("Id", where="\"External_Id__c\" like 'PUSH-%'")) == 6


def test_insert_keyed_by_its_own_column_with_mirror_then_delete_and_hard_delete(
    pws_any: PushWorkspace,
) -> None:
    p = pws_any
    sql = "select 'k' || cast(i as varchar) as _key, 'Inserted ' || cast(i as varchar) as Name from {rows}"
    p.model(
        "push_inserts",
        sql.format(rows=numbers(0, 4)),
        object="Account",
        operation="insert",
        key="_key",
        mirror=True,
    )
    p.build()
    run = p.result(p.push(), "push_inserts")
    assert (run["engine"], run["created"]) == (
        "bulk",
        4,
    )  # a `_key` insert goes through Bulk (crash-safe)
    names = lambda: sorted(  # noqa: E731
        n for (n,) in p.accounts("Name", where='"Name" like \'Inserted %\' and not "IsDeleted"')
    )
    assert names() == ["Inserted 0", "Inserted 1", "Inserted 2", "Inserted 3"]
    assert p.result(p.push(), "push_inserts")["sent"] == 0  # never inserted twice

    p.model(
        "push_inserts",
        sql.format(rows=numbers(0, 2)),
        object="Account",
        operation="insert",
        key="_key",
        mirror=True,
    )
    p.build("push_inserts")
    mirrored = p.result(p.push(), "push_inserts")
    assert (mirrored["deleted"], mirrored["created"]) == (2, 0)
    assert names() == ["Inserted 0", "Inserted 1"]

    doomed = [i for (i,) in p.accounts("Id", where="\"Name\" = 'Inserted 0'")]
    p.model("push_deletes", f"select '{doomed[0]}' as Id", object="Account", operation="delete")
    p.build("push_deletes")
    deleted = p.result(p.push("push_deletes"), "push_deletes")
    assert deleted["deleted"] == 1 and names() == ["Inserted 1"]
    assert p.accounts("IsDeleted", where=f"\"Id\" = '{doomed[0]}'") == [
        (True,)
    ]  # in the recycle bin
    assert p.result(p.push("push_deletes"), "push_deletes")["sent"] == 0

    # hard_delete: through Bulk, and the record skips the recycle bin
    survivor = p.accounts("Id", where="\"Name\" = 'Inserted 1'")[0][0]
    p.model(
        "push_hard_deletes", f"select '{survivor}' as Id", object="Account", operation="hard_delete"
    )
    p.build("push_hard_deletes")
    hard = p.result(p.push("push_hard_deletes"), "push_hard_deletes")
    assert (hard["engine"], hard["deleted"], hard["failed"]) == ("bulk", 1, 0)
    assert p.accounts("Id", where=f"\"Id\" = '{survivor}'") == [], (
        "a hard-deleted record is not in the recycle bin"
    )
    # the outcome (a row sent through Bulk is first recorded pending, LHT_PENDING, until its job ends)
    recorded = p.results(
        "push_name = 'push_hard_deletes' and coalesce(error_code, '') <> 'LHT_PENDING'"
    )
    assert [(r["operation"], r["success"], r["salesforce_id"]) for r in recorded] == [
        ("hard_delete", True, survivor)
    ]
    assert p.result(p.push("push_hard_deletes"), "push_hard_deletes")["sent"] == 0


@pytest.mark.parametrize("engine_env", ENGINES)
def test_null_leaves_a_field_unless_clear_nulls(pws: PushWorkspace, engine_env: dict) -> None:
    p = pws
    target = p.accounts("Id", where='not "IsDeleted"')[0][0]
    p.org.engine.update("Account", target, {"Account_Score__c": 42, "Description": "keep me"})
    sql = f"select '{target}' as Id, cast(null as double) as Account_Score__c, cast(null as varchar) as Description, 'x' as _pad"
    p.model("push_nulls", sql, object="Account", operation="update")
    p.build()
    p.push(env=engine_env)
    assert p.accounts("Account_Score__c", "Description", where=f"\"Id\" = '{target}'") == [
        (42, "keep me")
    ]
    p.model("push_nulls", sql, object="Account", operation="update", clear_nulls=True)
    p.build("push_nulls")
    p.push("--full", env=engine_env)
    assert p.accounts("Account_Score__c", "Description", where=f"\"Id\" = '{target}'") == [
        (None, None)
    ]


@pytest.mark.parametrize("engine_env", ENGINES)
def test_rejected_rows_are_recorded_and_sent_again_once_the_model_is_fixed(
    pws: PushWorkspace, engine_env: dict
) -> None:
    p = pws
    bad = "case when row_number() over (order by Id) <= 3 then 'Platinum' else 'Gold' end"
    p.model(
        "push_tiers",
        f"select Id, {bad} as Customer_Tier__c from {{{{ ref('account') }}}} where not _lht_is_deleted",
        object="Account",
        operation="update",
    )
    p.build()
    run = p.result(p.push(env=engine_env, code=1), "push_tiers")
    assert run["failed"] == 3 and run["updated"] == run["sent"] - 3 and run["status"] == "failed"
    p.ws.build("--select", "lht_push_results")
    _, failed = p.ws.query(
        "select error_code, error_message from salesforce.lht_push_results where not success"
    )
    assert len(failed) == 3 and {code for code, _ in failed} == {
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    }
    assert all("Platinum" in message for _, message in failed)

    assert (
        p.result(p.push(env=engine_env, code=1), "push_tiers")["sent"] == 3
    )  # failures go again, only them
    p.model(
        "push_tiers",
        "select Id, 'Gold' as Customer_Tier__c from {{ ref('account') }} where not _lht_is_deleted",
        object="Account",
        operation="update",
    )
    p.build("push_tiers")
    fixed = p.result(p.push(env=engine_env), "push_tiers")
    assert (fixed["sent"], fixed["failed"]) == (3, 0)
    p.ws.build("--select", "lht_push_results")
    assert p.ws.query("select * from salesforce.lht_push_results where not success")[1] == []


def test_dry_run_counts_without_a_write_call(pws: PushWorkspace) -> None:
    p = pws
    p.model(
        "push_new_accounts",
        NEW_ACCOUNTS.format(rows=numbers(1, 4)),
        object="Account",
        operation="upsert",
        key="External_Id__c",
    )
    p.model(
        "push_scores",
        "select Id, 1.5 as Account_Score__c from {{ ref('account') }} where not _lht_is_deleted",
        object="Account",
        operation="update",
    )
    p.build()
    writes = len(p.writes())
    run = p.push("--dry-run")
    assert p.result(run, "push_new_accounts")["would"]["insert"] == 3
    assert p.result(run, "push_scores")["would"]["update"] == len(
        p.accounts("Id", where='not "IsDeleted"')
    )
    assert len(p.writes()) == writes and p.results() == []
    table = p.ws.run(
        "lht",
        "push",
        "--dry-run",
        "--project-dir",
        str(p.ws.project),
        "--profiles-dir",
        str(p.ws.profiles),
    )
    assert table.returncode == 0 and "would insert" in table.stdout
