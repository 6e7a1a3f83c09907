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
    "unknown-field": (f"select Id, 1 as No_Such_Field__c from {ONE}", {"operation": "update"}, "No_Such_Field__c"),
    "not-updateable": (f"select Id, current_timestamp as CreatedDate from {ONE}", {"operation": "update"}, "CreatedDate"),
    "not-createable": ("select 'X1' as External_Id__c, 'n' as Name, current_timestamp as SystemModstamp",
                       {"operation": "upsert", "key": "External_Id__c"}, "SystemModstamp"),
    "key-not-external-id": ("select 'n' as Name", {"operation": "upsert", "key": "Name"}, "external id"),
    "duplicate-keys": (f"select Id, 1.0 as Account_Score__c from {ONE} union all select Id, 2.0 from {ONE}",
                       {"operation": "update"}, "is on 2 rows"),
    "null-key": ("select cast(null as varchar) as Id, 1.0 as Account_Score__c", {"operation": "update"}, "NULL"),
    "bad-operation": (f"select Id from {ONE}", {"operation": "merge"}, "operation must be one of"),
    "bad-lookup": ("select 'X2' as External_Id__c, 'n' as Name, 'p' as \"Nope.External_Id__c\"",
                   {"operation": "upsert", "key": "External_Id__c"}, "Nope.External_Id__c"),
}


def test_every_refused_push_sends_nothing_and_the_others_run(pws: PushWorkspace) -> None:
    p = pws
    for case, (sql, options, _) in REFUSALS.items():
        p.model(f"push_bad_{case.replace('-', '_')}", sql, object="Account", **options)
    p.model("push_good", GOOD, object="Account", operation="update")
    p.build()
    for args in (("--dry-run",), ()):
        writes = len(p.writes())
        run = p.push(*args, code=2)
        for case, (_, _, needle) in REFUSALS.items():
            bad = p.result(run, f"push_bad_{case.replace('-', '_')}")
            assert bad["status"] == "refused" and needle in " ".join(bad["refusals"]), (case, bad)
            assert bad["sent"] == 0
        assert p.results("push_name like 'push_bad%'") == []
        if args:
            assert len(p.writes()) == writes
    assert p.result(run, "push_good")["status"] == "ok" and p.result(run, "push_good")["sent"] > 0
