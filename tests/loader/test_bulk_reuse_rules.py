"""Which open Bulk query job a run takes up again (lht.salesforce.queryjobs), against the local
org and the ledger kept in a DuckDB warehouse: the same query while Salesforce has it; never
another query, an aborted or deleted job, nor one older than Salesforce keeps results."""

from __future__ import annotations

from datetime import timedelta

from lht.clock import utcnow
from lht.config import credentials_from_env, settings_from_env
from lht.salesforce import bulk
from lht.salesforce.client import connect
from lht.salesforce.describe import plan_object
from lht.salesforce.extract import extract
from lht.sync.jobledger import WarehouseJobLedger
from lht.warehouse.bulkjobs import BulkJobStore


def _setup(org, wh):
    settings = settings_from_env({}, retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05)
    client = connect(credentials_from_env(org.env("token")), settings)
    store = BulkJobStore(wh, "run-1")
    return client, plan_object(client.describe("Account")), store, WarehouseJobLedger(store)


def _jobs(org) -> int:
    return org.limits.bulk_jobs


def test_the_same_query_reuses_the_open_job_and_another_query_does_not(org, duck_wh) -> None:
    client, plan, store, ledger = _setup(org, duck_wh)
    first = extract(
        client, plan, client.settings, mode="bulk", ledger=ledger
    )  # killed before reading
    created = _jobs(org)
    again = extract(client, plan, client.settings, mode="bulk", ledger=ledger)
    assert again.reused is not None and again.job_id == first.job_id and _jobs(org) == created
    rows = sum(t.num_rows for t in again.batches)
    assert (
        rows
        == int(client.query("SELECT COUNT() FROM Account", include_deleted=True)["totalSize"])
        > 0
    )
    other = extract(client, plan, client.settings, mode="bulk", where="Name != null", ledger=ledger)
    assert other.reused is None and other.job_id != first.job_id and _jobs(org) == created + 1
    [row] = [r for r in store.rows() if r.job_id == first.job_id]
    assert row.reused_by == "run-1" and row.status == "open"


def test_an_aborted_or_deleted_job_is_not_reused_and_never_asked_about_again(org, duck_wh) -> None:
    client, plan, store, ledger = _setup(org, duck_wh)
    aborted = extract(client, plan, client.settings, mode="bulk", ledger=ledger)
    bulk.abort_job(client, aborted.job_id)
    fresh = extract(client, plan, client.settings, mode="bulk", ledger=ledger)
    assert fresh.reused is None and fresh.job_id != aborted.job_id
    bulk.abort_job(client, fresh.job_id)
    bulk.delete_job(client, fresh.job_id)  # gone: Salesforce answers 404
    third = extract(client, plan, client.settings, mode="bulk", ledger=ledger)
    assert third.reused is None and third.job_id not in (aborted.job_id, fresh.job_id)
    status = {r.job_id: (r.status, r.note) for r in store.rows()}
    assert status[aborted.job_id][0] == "unusable" and "Aborted" in status[aborted.job_id][1]
    assert status[fresh.job_id][0] == "unusable" and "no longer has it" in status[fresh.job_id][1]


def test_a_job_older_than_salesforce_keeps_results_is_not_reused(org, duck_wh) -> None:
    client, plan, store, ledger = _setup(org, duck_wh)
    old = extract(client, plan, client.settings, mode="bulk", ledger=ledger)
    q = duck_wh.quote
    duck_wh.execute(
        f"UPDATE {store.table} SET {q('created_at')} = CAST(? AS TIMESTAMPTZ) WHERE {q('job_id')} = ?",
        [(utcnow() - timedelta(days=7, minutes=1)).isoformat(), old.job_id],
    )
    before = len(org.faults.requests())
    again = extract(client, plan, client.settings, mode="bulk", ledger=ledger)
    assert again.reused is None and again.job_id != old.job_id
    assert not any(old.job_id in path for _, path in org.faults.requests()[before:]), (
        "asked about a job too old"
    )
    assert {r.job_id: r.status for r in store.rows()}[old.job_id] == "unusable"
