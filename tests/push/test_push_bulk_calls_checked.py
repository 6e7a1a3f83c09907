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
def test_a_refused_upload_or_close_aborts_the_job_and_the_rows_go_again(pws: PushWorkspace, refused: str) -> None:
    p = pws
    path, method, status, code, times = REFUSALS[refused]
    p.model("push_scores", SCORES, object="Account", operation="update")
    p.build()
    live = len(p.accounts("Id", where='not "IsDeleted"'))
    fault = p.org.faults.add("refuse", path=path, method=method, times=times, status=status, error_code=code)

    failed = p.push(env=BULK, code=1)
    report = p.result(failed, "push_scores")
    assert fault.fired >= 1
    assert report["updated"] == 0 and report["created"] == 0 and report["sent"] == 0, report
    assert str(status) in (report["error"] or "") or code in (report["error"] or ""), report
    jobs = p.org.ingest.list(API_VERSION)["records"]
    assert [j["state"] for j in jobs] == ["Aborted"], jobs
    assert not p.accounts("Id", where='"Account_Score__c" = 7.5'), "rows of a refused upload were applied"
    assert not p.results("success"), "a refused job's rows were recorded as accepted"
    p.org.faults.clear()

    again = p.result(p.push(env=BULK), "push_scores")
    assert again["failed"] == 0 and again["updated"] == live == again["sent"], again
    assert len(p.accounts("Id", where='"Account_Score__c" = 7.5')) == live
