"""Every refusal: checked against describe (or in the warehouse) before any write call; a refused
push sends nothing and writes no result row, exits 2, and the other pushes still run."""

from __future__ import annotations

import pytest

from .conftest import PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GOOD = "select Id, 2.5 as Account_Score__c from {{ ref('account') }} where not _lht_is_deleted"
ONE = "(select Id from {{ ref('account') }} where not _lht_is_deleted order by Id limit 1)"

REFUSALS = {
    "unknown-field": (
        f"select Id, 1 as No_Such_Field__c from {ONE}",
        {"operation": "update"},
        "No_Such_Field__c",
    ),
    "not-updateable": (
        f"select Id, current_timestamp as CreatedDate from {ONE}",
        {"operation": "update"},
        "CreatedDate",
    ),
    "not-createable": (
        "select 'X1' as External_Id__c, 'n' as Name, current_timestamp as SystemModstamp",
        {"operation": "upsert", "key": "External_Id__c"},
        "SystemModstamp",
    ),
    "key-not-external-id": (
        "select 'n' as Name",
        {"operation": "upsert", "key": "Name"},
        "external id",
    ),
    "duplicate-keys": (
        f"select Id, 1.0 as Account_Score__c from {ONE} union all select Id, 2.0 from {ONE}",
        {"operation": "update"},
        "is on 2 rows",
    ),
    "null-key": (
        "select cast(null as varchar) as Id, 1.0 as Account_Score__c",
        {"operation": "update"},
        "NULL",
    ),
    "bad-operation": (f"select Id from {ONE}", {"operation": "merge"}, "operation must be one of"),
    "bad-lookup": (
        "select 'X2' as External_Id__c, 'n' as Name, 'p' as \"Nope.External_Id__c\"",
        {"operation": "upsert", "key": "External_Id__c"},
        "Nope.External_Id__c",
    ),
}


def test_every_refused_push_sends_nothing_and_the_others_run(pws: PushWorkspace) -> None:
    p = pws
    for case, (sql, options, _) in REFUSALS.items():
        p.model(f"push_bad_{case.replace('-', '_')}", sql, object="Account", **options)
    p.model("push_good", GOOD, object="Account", operation="update")
    p.build(check=False)  # the change-set view of a push with a bad operation does not build
    for args in (("--dry-run",), ()):
        writes = len(p.writes())
        run = p.push(*args, code=2)
        for case, (_, _, needle) in REFUSALS.items():
            bad = p.result(run, f"push_bad_{case.replace('-', '_')}")
            assert bad["status"] == "refused" and needle in " ".join(bad["refusals"]), (case, bad)
            assert bad["sent"] == 0
            assert not any(line.startswith(bad["name"]) for line in bad["refusals"]), (
                "the model is named once"
            )
        assert p.results("push_name like 'push_bad%'") == []
        if args:
            assert len(p.writes()) == writes
    assert p.result(run, "push_good")["status"] == "ok" and p.result(run, "push_good")["sent"] > 0


#: Names that would break out of a quoted identifier (issue: a key like this dropped a table).
INJECTED_KEY = (
    'External_Id__c" as TEXT) as k from (select 1) as t; DROP TABLE salesforce_staging.account; '
    'select * from (select 1 as "External_Id__c'
)
INJECTED_COLUMN = 'Name"; drop table x; --'


def test_a_push_whose_names_are_not_names_is_refused_and_nothing_is_rendered(
    pws_any: PushWorkspace,
) -> None:
    p = pws_any
    staged = p.ws.query("select count(*) from salesforce_staging.account")[1][0][0]
    p.model(
        "push_bad_key",
        "select 'X1' as External_Id__c, 'n' as Name",
        object="Account",
        operation="upsert",
        key=INJECTED_KEY,
    )
    quoted = INJECTED_COLUMN.replace('"', '""')
    p.model(
        "push_bad_column",
        f"select Id, Name as \"{quoted}\" from {{{{ ref('account') }}}}",
        object="Account",
        operation="update",
    )
    build = p.build(check=False)
    assert (
        build.returncode != 0 and "is not a valid push column name" in build.stdout + build.stderr
    )
    for _ in ("--dry-run", None):
        writes = len(p.writes())
        run = p.push(*([_] if _ else []), code=2)
        for name, needle in (
            ("push_bad_key", "meta.lht_push.key 'External_Id__c"),
            ("push_bad_column", repr(INJECTED_COLUMN)),
        ):
            bad = p.result(run, name)
            refusal = " ".join(bad["refusals"])
            assert (
                bad["status"] == "refused"
                and needle in refusal
                and "is not a field API name" in refusal
            ), bad
        assert len(p.writes()) == writes and p.results() == []
        assert "Traceback" not in run.stderr
    # nothing dropped: the staging table is whole
    assert p.ws.query("select count(*) from salesforce_staging.account")[1][0][0] == staged


def test_a_push_model_parsed_but_not_built_or_without_its_view_says_what_to_do(
    pws: PushWorkspace,
) -> None:
    p = pws
    p.model("push_unbuilt", GOOD, object="Account", operation="update")
    p.model("push_no_view", GOOD, object="Account", operation="update", changes=False)
    p.ws.run(
        "dbt", "parse", "--project-dir", str(p.ws.project), "--profiles-dir", str(p.ws.profiles)
    ).check()
    run = p.ws.run(
        "lht",
        "push",
        "push_unbuilt",
        "--project-dir",
        str(p.ws.project),
        "--profiles-dir",
        str(p.ws.profiles),
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "run `dbt build`" in run.stdout + run.stderr
    assert (run.stdout + run.stderr).count("push_unbuilt:") == 1, "the model is named once"
    p.build()
    run = p.push("push_no_view", code=2)
    refusal = " ".join(p.result(run, "push_no_view")["refusals"])
    assert (
        "push_tests/push_no_view__lht_changes.sql" in refusal
        and "lht add --push push_no_view" in refusal
    )
    assert p.result(p.push("push_unbuilt"), "push_unbuilt")["status"] == "ok"
    # the options and values change and dbt builds the model, but not its view: refused
    p.model(
        "push_unbuilt", GOOD.replace("2.5", "3.5"), object="Account", operation="upsert", key="Id"
    )
    p.ws.build("--select", "push_unbuilt")
    stale = p.result(p.push("push_unbuilt", code=2), "push_unbuilt")
    assert "other meta.lht_push options" in " ".join(stale["refusals"]) and "dbt build" in " ".join(
        stale["refusals"]
    )
