"""SOAP ``merge()`` on the partner endpoint ``POST /services/Soap/u/NN.N``.

The request is a SOAP 1.1 envelope with the session id in ``SessionHeader`` and up to 200
``MergeRequest`` elements (``masterRecord``: an sObject with ``type``, ``Id`` and any field
values the master should take; ``recordToMergeIds``: one or two Ids). Each request is its
own transaction; the answer holds one ``MergeResult`` per request, in order (``id``,
``success``, ``errors``, ``mergedRecordIds``, ``updatedRelatedIds``). Call-level problems
(a bad session, a malformed envelope, too many requests) are SOAP faults with HTTP 500, as
Salesforce sends them. XML is parsed with defusedxml and written with ElementTree.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree as SafeET

from .. import ids
from ..errors import OrgError
from ..faults import MERGE_KINDS, FaultInjector
from .limits import ApiLimits
from .rest import Call, Reply

log = logging.getLogger(__name__)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
SOBJECT_NS = "urn:sobject.partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML = "text/xml;charset=UTF-8"
#: MergeRequests per merge() call.
MAX_REQUESTS = 200

for _prefix, _uri in (("soapenv", SOAP_NS), ("sf", FAULT_NS), ("xsi", XSI_NS)):
    ET.register_namespace(_prefix, _uri)


class SoapFault(Exception):
    """A call-level SOAP fault: ``faultcode`` (``sf:CODE`` or ``soapenv:Client``), code, text."""

    def __init__(
        self, faultcode: str, code: str, message: str, detail: str = "UnexpectedErrorFault"
    ):
        super().__init__(f"{code}: {message}")
        self.faultcode, self.code, self.message, self.detail = faultcode, code, message, detail


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def operation(body: bytes) -> str | None:
    """The local name of the envelope's first Body element (``login``, ``merge``), if any."""
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, ValueError):
        return None
    found = root.find(f"{{{SOAP_NS}}}Body")
    if found is None or not len(found):
        return None
    return _local(found[0].tag)


@dataclass
class MergeRequest:
    """One parsed MergeRequest."""

    object_name: str
    master_id: str
    loser_ids: list[str]
    values: dict[str, Any]


def _parse_master(element: ET.Element) -> tuple[str, str, dict[str, Any]]:
    object_name, master_id = "", ""
    values: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if name == "type":
            object_name = (child.text or "").strip()
        elif name == "Id":
            master_id = (child.text or "").strip()
        elif name == "fieldsToNull":
            values[(child.text or "").strip()] = None
        elif child.get(f"{{{XSI_NS}}}nil") == "true":
            values[name] = None
        else:
            values[name] = child.text or ""
    return object_name, master_id, values


def parse_requests(root: ET.Element) -> list[MergeRequest]:
    """The MergeRequests of a merge envelope (SoapFault when it is not one)."""
    call = root.find(f"{{{SOAP_NS}}}Body/{{{PARTNER_NS}}}merge")
    if call is None:
        raise SoapFault(
            "soapenv:Client", "INVALID_OPERATION", "Expected a merge element in the Body"
        )
    out = []
    for element in call:
        if _local(element.tag) != "request":
            continue
        master = element.find(f"{{{PARTNER_NS}}}masterRecord")
        if master is None:
            raise SoapFault(
                "sf:INVALID_FIELD", "INVALID_FIELD", "MergeRequest.masterRecord is required"
            )
        object_name, master_id, values = _parse_master(master)
        losers = [
            (e.text or "").strip() for e in element.findall(f"{{{PARTNER_NS}}}recordToMergeIds")
        ]
        out.append(MergeRequest(object_name, master_id, losers, values))
    if len(out) > MAX_REQUESTS:
        raise SoapFault(
            "sf:LIMIT_EXCEEDED",
            "LIMIT_EXCEEDED",
            f"Too many merge requests: {len(out)}; at most {MAX_REQUESTS} per call",
        )
    return out


def session_id(root: ET.Element) -> str | None:
    """``SessionHeader/sessionId`` of the envelope."""
    return root.findtext(
        f"{{{SOAP_NS}}}Header/{{{PARTNER_NS}}}SessionHeader/{{{PARTNER_NS}}}sessionId"
    )


