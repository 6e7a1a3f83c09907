"""Transient row locks are retried within the run (collections and Bulk, bounded); a budget reached mid-push leaves its rows
unconfirmed, and the next push settles them without sending them twice."""

from __future__ import annotations

import pytest

from lht.salesforce.collections import LOCK_RETRIES

from .conftest import BULK, PushWorkspace

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCORES = "select Id, 7.5 as Account_Score__c from {{ ref('account') }} where not _lht_is_deleted"


def test_locked_rows_are_sent_again_within_the_run(pws: PushWorkspace) -> None:
    p = pws
    p.model("push_scores", SCORES, object="Account", operation="update")
    p.build()
    lock = p.org.faults.add("unable_to_lock_row", path="/composite/sobjects", times=3)
    run = p.result(p.push(), "push_scores")
    assert lock.fired >= 1 and run["failed"] == 0 and run["updated"] == run["sent"]
    assert {s for (s,) in p.accounts("Account_Score__c", where='not "IsDeleted"')} == {7.5}


def test_a_budget_reached_mid_bulk_push_is_settled_by_the_next_push(pws: PushWorkspace) -> None:
    p = pws
    p.model("push_scores", SCORES, object="Account", operation="update")
    p.build()
    stopped = p.push(
        env={**BULK, "LHT_API_BUDGET": "4"}, code=1
    )  # the Bulk allowance (/limits), create, upload, close; then no poll
    assert "API budget" in (p.result(stopped, "push_scores")["error"] or "")
    jobs_before = [
        path
        for method, path in p.org.faults.requests()
        if method == "POST" and path.endswith("/jobs/ingest")
    ]
    settled = p.result(p.push(env=BULK), "push_scores")
    assert settled["failed"] == 0 and settled["updated"] == len(
        p.accounts("Id", where='not "IsDeleted"')
    )
    jobs_after = [
        path
        for method, path in p.org.faults.requests()
        if method == "POST" and path.endswith("/jobs/ingest")
    ]
    assert len(jobs_after) == len(jobs_before), (
        "the rerun sent the rows again instead of reading the job's results"
    )
    assert p.result(p.push(env=BULK), "push_scores")["sent"] == 0


def test_locked_bulk_rows_go_again_in_one_follow_up_job(pws: PushWorkspace) -> None:
    p = pws
    p.model("push_scores", SCORES, object="Account", operation="update")
    p.build()
    live = len(p.accounts("Id", where='not "IsDeleted"'))
    lock = p.org.faults.add("unable_to_lock_row", path="/batches", times=3)
    run = p.result(p.push(env=BULK), "push_scores")
    assert lock.fired == 3 and (run["failed"], run["updated"], run["sent"]) == (0, live, live), run
    assert {s for (s,) in p.accounts("Account_Score__c", where='not "IsDeleted"')} == {7.5}
    assert len(_ingest_jobs_created(p)) == 2, "the locked rows did not go in one follow-up job"
    assert p.result(p.push(env=BULK), "push_scores")["sent"] == 0


def test_rows_still_locked_after_the_bounded_retries_are_recorded_failed(
    pws: PushWorkspace,
) -> None:
    p = pws
    p.model("push_scores", SCORES, object="Account", operation="update")
    p.build()
    live = len(p.accounts("Id", where='not "IsDeleted"'))
    p.org.faults.add("unable_to_lock_row", path="/batches", times=100_000)
    run = p.result(p.push(env=BULK, code=1), "push_scores")
    assert (run["failed"], run["updated"]) == (live, 0), run
    assert len(_ingest_jobs_created(p)) == 1 + LOCK_RETRIES
    assert {r["error_code"] for r in p.results("not success and error_code <> 'LHT_PENDING'")} == {
        "UNABLE_TO_LOCK_ROW"
    }
    p.org.faults.clear()
    again = p.result(p.push(env=BULK), "push_scores")
    assert (again["failed"], again["updated"]) == (0, live), again


def _ingest_jobs_created(p: PushWorkspace) -> list[str]:
    return [
        path
        for method, path in p.org.faults.requests()
        if method == "POST" and path.endswith("/jobs/ingest")
    ]
