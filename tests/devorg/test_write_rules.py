"""The local org's write rules as Salesforce documents them: Account's duplicate rule
(DUPLICATES_DETECTED with its duplicateResult, unless allowSave), Lead and Case assignment
rules (REST's Sforce-Auto-Assign, TRUE by default; Bulk's assignmentRuleId), record locks by
parent between an ingest job's parallel batches, and the daily Bulk batches in /limits."""

from __future__ import annotations

import time
import uuid

from lht_devorg import DevOrg
from lht_devorg.core import rules

DUPLICATE_HEADER = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}


def _collections(sf, method: str, records: list[dict], headers: dict | None = None) -> list[dict]:
    return sf.restful(
        "composite/sobjects",
        method=method,
        json={"allOrNone": False, "records": records},
        headers=headers or {},
    )


def _seeded_account(sf) -> dict:
    return sf.query(
        "SELECT Id, Name, Website FROM Account WHERE Website != null ORDER BY Id LIMIT 1"
    )["records"][0]


def test_a_collections_insert_of_a_duplicate_account_fails_with_the_records_it_matches(sf) -> None:
    master = _seeded_account(sf)
    copy = {
        "attributes": {"type": "Account"},
        "Name": master["Name"].upper(),
        "Website": master["Website"],
    }
    other = {
        "attributes": {"type": "Account"},
        "Name": f"Unique {uuid.uuid4().hex[:8]}",
        "Website": master["Website"],
    }
    [blocked, saved] = _collections(sf, "POST", [copy, other])
    assert saved["success"] and not blocked["success"]
    [error] = blocked["errors"]
    assert (error["statusCode"], error["message"], error["fields"]) == (
        "DUPLICATES_DETECTED",
        rules.DUPLICATE_MESSAGE,
        [],
    )
    found = error["duplicateResult"]
    assert (found["duplicateRule"], found["duplicateRuleEntityType"], found["allowSave"]) == (
        rules.DUPLICATE_RULE,
        "Account",
        True,
    )
    [match] = found["matchResults"]
    assert match["entityType"] == "Account" and match["size"] == len(match["matchRecords"]) >= 1
    assert master["Id"] in {m["record"]["Id"] for m in match["matchRecords"]}


def test_allow_save_saves_the_duplicate(sf) -> None:
    master = _seeded_account(sf)
    [saved] = _collections(
        sf,
        "POST",
        [{"attributes": {"type": "Account"}, "Name": master["Name"], "Website": master["Website"]}],
        DUPLICATE_HEADER,
    )
    assert saved["success"], saved


