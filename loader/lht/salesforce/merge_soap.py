"""SOAP ``merge()`` on the partner endpoint, with the session the client already holds.

Salesforce offers merge through SOAP only (no REST resource, nothing in
simple-salesforce). One call carries up to 200 ``MergeRequest`` elements, each a master
(``type`` and ``Id``) and one or two records to merge into it; each request is its own
transaction and gets its own ``MergeResult``, in order. The envelope is built with
ElementTree and the answer parsed with defusedxml. The call goes through the client's
session (the one retry policy, call counting, the API budget); an ``INVALID_SESSION_ID``
fault renews the session once, as REST calls do.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree as SafeET

from lht.constants import API_VERSION
from lht.errors import ApiLimitError, SalesforceError
from lht.names import check_object_name
from lht.salesforce.client import SalesforceClient, SessionExpired
from lht.salesforce.soql import merge_state_soql

logger = logging.getLogger(__name__)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
SOBJECT_NS = "urn:sobject.partner.soap.sforce.com"
#: MergeRequests per merge() call, and records merged into the master per request.
MAX_REQUESTS_PER_CALL = 200
MAX_LOSERS_PER_REQUEST = 2

for _prefix, _uri in (("soapenv", SOAP_NS), ("urn", PARTNER_NS), ("sobj", SOBJECT_NS)):
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class MergeRequest:
    """Merge ``loser_ids`` (one or two) into ``master_id``, records of ``object_name``."""

    object_name: str
    master_id: str
    loser_ids: tuple[str, ...]


@dataclass
class MergeResult:
    """Salesforce's answer to one MergeRequest."""

    request: MergeRequest
    success: bool
    error_code: str | None = None
    error_message: str | None = None
    merged_ids: list[str] = field(default_factory=list)
    updated_related_ids: list[str] = field(default_factory=list)


def soap_url(client: SalesforceClient) -> str:
    """The partner endpoint of the client's instance."""
    return f"https://{client.instance}/services/Soap/u/{API_VERSION}"


def envelope(session_id: str, requests_: Sequence[MergeRequest]) -> bytes:
    """The merge() envelope for ``requests_`` (ElementTree escapes every value)."""
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    header = ET.SubElement(
        ET.SubElement(env, f"{{{SOAP_NS}}}Header"), f"{{{PARTNER_NS}}}SessionHeader"
    )
    ET.SubElement(header, f"{{{PARTNER_NS}}}sessionId").text = session_id
    call = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{PARTNER_NS}}}merge")
    for request in requests_:
        element = ET.SubElement(call, f"{{{PARTNER_NS}}}request")
        master = ET.SubElement(element, f"{{{PARTNER_NS}}}masterRecord")
        ET.SubElement(master, f"{{{SOBJECT_NS}}}type").text = request.object_name
        ET.SubElement(master, f"{{{SOBJECT_NS}}}Id").text = request.master_id
        for loser in request.loser_ids:
            ET.SubElement(element, f"{{{PARTNER_NS}}}recordToMergeIds").text = loser
    return ET.tostring(env, encoding="utf-8", xml_declaration=True)


def _fault(root: ET.Element) -> tuple[str, str] | None:
    fault = root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    if fault is None:
        return None
    code = (fault.findtext("faultcode") or "").rpartition(":")[2]
    return code, fault.findtext("faultstring") or ""


def parse_results(root: ET.Element, requests_: Sequence[MergeRequest]) -> list[MergeResult]:
    """The MergeResults of a mergeResponse, one per request, in order."""
    results = root.findall(
        f"{{{SOAP_NS}}}Body/{{{PARTNER_NS}}}mergeResponse/{{{PARTNER_NS}}}result"
    )
    if len(results) != len(requests_):
        raise SalesforceError(
            f"merge(): Salesforce answered {len(results)} results for "
            f"{len(requests_)} requests; nothing can be recorded from this call."
        )
    out = []
    for request, result in zip(requests_, results, strict=True):
        ok = (result.findtext(f"{{{PARTNER_NS}}}success") or "").strip() == "true"
        error = result.find(f"{{{PARTNER_NS}}}errors")
        code = message = None
        if error is not None:
            code = error.findtext(f"{{{PARTNER_NS}}}statusCode")
            message = error.findtext(f"{{{PARTNER_NS}}}message")
        out.append(
            MergeResult(
                request,
                ok,
                code,
                message,
                [e.text or "" for e in result.findall(f"{{{PARTNER_NS}}}mergedRecordIds")],
                [e.text or "" for e in result.findall(f"{{{PARTNER_NS}}}updatedRelatedIds")],
            )
        )
    return out


def merge(client: SalesforceClient, requests_: Sequence[MergeRequest]) -> list[MergeResult]:
    """One merge() call for up to 200 requests; the results in request order.

    Call-level faults raise (AuthenticationError, ApiLimitError, SalesforceError); a
    request Salesforce refuses is a result with ``success`` false.
    """
    if not requests_:
        return []
    if len(requests_) > MAX_REQUESTS_PER_CALL:
        raise ValueError(f"at most {MAX_REQUESTS_PER_CALL} merge requests per call")

    def call(api: Any) -> list[MergeResult]:
        response = client.session.post(
            f"https://{api.sf_instance}/services/Soap/u/{API_VERSION}",
            data=envelope(api.session_id, requests_),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        )
        try:
            root = SafeET.fromstring(response.content)
        except (ET.ParseError, ValueError):
            raise SalesforceError(
                f"merge(): HTTP {response.status_code}, not a SOAP answer: {response.text[:300]}"
            ) from None
        fault = _fault(root)
        if fault is None:
            return parse_results(root, requests_)
        code, text = fault
        if code == "INVALID_SESSION_ID":
            raise SessionExpired(text)  # the client logs in again once, then calls again
        if code == "REQUEST_LIMIT_EXCEEDED":
            raise ApiLimitError(f"merge(): the org's API request limit is exceeded ({text}).")
        raise SalesforceError(f"merge(): Salesforce refused the call: {text or code}")

    return client.with_session("merge()", call)


#: Ids per merge-state query (keeps the query URL far below Salesforce's 16 KB limit).
STATE_QUERY_IDS = 300


def merge_state(
    client: SalesforceClient, object_name: str, record_ids: Sequence[str]
) -> dict[str, tuple[bool, str | None]]:
    """``{Id: (IsDeleted, MasterRecordId)}`` of the records found, recycle bin included
    (queryAll); a record purged or never existing is absent."""
    check_object_name(object_name)
    found: dict[str, tuple[bool, str | None]] = {}
    unique = list(dict.fromkeys(record_ids))
    for start in range(0, len(unique), STATE_QUERY_IDS):
        soql = merge_state_soql(object_name, unique[start : start + STATE_QUERY_IDS])
        answer = client.query_all(
            soql, include_deleted=True, what=f"Reading the merge state of {object_name} records"
        )
        for record in answer.get("records", []):
            found[str(record["Id"])] = (bool(record.get("IsDeleted")), record.get("MasterRecordId"))
    return found
