"""The local org's SOAP merge() as Salesforce serves it: the envelope, SessionHeader, one
MergeResult per request in order, each request its own transaction, children re-parented,
losers recycled with MasterRecordId, SystemModstamp moved; faults for a bad session, a
malformed envelope and too many requests; refusals for what Salesforce refuses."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
from defusedxml import ElementTree as SafeET

from lht_devorg import DevOrg, ShiftedClock
from lht_devorg.ids import make_id

from .conftest import org_row

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
P = "urn:partner.soap.sforce.com"
S = "urn:sobject.partner.soap.sforce.com"
SF = "urn:fault.partner.soap.sforce.com"


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="module")
def org(clock: ShiftedClock) -> Iterator[DevOrg]:
    counts = {
        "User": 3,
        "Account": 60,
        "Contact": 80,
        "Lead": 20,
        "Opportunity": 60,
        "Case": 40,
        "Task": 120,
        "Invoice__c": 0,
        "Attachment": 0,
    }
    with DevOrg(counts=counts, clock=clock) as running:
        yield running


@pytest.fixture
def post(org: DevOrg) -> Iterator:
    with requests.Session() as session:
        session.verify = org.ca_path
        session.trust_env = False

        def call(body: bytes) -> tuple[int, ET.Element]:
            r = session.post(
                f"{org.instance_url}/services/Soap/u/59.0",
                data=body,
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                timeout=30,
            )
            assert r.headers["Content-Type"].startswith("text/xml")
            return r.status_code, SafeET.fromstring(r.content)

        yield call


def envelope(
    session_id: str | None,
    requests_: list[tuple[str, str, list[str]]],
    values: dict[str, str] | None = None,
) -> bytes:
    env = ET.Element(f"{{{SOAP}}}Envelope")
    if session_id is not None:
        header = ET.SubElement(ET.SubElement(env, f"{{{SOAP}}}Header"), f"{{{P}}}SessionHeader")
        ET.SubElement(header, f"{{{P}}}sessionId").text = session_id
    call = ET.SubElement(ET.SubElement(env, f"{{{SOAP}}}Body"), f"{{{P}}}merge")
    for object_name, master, losers in requests_:
        request = ET.SubElement(call, f"{{{P}}}request")
        record = ET.SubElement(request, f"{{{P}}}masterRecord")
        ET.SubElement(record, f"{{{S}}}type").text = object_name
        ET.SubElement(record, f"{{{S}}}Id").text = master
        for name, value in (values or {}).items():
            ET.SubElement(record, f"{{{S}}}{name}").text = value
        for loser in losers:
            ET.SubElement(request, f"{{{P}}}recordToMergeIds").text = loser
    return ET.tostring(env)


def results(root: ET.Element) -> list[dict]:
    out = []
    for r in root.findall(f"{{{SOAP}}}Body/{{{P}}}mergeResponse/{{{P}}}result"):
        out.append(
            {
                "id": r.findtext(f"{{{P}}}id"),
                "success": r.findtext(f"{{{P}}}success") == "true",
                "code": r.findtext(f"{{{P}}}errors/{{{P}}}statusCode"),
                "merged": [e.text for e in r.findall(f"{{{P}}}mergedRecordIds")],
                "related": [e.text for e in r.findall(f"{{{P}}}updatedRelatedIds")],
            }
        )
    return out


def live(org: DevOrg, obj: str, n: int, skip: set[str] = frozenset()) -> list[str]:
    rows = (
        org.engine.cursor()
        .execute(f'select "Id" from {org.engine.table(obj)} where not "IsDeleted" order by "Id"')
        .fetchall()
    )
    return [r[0] for r in rows if r[0] not in skip][:n]


_used: set[str] = set()


def fresh(org: DevOrg, obj: str, n: int) -> list[str]:
    """``n`` live records of ``obj`` no test of this module used yet."""
    picked = live(org, obj, n, _used)
    _used.update(picked)
    return picked


def test_a_merge_moves_children_recycles_losers_and_moves_systemmodstamp(
    org: DevOrg, post, clock: ShiftedClock
) -> None:
    master, l1, l2 = fresh(org, "Account", 3)
    contact = org.engine.create("Contact", {"LastName": "Kid", "AccountId": l1})
    opp = org.engine.create(
        "Opportunity",
        {"Name": "Deal", "AccountId": l2, "StageName": "Prospecting", "CloseDate": "2026-01-01"},
    )
    case = org.engine.create("Case", {"Subject": "Help", "AccountId": l1, "ContactId": contact})
    task = org.engine.create("Task", {"Subject": "Call", "WhatId": l2, "WhoId": contact})
    clock.advance(5)
    before = org.engine.now()
    status, root = post(
        envelope(
            org.new_token(),
            [("Account", master, [l1, l2[:15]])],
            {"Description": "kept <&> escaped"},
        )
    )
    assert status == 200
    [result] = results(root)
    assert result["success"] and result["id"] == master and result["merged"] == [l1, l2]
    assert {contact, opp, case, task} <= set(result["related"])
    for loser in (l1, l2):
        row = org_row(org, "Account", loser, "IsDeleted", "MasterRecordId", "SystemModstamp")
        assert (
            row["IsDeleted"] and row["MasterRecordId"] == master and row["SystemModstamp"] >= before
        )
    kept = org_row(org, "Account", master, "Description", "SystemModstamp", "IsDeleted")
    assert kept["Description"] == "kept <&> escaped" and kept["SystemModstamp"] >= before
    assert kept["IsDeleted"] is False
    for obj, record_id, column in (
        ("Contact", contact, "AccountId"),
        ("Opportunity", opp, "AccountId"),
        ("Case", case, "AccountId"),
        ("Task", task, "WhatId"),
    ):
        row = org_row(org, obj, record_id, column, "SystemModstamp")
        assert row[column] == master and row["SystemModstamp"] >= before, obj
    clock.advance(120)  # getDeleted covers whole minutes only
    deleted = org.engine.deleted(
        "Account", before - dt.timedelta(minutes=1), before + dt.timedelta(minutes=5)
    )
    assert {l1, l2} <= {d["id"] for d in deleted["deletedRecords"]}


def test_contact_and_lead_merges_move_their_own_children(org: DevOrg, post) -> None:
    c_master, c_loser = fresh(org, "Contact", 2)
    task = org.engine.create("Task", {"Subject": "Who", "WhoId": c_loser})
    case = org.engine.create("Case", {"Subject": "Case", "ContactId": c_loser})
    l_master, l_loser = fresh(org, "Lead", 2)
    lead_task = org.engine.create("Task", {"Subject": "Lead call", "WhoId": l_loser})
    _, root = post(
        envelope(org.new_token(), [("Contact", c_master, [c_loser]), ("Lead", l_master, [l_loser])])
    )
    contact_result, lead_result = results(root)
    assert contact_result["success"] and lead_result["success"]
    assert org_row(org, "Task", task, "WhoId")["WhoId"] == c_master
    assert org_row(org, "Case", case, "ContactId")["ContactId"] == c_master
    assert org_row(org, "Task", lead_task, "WhoId")["WhoId"] == l_master
    assert org_row(org, "Lead", l_loser, "MasterRecordId")["MasterRecordId"] == l_master


def test_each_request_is_its_own_transaction_and_refusals_have_salesforces_codes(
    org: DevOrg, post
) -> None:
    a = fresh(org, "Account", 12)
    contact = fresh(org, "Contact", 1)[0]
    org.engine.delete("Account", a[4])
    moved_child = org.engine.create("Contact", {"LastName": "Stays", "AccountId": a[6]})
    batch = [
        ("Account", a[0], [a[1]]),  # fine
        ("Account", a[2], [a[3], a[7], a[8]]),  # three losers: too many
        ("Account", a[4], [a[5]]),  # deleted master
        ("Account", a[9], [a[6], contact]),  # a Contact among Accounts
        ("Account", a[10], ["001xyz"]),  # malformed
        ("Account", a[10], [make_id("001", 999_999)]),  # well-formed, no such record
        ("Account", a[10], [a[10][:15]]),  # into itself
        ("Case", fresh(org, "Account", 1)[0], [a[11]]),  # Case is not mergeable here
        ("Account", a[11], [a[1]]),  # a loser the first request merged already
    ]
    _, root = post(envelope(org.new_token(), batch))
    got = results(root)
    assert [r["success"] for r in got] == [True] + [False] * 8
    assert [r["code"] for r in got[1:]] == [
        "LIMIT_EXCEEDED",
        "ENTITY_IS_DELETED",
        "INVALID_ID_FIELD",
        "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_ID_FIELD",
        "INVALID_TYPE",
        "ENTITY_IS_DELETED",
    ]
    assert org_row(org, "Contact", moved_child, "AccountId")["AccountId"] == a[6], (
        "a refused request changed data"
    )
    assert not org_row(org, "Account", a[5], "IsDeleted")["IsDeleted"]


def test_an_injected_merge_failed_refuses_only_the_request_naming_the_id(org: DevOrg, post) -> None:
    a = fresh(org, "Account", 4)
    org.faults.add("merge_failed", path=a[1][:15], message="Two accounts share a related contact")
    try:
        _, root = post(
            envelope(org.new_token(), [("Account", a[0], [a[1]]), ("Account", a[2], [a[3]])])
        )
    finally:
        org.faults.clear()
    first, second = results(root)
    assert (first["success"], first["code"]) == (False, "MERGE_FAILED")
    assert second["success"]


def _fault(root: ET.Element) -> tuple[str | None, str | None, str | None]:
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, ET.tostring(root)
    return (
        fault.findtext("faultcode"),
        fault.findtext("faultstring"),
        fault.findtext(f"detail/{{{SF}}}UnexpectedErrorFault/{{{SF}}}exceptionCode"),
    )


@pytest.mark.parametrize(
    "session", ["not-a-session", None], ids=["bad-session", "no-session-header"]
)
def test_a_bad_or_missing_session_is_an_invalid_session_id_fault_and_merges_nothing(
    org: DevOrg, post, session
) -> None:
    master, loser = fresh(org, "Account", 2)
    status, root = post(envelope(session, [("Account", master, [loser])]))
    assert status == 500
    code, text, exception = _fault(root)
    assert code == "sf:INVALID_SESSION_ID" and exception == "INVALID_SESSION_ID"
    assert text and text.startswith("INVALID_SESSION_ID:")
    assert not org_row(org, "Account", loser, "IsDeleted")["IsDeleted"]


def test_an_expired_session_is_refused_like_a_bad_one(post) -> None:
    with DevOrg(
        counts={
            "Account": 3,
            "Contact": 0,
            "Lead": 0,
            "Opportunity": 0,
            "Case": 0,
            "Task": 0,
            "Invoice__c": 0,
            "Attachment": 0,
        }
    ) as small:
        token = small.new_token()
        small.expire_tokens()
        with requests.Session() as session:
            session.verify, session.trust_env = small.ca_path, False
            r = session.post(
                f"{small.instance_url}/services/Soap/u/59.0",
                data=envelope(token, []),
                headers={"Content-Type": "text/xml"},
                timeout=30,
            )
        assert r.status_code == 500 and b"sf:INVALID_SESSION_ID" in r.content


def test_more_than_200_requests_and_malformed_xml_are_faults(org: DevOrg, post) -> None:
    master, loser = fresh(org, "Account", 2)
    status, root = post(envelope(org.new_token(), [("Account", master, [loser])] * 201))
    assert status == 500 and _fault(root)[0] == "sf:LIMIT_EXCEEDED"
    assert not org_row(org, "Account", loser, "IsDeleted")["IsDeleted"]
    status, root = post(
        b"<soapenv:Envelope xmlns:soapenv='" + SOAP.encode() + b"'><soapenv:Body><merge"
    )
    assert status == 500 and _fault(root)[0] == "soapenv:Client"


def test_the_soap_login_still_answers_on_the_same_endpoint(org: DevOrg) -> None:
    from simple_salesforce.login import SalesforceLogin

    with requests.Session() as session:
        session.verify, session.trust_env = org.ca_path, False
        sid, _ = SalesforceLogin(
            username=org.username,
            password=org.password,
            security_token=org.security_token,
            scratch_url=org.instance_url,
            session=session,
            sf_version="59.0",
        )
    assert org.tokens.valid(sid)
