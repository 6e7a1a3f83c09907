"""A Bulk ingest job whose upload or close Salesforce refuses is aborted, nothing of it is
recorded as accepted, the push exits 1, and the rows go out again on the next run (the old
tool closed the job and counted the rows as sent whatever the upload's status)."""

from __future__ import annotations

import pytest

from lht.constants import API_VERSION

from .conftest import BULK, PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCORES = "select Id, 7.5 as Account_Score__c from {{ ref('account') }} where not _lht_is_deleted"

#: the refused call -> (path, method, HTTP status, errorCode, times)
REFUSALS = {
    "upload-400": ("/batches", "PUT", 400, "INVALIDJOBSTATE", 1),
    "upload-500-every-attempt": ("/batches", "PUT", 500, "UNKNOWN_EXCEPTION", 50),
    "close-400": ("/jobs/ingest/", "PATCH", 400, "INVALIDJOBSTATE", 1),
}


@pytest.mark.parametrize("refused", sorted(REFUSALS))
def test_a_refused_upload_or_close_aborts_the_job_and_the_rows_go_again(
    pws: PushWorkspace, refused: str
) -> None:
    p = pws
    path, method, status, code, times = REFUSALS[refused]
    p.model("push_scores", SCORES, object="Account", operation="update")
    p.build()
    live = len(p.accounts("Id", where='not "IsDeleted"'))
    fault = p.org.faults.add(
        "refuse", path=path, method=method, times=times, status=status, error_code=code
    )

    failed = p.push(env=BULK, code=1)
    report = p.result(failed, "push_scores")
    assert fault.fired >= 1
    assert report["updated"] == 0 and report["created"] == 0 and report["sent"] == 0, report
    assert str(status) in (report["error"] or "") or code in (report["error"] or ""), report
    jobs = p.org.ingest.list(API_VERSION)["records"]
    assert [j["state"] for j in jobs] == ["Aborted"], jobs
    assert not p.accounts("Id", where='"Account_Score__c" = 7.5'), (
        "rows of a refused upload were applied"
    )
    assert not p.results("success"), "a refused job's rows were recorded as accepted"
    p.org.faults.clear()

    again = p.result(p.push(env=BULK), "push_scores")
    assert again["failed"] == 0 and again["updated"] == live == again["sent"], again
    assert len(p.accounts("Id", where='"Account_Score__c" = 7.5')) == live


def test_a_close_whose_answer_was_lost_reads_the_job_instead_of_aborting_it(
    pws: PushWorkspace,
) -> None:
    p = pws
    rows = 30
    p.model(
        "push_new",
        f"select 'CLOSE-' || cast(i as varchar) as External_Id__c, 'Close ' || cast(i as varchar) "
        f"as Name from range(0, {rows}) as t(i)",
        object="Account",
        operation="insert",
        key="External_Id__c",
    )
    p.build()
    lost = p.org.faults.add("drop_response", path="/jobs/ingest/", method="PATCH")  # the close
    run = p.result(p.push(env=BULK), "push_new")
    assert lost.fired == 1 and (run["created"], run["failed"]) == (rows, 0), run
    created = (
        p.org.engine.cursor()
        .execute(
            f'select count(*), count(distinct "External_Id__c") from {p.org.engine.table("Account")} '
            "where \"External_Id__c\" like 'CLOSE-%'"
        )
        .fetchone()
    )
    assert created == (rows, rows)
    assert p.result(p.push(env=BULK), "push_new")["sent"] == 0