def fault_reply(fault: SoapFault) -> Reply:
    """A SOAP fault envelope, HTTP 500."""
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    body = ET.SubElement(env, f"{{{SOAP_NS}}}Body")
    element = ET.SubElement(body, f"{{{SOAP_NS}}}Fault")
    ET.SubElement(element, "faultcode").text = fault.faultcode
    ET.SubElement(element, "faultstring").text = f"{fault.code}: {fault.message}"
    detail = ET.SubElement(
        ET.SubElement(element, "detail"),
        f"{{{FAULT_NS}}}{fault.detail}",
        {f"{{{XSI_NS}}}type": f"sf:{fault.detail}"},
    )
    ET.SubElement(detail, f"{{{FAULT_NS}}}exceptionCode").text = fault.code
    ET.SubElement(detail, f"{{{FAULT_NS}}}exceptionMessage").text = fault.message
    return Reply(500, ET.tostring(env, encoding="utf-8", xml_declaration=True), content_type=XML)


def soap_session_fault() -> Reply:
    """The fault Salesforce answers for a missing, invalid or expired session."""
    return fault_reply(
        SoapFault(
            "sf:INVALID_SESSION_ID",
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
        )
    )


def _result(parent: ET.Element, outcome: dict[str, Any]) -> None:
    result = ET.SubElement(parent, f"{{{PARTNER_NS}}}result")
    for error in outcome.get("errors", []):
        e = ET.SubElement(result, f"{{{PARTNER_NS}}}errors")
        ET.SubElement(e, f"{{{PARTNER_NS}}}message").text = error["message"]
        ET.SubElement(e, f"{{{PARTNER_NS}}}statusCode").text = error["statusCode"]
    rid = ET.SubElement(result, f"{{{PARTNER_NS}}}id")
    if outcome.get("id"):
        rid.text = outcome["id"]
    else:
        rid.set(f"{{{XSI_NS}}}nil", "true")
    for merged in outcome.get("merged", []):
        ET.SubElement(result, f"{{{PARTNER_NS}}}mergedRecordIds").text = merged
    ET.SubElement(result, f"{{{PARTNER_NS}}}success").text = (
        "true" if outcome["success"] else "false"
    )
    for related in outcome.get("related", []):
        ET.SubElement(result, f"{{{PARTNER_NS}}}updatedRelatedIds").text = related


class SoapMerge:
    """The merge() operation over an OrgEngine."""

    def __init__(self, engine: Any, tokens: Any, limits: ApiLimits, faults: FaultInjector) -> None:
        self.engine, self.tokens, self.limits, self.faults = engine, tokens, limits, faults

    def handle(self, call: Call) -> Reply:
        """Answer one merge() envelope (``call.body``) with a mergeResponse or a SOAP fault."""
        try:
            try:
                root = SafeET.fromstring(call.body)
            except (ET.ParseError, ValueError):
                raise SoapFault(
                    "soapenv:Client", "INVALID_XML", "The request is not well-formed XML"
                ) from None
            if not self.tokens.valid((session_id(root) or "").strip()):
                return soap_session_fault()
            requests = parse_requests(root)
            if not self.limits.consume():
                raise SoapFault(
                    "sf:REQUEST_LIMIT_EXCEEDED",
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                )
        except SoapFault as fault:
            return fault_reply(fault)
        env = ET.Element(f"{{{SOAP_NS}}}Envelope")
        response = ET.SubElement(
            ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{PARTNER_NS}}}mergeResponse"
        )
        for request in requests:
            _result(response, self._one(request))
        return Reply(
            200,
            ET.tostring(env, encoding="utf-8", xml_declaration=True),
            content_type=XML,
            headers={"Sforce-Limit-Info": self.limits.header()},
        )

    def _one(self, request: MergeRequest) -> dict[str, Any]:
        try:
            fault = self._injected(request)
            if fault is not None:
                raise OrgError(400, "MERGE_FAILED", fault)
            if not request.object_name:
                raise OrgError(400, "INVALID_TYPE", "masterRecord.type is required")
            done = self.engine.merge(
                request.object_name, request.master_id, request.loser_ids, request.values
            )
        except OrgError as exc:
            return {
                "success": False,
                "errors": [{"statusCode": exc.error_code, "message": exc.message}],
            }
        return {
            "success": True,
            "id": done.master_id,
            "merged": done.merged_ids,
            "related": done.updated_related_ids,
        }

    def _injected(self, request: MergeRequest) -> str | None:
        """The message of an armed ``merge_failed`` fault naming one of the request's Ids."""
        for rid in [request.master_id, *request.loser_ids]:
            key = ids.to18(rid) if ids.is_id(rid) else rid
            fault = self.faults.take(MERGE_KINDS, "POST", key)
            if fault is not None:
                return fault.message
        return None
