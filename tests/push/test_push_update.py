"""`lht push` of an update: rows go out once, come back with `lht sync`, and a push right after a
successful one sends nothing and makes no Salesforce call at all, on both engines and both dialects."""

from __future__ import annotations

import pytest

from .conftest import ENGINES, PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCORES = """select Id, cast(length(Name) as double) / 4 as Account_Score__c, 'Gold' as Customer_Tier__c, Name as _note
from {{ ref('account') }} where not _lht_is_deleted"""


@pytest.mark.parametrize("engine_env", ENGINES)
def test_an_update_push_sends_each_row_once_then_nothing(
    pws_any: PushWorkspace, engine_env: dict
) -> None:
    p = pws_any
    p.model("push_scores", SCORES, object="Account", operation="update", key="Id")
    p.build()
    first = p.push(env=engine_env)
    r = p.result(first, "push_scores")
    engine = "bulk" if engine_env else "collections"
    org_rows = p.accounts("Name", "Account_Score__c", "Customer_Tier__c", where='not "IsDeleted"')
    n = len(org_rows)
    assert (r["status"], r["engine"], r["sent"], r["updated"], r["failed"]) == (
        "ok",
        engine,
        n,
        n,
        0,
    )
    assert all(
        float(score) == round(len(name) / 4, 2) and tier == "Gold" for name, score, tier in org_rows
    )

    calls = p.org.api_calls
    again = p.push(env=engine_env)
    assert p.result(again, "push_scores")["sent"] == 0 and again.report["api_calls"] == 0
    assert p.org.api_calls == calls, "a push with nothing to send called Salesforce"

    p.build()  # with a dbt build in between: still nothing
    assert p.push(env=engine_env).report["api_calls"] == 0 and p.org.api_calls == calls
    names, failed = p.ws.query("select * from salesforce.lht_push_results where not success")
    assert failed == []
    _, rows = p.ws.query("select count(*), count(last_success_at) from salesforce.lht_push_results")
    assert rows == [(n, n)]

    # the next sync brings the pushed values back (the org moved SystemModstamp)
    p.ws.sync("Account")
    p.ws.build("--select", "account")
    _, synced = p.ws.query(
        "select Name, Account_Score__c from salesforce.account where not _lht_is_deleted"
    )
    assert all(float(score) == round(len(name) / 4, 2) for name, score in synced)


def test_a_changed_row_is_the_only_row_sent(pws: PushWorkspace) -> None:
    p = pws
    p.model("push_scores", SCORES, object="Account", operation="update", key="Id")
    p.build()
    p.push()
    first_id = p.accounts("Id", where='not "IsDeleted"')[0][0]
    n = len(p.accounts("Id", where='not "IsDeleted"'))
    p.model(
        "push_scores",
        SCORES.replace(
            "'Gold' as", f"case when Id = '{first_id}' then 'Silver' else 'Gold' end as"
        ),
        object="Account",
        operation="update",
        key="Id",
    )
    p.build("push_scores")
    before = len(p.writes())
    run = p.push()
    assert (
        p.result(run, "push_scores")["sent"] == 1
        and p.result(run, "push_scores")["unchanged"] == n - 1
    )
    assert len(p.writes()) == before + 1
    assert p.accounts("Customer_Tier__c", where=f"\"Id\" = '{first_id}'") == [("Silver",)]
    full = p.push("--full")
    assert p.result(full, "push_scores")["sent"] == n
