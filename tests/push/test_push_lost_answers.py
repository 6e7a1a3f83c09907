"""An sObject Collections insert whose answer was lost (Salesforce applied it, then the
connection dropped) is not sent again: the push exits 1 saying the outcome is unknown, and
the next push finds the created records by their key instead of creating them twice. The
change set is read 200 rows a call, each row exactly once (the old tool paged with
LIMIT/OFFSET and no ORDER BY, skipping rows or sending them twice)."""

from __future__ import annotations

import pytest

from .conftest import PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ROWS = 450  # three collections calls: 200, 200, 50
INSERTS = f"""select 'LOST-' || cast(i as varchar) as External_Id__c, 'Lost ' || cast(i as varchar) as Name
from range(0, {ROWS}) as t(i)"""
INSERT_CALL = "/composite/sobjects"


def _created(p: PushWorkspace) -> list[tuple[str, int]]:
    return (
        p.org.engine.cursor()
        .execute(
            f'select "External_Id__c", count(*) from {p.org.engine.table("Account")} '
            "where \"External_Id__c\" like 'LOST-%' group by 1"
        )
        .fetchall()
    )


def _inserts(p: PushWorkspace) -> int:
    return sum(
        1 for m, path in p.writes() if m == "POST" and path.split("?")[0].endswith(INSERT_CALL)
    )


def test_an_insert_whose_answer_was_lost_is_found_not_sent_twice(pws: PushWorkspace) -> None:
    p = pws
    p.model("push_lost", INSERTS, object="Account", operation="insert", key="External_Id__c")
    p.build()
    lost = p.org.faults.add(
        "drop_response", path=INSERT_CALL, method="POST", skip=1
    )  # the second call's answer

    failed = p.push(code=1)
    report = p.result(failed, "push_lost")
    assert lost.fired == 1 and _inserts(p) == 2, "the insert whose answer was lost was sent again"
    assert "no answer" in (report["error"] or ""), report
    assert len(_created(p)) == 400 and all(n == 1 for _, n in _created(p))

    rerun = p.result(p.push(), "push_lost")
    assert rerun["failed"] == 0 and rerun["sent"] == ROWS - 400, rerun
    assert _inserts(p) == 3
    created = _created(p)
    assert len(created) == ROWS and all(n == 1 for _, n in created), "a record was created twice"
    p.ws.build("--select", "lht_push_results")
    _, rows = p.ws.query(
        "select count(*), count(salesforce_id), min(cast(success as int)) "
        "from salesforce.lht_push_results where push_name = 'push_lost'"
    )
    assert rows == [(ROWS, ROWS, 1)]
    assert p.result(p.push(), "push_lost")["sent"] == 0