def test_an_update_that_makes_a_duplicate_is_blocked_too(sf) -> None:
    master = _seeded_account(sf)
    [created] = _collections(
        sf,
        "POST",
        [
            {
                "attributes": {"type": "Account"},
                "Name": f"Later {uuid.uuid4().hex[:8]}",
                "Website": master["Website"],
            }
        ],
    )
    [updated] = _collections(
        sf,
        "PATCH",
        [{"attributes": {"type": "Account"}, "id": created["id"], "Name": master["Name"]}],
    )
    assert (
        updated["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
        and updated["id"] == created["id"]
    )


def _lead_owner(sf, lead_id: str) -> str:
    return sf.query(f"SELECT OwnerId FROM Lead WHERE Id = '{lead_id}'")["records"][0]["OwnerId"]


def test_rest_runs_the_lead_assignment_rule_unless_told_not_to(sf, org: DevOrg) -> None:
    routed = rules.routing_owner(org.engine)
    lead = {"attributes": {"type": "Lead"}, "LastName": "Rule", "Company": "Acme"}
    [by_default] = _collections(sf, "POST", [lead])
    [not_assigned] = _collections(sf, "POST", [lead], {"Sforce-Auto-Assign": "FALSE"})
    [by_id] = _collections(
        sf, "POST", [lead], {"Sforce-Auto-Assign": rules.ASSIGNMENT_RULES["Lead"]}
    )
    assert _lead_owner(sf, by_default["id"]) == routed and _lead_owner(sf, by_id["id"]) == routed
    assert _lead_owner(sf, not_assigned["id"]) != routed


def _ingest(org: DevOrg, obj: str, operation: str, csv_text: str, **body: object):
    job = org.ingest.create(
        {"object": obj, "operation": operation, "contentType": "CSV", **body}, "62.0"
    )
    org.ingest.upload(job["id"], csv_text.encode())
    org.ingest.change_state(job["id"], {"state": "UploadComplete"})
    created = org.ingest.get(job["id"])
    assert created.done.wait(60)
    deadline = time.monotonic() + 30
    while (
        org.ingest.info(job["id"])["state"] not in ("JobComplete", "Failed")
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return created


def test_a_bulk_job_runs_the_assignment_rule_it_names_and_counts_its_batches(
    sf, org: DevOrg
) -> None:
    routed = rules.routing_owner(org.engine)
    before = org.limits.limits_body()["DailyBulkApiBatches"]["Remaining"]
    job = _ingest(
        org,
        "Lead",
        "insert",
        "LastName,Company\nBulkRouted,Acme\n",
        assignmentRuleId=rules.ASSIGNMENT_RULES["Lead"],
    )
    plain = _ingest(org, "Lead", "insert", "LastName,Company\nBulkPlain,Acme\n")
    assert (job.processed, job.failed, plain.failed) == (1, 0, 0)
    owners = {
        r["LastName"]: r["OwnerId"]
        for r in sf.query(
            "SELECT LastName, OwnerId FROM Lead WHERE LastName IN ('BulkRouted', 'BulkPlain')"
        )["records"]
    }
    assert owners["BulkRouted"] == routed and owners["BulkPlain"] != routed
    assert org.limits.limits_body()["DailyBulkApiBatches"]["Remaining"] == before - 2
    assert org.ingest.info(job.id)["assignmentRuleId"] == rules.ASSIGNMENT_RULES["Lead"]


def test_a_bulk_duplicate_account_fails_with_the_rules_error(sf, org: DevOrg) -> None:
    master = _seeded_account(sf)
    name = master["Name"].replace('"', '""')
    job = _ingest(org, "Account", "insert", f'Name,Website\n"{name}",{master["Website"]}\n')
    assert job.failed == 1
    failed = org.ingest.results(job.id, "failedResults").decode()
    assert f"DUPLICATES_DETECTED:{rules.DUPLICATE_MESSAGE}:--" in failed


def test_parallel_batches_lock_each_others_parents_unless_children_are_grouped() -> None:
    counts = {
        "User": 2,
        "Account": 8,
        "Contact": 48,
        "Lead": 0,
        "Opportunity": 0,
        "Case": 0,
        "Task": 0,
        "Invoice__c": 0,
        "Attachment": 0,
    }
    with DevOrg(
        counts=counts, bulk_job_seconds=0.05, ingest_batch_rows=12, ingest_parallel_batches=4
    ) as org:
        rows = (
            org.engine.cursor()
            .execute(
                f'select "Id", "AccountId" from {org.engine.table("Contact")} where "AccountId" is not null '
                'and not "IsDeleted" order by "Id"'
            )
            .fetchall()
        )

        def failures(ordered: list[tuple]) -> int:
            text = "Id,AccountId,Description\n" + "".join(f"{c},{a},x\n" for c, a in ordered)
            job = _ingest(org, "Contact", "update", text)
            body = org.ingest.results(job.id, "failedResults").decode()
            assert body.count("UNABLE_TO_LOCK_ROW") == job.failed
            return job.failed

        by_parent = failures(sorted(rows, key=lambda r: (r[1], r[0])))
        by_id = failures(rows)
        assert by_id > 0 and by_parent < by_id
