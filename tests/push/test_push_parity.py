"""What reverse-ETL users ask of a push beyond insert/update/upsert/delete: matching records on
a field (`match_on`), assignment and duplicate rules, rows ordered by parent against record
locks, and the org's daily Bulk allowance; on DuckDB and the Snowflake dialect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lht_devorg import DevOrg
from lht_devorg.core import rules

from .conftest import BULK, COUNTS, ENGINES, PushWorkspace, make_push_ws

#: end to end (sync, dbt build, pushes as subprocesses): slow on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

UNKNOWN_EMAIL = "nobody@example.invalid"
BY_EMAIL = f"""select Email, 'Pushed by email' as Title
from (select distinct lower(Email) as Email from {{{{ ref('contact') }}}}
      where not _lht_is_deleted and Email is not null) as c
union all
select '{UNKNOWN_EMAIL}' as Email, 'Pushed by email' as Title"""


def _contacts(p: PushWorkspace) -> list[tuple]:
    return (
        p.org.engine.cursor()
        .execute(
            f'select "Id", "Email", "Title" from {p.org.engine.table("Contact")} where not "IsDeleted" order by "Id"'
        )
        .fetchall()
    )


@pytest.mark.parametrize("engine_env", ENGINES)
def test_an_update_matched_on_email_updates_each_contact_found_once_and_records_the_others(
    pws_any: PushWorkspace, engine_env: dict
) -> None:
    p = pws_any
    first, second = _contacts(p)[:2]
    # two live contacts share an email (in another case: the match ignores case)
    p.org.engine.update("Contact", second[0], {"Email": first[1].upper()})
    p.ws.sync("Contact")
    p.ws.build("--select", "contact")
    p.model("push_by_email", BY_EMAIL, object="Contact", operation="update", match_on="Email")
    p.build()

    dry = p.push("--dry-run", env=engine_env)
    would = p.result(dry, "push_by_email")["would"]
    unique_emails = len({c[1].lower() for c in _contacts(p)})
    assert (would["update"], would["not_found"], would["ambiguous_match"]) == (
        unique_emails - 1,
        1,
        1,
    )
    assert len(p.writes()) == 0

    run = p.push(env=engine_env, code=1)
    r = p.result(run, "push_by_email")
    assert (r["updated"], r["failed"]) == (unique_emails - 1, 2)
    titles = {cid: title for cid, _, title in _contacts(p)}
    assert titles[first[0]] != "Pushed by email" and titles[second[0]] != "Pushed by email"
    assert sum(t == "Pushed by email" for t in titles.values()) == unique_emails - 1
    failed = {
        row["key_value"].lower(): row["error_code"]
        for row in p.results("not success and error_code <> 'LHT_PENDING'")
    }
    assert failed == {UNKNOWN_EMAIL: "NOT_FOUND", first[1].lower(): "AMBIGUOUS_MATCH"}


def test_match_on_an_object_lht_does_not_sync_is_refused_naming_the_fix(pws: PushWorkspace) -> None:
    p = pws
    p.model(
        "push_leads_by_email",
        "select 'a@example.com' as Email, 'Hot' as Rating",
        object="Lead",
        operation="update",
        match_on="Email",
    )
    p.build(check=False)  # the change set cannot be built: Lead was never synced
    run = p.push(code=2)
    refusal = " ".join(p.result(run, "push_leads_by_email")["refusals"])
    assert (
        "not synced by lht" in refusal and "lht add Lead" in refusal and "lht sync Lead" in refusal
    )
    assert p.writes() == []


def _leads(p: PushWorkspace, where: str) -> list[tuple]:
    return (
        p.org.engine.cursor()
        .execute(
            f'select "LastName", "OwnerId" from {p.org.engine.table("Lead")} where {where} order by "LastName"'
        )
        .fetchall()
    )


def test_leads_inserted_by_bulk_with_the_assignment_rule_are_routed_and_others_are_not(
    pws_any: PushWorkspace,
) -> None:
    p = pws_any
    routed = rules.routing_owner(p.org.engine)
    p.model(
        "push_routed",
        "select 'r1' as _key, 'Routed One' as LastName, 'Acme' as Company",
        object="Lead",
        operation="insert",
        key="_key",
        assignment_rule_id=rules.ASSIGNMENT_RULES["Lead"],
    )
    p.model(
        "push_plain",
        "select 'p1' as _key, 'Plain One' as LastName, 'Acme' as Company",
        object="Lead",
        operation="insert",
        key="_key",
    )
    p.build()
    run = p.push()
    assert p.result(run, "push_routed")["engine"] == "bulk"
    assert _leads(p, "\"LastName\" = 'Routed One'") == [("Routed One", routed)]
    [(_, owner)] = _leads(p, "\"LastName\" = 'Plain One'")
    assert owner != routed


def test_a_lead_updated_by_collections_with_the_default_rule_is_routed(pws: PushWorkspace) -> None:
    p = pws
    routed = rules.routing_owner(p.org.engine)
    p.ws.sync("Lead")
    p.ws.build("--select", "lead")
    p.model(
        "push_hot",
        "select Id, 'Hot' as Rating from {{ ref('lead') }} where not _lht_is_deleted",
        object="Lead",
        operation="update",
        assignment_rule_id="default",
    )
    p.build()
    run = p.push()
    assert p.result(run, "push_hot")["engine"] == "collections"
    assert {owner for _, owner in _leads(p, 'not "IsDeleted"')} == {routed}


DUPLICATE = """select 'dup-1' as External_Id__c, {name} as Name, {site} as Website"""


def _duplicate_model(p: PushWorkspace, **options: object) -> str:
    name, site = p.accounts("Name", "Website", where='not "IsDeleted" and "Website" is not null')[0]
    p.model(
        "push_duplicate",
        DUPLICATE.format(name=_literal(name), site=_literal(site)),
        object="Account",
        operation="upsert",
        key="External_Id__c",
        **options,
    )
    p.build()
    return name


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize("engine_env", ENGINES)
def test_a_duplicate_account_is_refused_with_the_duplicates_found(
    pws_any: PushWorkspace, engine_env: dict
) -> None:
    p = pws_any
    name = _duplicate_model(p)
    run = p.push(env=engine_env, code=1)
    assert p.result(run, "push_duplicate")["engine"] == ("bulk" if engine_env else "collections")
    [row] = p.results("not success and error_code <> 'LHT_PENDING'")
    assert row["error_code"] == "DUPLICATES_DETECTED"
    [(master,)] = p.accounts("Id", where=f'"Name" = {_literal(name)} and not "IsDeleted"')[:1]
    if not engine_env:  # collections carry the duplicates Salesforce found
        found = json.loads(row["error_message"].split("duplicateResult: ", 1)[1])
        assert found["duplicateRule"] == rules.DUPLICATE_RULE
        assert master in {m["record"]["Id"] for m in found["matchResults"][0]["matchRecords"]}
    assert p.accounts("Id", where="\"External_Id__c\" = 'dup-1'") == []


@pytest.mark.parametrize("engine_env", ENGINES)
def test_a_duplicate_account_is_saved_with_allow_duplicates_by_collections(
    pws_any: PushWorkspace, engine_env: dict
) -> None:
    p = pws_any
    _duplicate_model(p, allow_duplicates=True)
    run = p.push(env=engine_env)
    r = p.result(run, "push_duplicate")
    assert (r["engine"], r["created"], r["failed"]) == ("collections", 1, 0)
    if engine_env:  # Bulk-sized: sent by collections, and the report says why
        assert any("allow_duplicates" in note for note in r["notes"])
    assert len(p.accounts("Id", where="\"External_Id__c\" = 'dup-1'")) == 1


SCORES = "select Id, 1.5 as Account_Score__c from {{ ref('account') }} where not _lht_is_deleted"


def test_a_bulk_push_the_allowance_cannot_carry_goes_by_collections_and_says_so(
    pws_any: PushWorkspace,
) -> None:
    p = pws_any
    p.model("push_scores", SCORES, object="Account", operation="update", key="Id")
    p.build()
    p.org.limits.set_bulk_batches(15000)  # the day's Bulk batches are spent
    run = p.push(env=BULK)
    r = p.result(run, "push_scores")
    assert (r["engine"], r["bulk_batches"], r["failed"]) == ("collections", 0, 0)
    assert any("Bulk API allowance is short" in note for note in r["notes"])


def test_a_bulk_only_push_the_allowance_cannot_carry_is_refused(pws: PushWorkspace) -> None:
    p = pws
    p.model(
        "push_new",
        "select 'n1' as _key, 'New Account' as Name",
        object="Account",
        operation="insert",
        key="_key",
    )
    p.build()
    p.org.limits.set_bulk_batches(15000)
    run = p.push(code=2)
    refusal = " ".join(p.result(run, "push_new")["refusals"])
    assert "Bulk API allowance is short" in refusal and "1 Bulk batches" in refusal
    assert [w for w in p.writes() if "/jobs/ingest" in w[1]] == []


def test_a_bulk_push_counts_the_batches_it_used(pws: PushWorkspace) -> None:
    p = pws
    p.model("push_scores", SCORES, object="Account", operation="update", key="Id")
    p.build()
    before = p.org.limits.limits_body()["DailyBulkApiBatches"]["Remaining"]
    run = p.push(env=BULK)
    assert p.result(run, "push_scores")["bulk_batches"] == 1
    assert p.org.limits.limits_body()["DailyBulkApiBatches"]["Remaining"] == before - 1


# -- record locks by parent -------------------------------------------------------------------
@pytest.fixture
def lock_org() -> Iterator[DevOrg]:
    """An org whose ingest jobs run batches of 10 rows, 3 at a time (locks show with few rows)."""
    with DevOrg(
        counts={**COUNTS, "Account": 30, "Contact": 60},
        bulk_job_seconds=0.1,
        ingest_batch_rows=10,
        ingest_parallel_batches=3,
    ) as running:
        yield running


def test_contacts_pushed_by_bulk_go_ordered_by_account_and_meet_fewer_locks(
    lock_org: DevOrg, tmp_path: Path
) -> None:
    p = make_push_ws("duckdb", tmp_path, lock_org)
    p.ws.sync("Contact")
    p.ws.build("--select", "contact")
    # every Contact's Description changes; AccountId is sent as it is (the parent: its lock)
    p.model(
        "push_contacts",
        "select Id, AccountId, 'v2' as Description from {{ ref('contact') }} "
        "where not _lht_is_deleted and AccountId is not null",
        object="Contact",
        operation="update",
    )
    p.build()
    rows = (
        lock_org.engine.cursor()
        .execute(
            f'select "Id", "AccountId" from {lock_org.engine.table("Contact")} '
            'where not "IsDeleted" and "AccountId" is not null order by "Id"'
        )
        .fetchall()
    )
    run = p.push(env=BULK)
    r = p.result(run, "push_contacts")
    assert (r["updated"], r["failed"]) == (len(rows), 0)  # what met a lock went again, and passed
    pushed = lock_org.ingest.registry.created()[0]
    # the same rows in key order (what lht sent before it ordered by parent), in one job
    key_order = _ingest_failures(
        lock_org, "Id,AccountId,Description\n" + "".join(f"{cid},{aid},v3\n" for cid, aid in rows)
    )
    assert pushed.failed < key_order, (pushed.failed, key_order)


def _ingest_failures(org: DevOrg, csv_text: str) -> int:
    """Rows an update job of ``csv_text`` on Contact fails (the org's ingest jobs, directly)."""
    job = org.ingest.create(
        {"object": "Contact", "operation": "update", "contentType": "CSV"}, "62.0"
    )
    org.ingest.upload(job["id"], csv_text.encode())
    org.ingest.change_state(job["id"], {"state": "UploadComplete"})
    created = org.ingest.get(job["id"])
    assert created.done.wait(60)
    return created.failed
