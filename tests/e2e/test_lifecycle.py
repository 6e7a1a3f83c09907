"""The record lifecycle, end to end: the org changes like users change it, `lht sync` and
`dbt build` run as a scheduler runs them, and after every stage each main table equals the
org value for value, with no Id twice. On DuckDB and on the Snowflake dialect.
"""

from __future__ import annotations

import requests
from simple_salesforce import Salesforce

from lht.constants import API_VERSION

from .conftest import Workspace, assert_main_table_matches_org

STARTERS = ("Account", "Contact", "Opportunity", "Lead", "Case", "User", "Task")
N = 12


def _salesforce(ws: Workspace) -> Salesforce:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = ws.org.ca_path
    return Salesforce(
        instance_url=ws.org.instance_url,
        session_id=ws.org.access_token,
        session=session,
        version=API_VERSION,
    )


def _let_the_minute_end(ws: Workspace) -> None:
    """Salesforce's getDeleted covers whole minutes (latestDateCovered is a minute boundary):
    a record deleted in the current minute is reported once that minute is over."""
    ws.org.clock.advance(61)


def _sync_and_build(ws: Workspace, *args: str) -> dict:
    report = ws.sync(*args).report
    assert report["ok"] is True
    ws.build()
    return report


def _staged(ws: Workspace) -> set[tuple[str, str, str]]:
    """Every staged Account row as (batch, kind, Id)."""
    _, rows = ws.query("select _lht_batch_id, _lht_kind, Id from salesforce_staging.account")
    return set(rows)


def _new_ids(ws: Workspace, before: set[tuple[str, str, str]], kind: str) -> set[str]:
    """The Ids staged as ``kind`` rows since ``before`` (a :func:`_staged` snapshot)."""
    return {i for _, k, i in _staged(ws) - before if k == kind}


def _assert_all_match(ws: Workspace, gone: dict[str, set[str]] | None = None) -> dict[str, dict]:
    gone = gone or {}
    return {
        obj: assert_main_table_matches_org(ws, obj, gone=gone.get(obj, set())) for obj in STARTERS
    }


def test_record_lifecycle_keeps_every_main_table_equal_to_the_org(workspace: Workspace) -> None:
    ws = workspace
    sf = _salesforce(ws)

    # baseline: a first full load
    first = _sync_and_build(ws)
    assert {r["mode"] for r in first["results"]} == {"full"}
    _assert_all_match(ws)

    # create N records -> present and equal
    created = [
        sf.Account.create(
            {
                "Name": f"Lifecycle {i} – “quoted”, comma",
                "AnnualRevenue": 1000 + i,
                "Description": "line one\nline two",
            }
        )["id"]
        for i in range(N)
    ]
    before = _staged(ws)
    report = _sync_and_build(ws)
    account = next(r for r in report["results"] if r["object_name"] == "Account")
    assert account["mode"] == "incremental"
    # the seeded records changed long before the first run: only the new ones are read again
    assert _new_ids(ws, before, "record") == set(created)
    assert account["rows_written"] == N
    main = _assert_all_match(ws)["Account"]
    assert all(main[i]["name"].startswith("Lifecycle") for i in created)

    # update them -> updated
    for i, record_id in enumerate(created):
        sf.Account.update(record_id, {"Name": f"Renamed {i}", "BillingCity": "Zürich"})
    _sync_and_build(ws)
    main = _assert_all_match(ws)["Account"]
    assert {main[i]["name"] for i in created} == {f"Renamed {i}" for i in range(N)}

    # soft-delete some -> marked deleted (queryAll brings them with IsDeleted = true)
    soft = created[:3]
    for record_id in soft:
        sf.Account.delete(record_id)
    _sync_and_build(ws)
    main = _assert_all_match(ws)["Account"]
    assert all(main[i]["_lht_is_deleted"] is True for i in soft)

    # delete others and purge them before the next sync: lht never sees IsDeleted = true
    purged = created[3:6]
    for record_id in purged:
        sf.Account.delete(record_id)
    ws.org.engine.purge("Account", purged)
    _let_the_minute_end(ws)
    before = _staged(ws)
    report = _sync_and_build(ws)
    account = next(r for r in report["results"] if r["object_name"] == "Account")
    # getDeleted reports every delete of the minutes it covers: the purged records and the
    # soft-deleted ones (deleted in the minute the last run could not cover yet)
    assert _new_ids(ws, before, "deleted") == set(purged) | set(soft)
    assert account["delete_markers"] == len(purged) + len(soft)
    main = _assert_all_match(ws, gone={"Account": set(purged)})["Account"]
    assert all(main[i]["_lht_is_deleted"] is True for i in purged)
    assert main[purged[0]]["name"] == "Renamed 3", "a purged record lost its last known values"

    # add a field in the org -> the column appears
    ws.org.engine.add_field(
        "Account",
        {"name": "Region__c", "label": "Region", "type": "string", "length": 40, "custom": True},
    )
    for record_id in created[6:]:
        sf.Account.update(record_id, {"Region__c": "EMEA"})
    _sync_and_build(ws)
    main = _assert_all_match(ws, gone={"Account": set(purged)})["Account"]
    assert {main[i]["region__c"] for i in created[6:]} == {"EMEA"}

    # --full-refresh -> equal to the org
    report = _sync_and_build(ws, "--full-refresh")
    assert {r["mode"] for r in report["results"]} == {"full"}
    _assert_all_match(ws, gone={"Account": set(purged)})
