"""Bulk API 1.0 documents: job and batch info, errors, result lists and batch records, in
XML (namespace :data:`NS`) or JSON, and the records of a batch request parsed from CSV,
JSON or XML.

XML is parsed with defusedxml and written with ElementTree; JSON with the json module.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from defusedxml import ElementTree as SafeET

from ..core.batchwrite import RowResult
from ..core.validate import bulk_error
from ..cursors import sf_datetime

NS = "http://www.force.com/2009/06/asyncapi/dataload"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML = "application/xml"
JSON_TYPE = "application/json"
CONTENT_TYPES = {"CSV": "text/csv; charset=UTF-8", "JSON": JSON_TYPE, "XML": XML}

ET.register_namespace("xsi", XSI_NS)


class Bulk1Error(Exception):
    """A Bulk API 1.0 error: exceptionCode, exceptionMessage, HTTP status (400 unless told)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True, default_namespace=NS)


def _parse_xml(body: bytes) -> ET.Element:
    try:
        return SafeET.fromstring(body)
    except (ET.ParseError, ValueError) as exc:
        raise Bulk1Error("InvalidXML", f"Failed to parse XML: {exc}") from None


def stamp(moment: datetime, json_format: bool) -> str:
    """A date in Bulk 1.0's documents: ``...000+0000`` in JSON, ``...000Z`` in XML."""
    text = sf_datetime(moment)
    return text if json_format else text[:-5] + "Z"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- job requests -----------------------------------------------------------------------
def parse_job_request(body: bytes, json_format: bool) -> dict[str, Any]:
    """A ``jobInfo`` request (job creation or a state change) as a dict of its elements."""
    if json_format:
        try:
            parsed = json.loads(body or b"null")
        except ValueError as exc:
            raise Bulk1Error("InvalidJob", f"Failed to parse the JSON request: {exc}") from None
        if not isinstance(parsed, dict):
            raise Bulk1Error("InvalidJob", "The request body must be a JSON object")
        return parsed
    root = _parse_xml(body)
    if _local(root.tag) != "jobInfo":
        raise Bulk1Error("InvalidXML", f"Expected a jobInfo element, found {_local(root.tag)}")
    return {_local(child.tag): (child.text or "").strip() for child in root}


# -- documents ---------------------------------------------------------------------------
def document(root: str, items: Sequence[tuple[str, Any]], json_format: bool) -> tuple[bytes, str]:
    """A flat document (``jobInfo``, ``batchInfo``, ``error``): body and content type.
    In XML an item whose value is None is left out."""
    if json_format:
        return json.dumps(dict(items)).encode(), JSON_TYPE
    return _xml_bytes(_element(root, items)), XML


def _element(root: str, items: Sequence[tuple[str, Any]]) -> ET.Element:
    element = ET.Element(f"{{{NS}}}{root}")
    for name, value in items:
        if value is not None:
            ET.SubElement(element, f"{{{NS}}}{name}").text = _text(value)
    return element


def batch_list(
    batches: Sequence[Sequence[tuple[str, Any]]], json_format: bool
) -> tuple[bytes, str]:
    """``GET job/ID/batch``: ``batchInfoList`` (XML) or ``{"batchInfo": [...]}`` (JSON)."""
    if json_format:
        return json.dumps({"batchInfo": [dict(b) for b in batches]}).encode(), JSON_TYPE
    root = ET.Element(f"{{{NS}}}batchInfoList")
    for items in batches:
        root.append(_element("batchInfo", items))
    return _xml_bytes(root), XML


def error(code: str, message: str, json_format: bool) -> tuple[bytes, str]:
    """The body of a Bulk API 1.0 error."""
    return document("error", [("exceptionCode", code), ("exceptionMessage", message)], json_format)


def result_list(result_ids: Sequence[str], json_format: bool) -> tuple[bytes, str]:
    """A query batch's result ids: ``result-list`` (XML) or a JSON array."""
    if json_format:
        return json.dumps(list(result_ids)).encode(), JSON_TYPE
    root = ET.Element(f"{{{NS}}}result-list")
    for rid in result_ids:
        ET.SubElement(root, f"{{{NS}}}result").text = rid
    return _xml_bytes(root), XML


# -- ingest results -----------------------------------------------------------------------
def ingest_results(rows: Iterable[RowResult], content_type: str) -> bytes:
    """A batch's results, one per record in request order, in the job's content type."""
    if content_type == "CSV":
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["Id", "Success", "Created", "Error"])
        for r in rows:
            writer.writerow(
                [
                    r.record_id,
                    _text(r.error is None),
                    _text(r.created),
                    "" if r.error is None else bulk_error(r.error),
                ]
            )
        return out.getvalue().encode()
    if content_type == "JSON":
        return json.dumps(
            [
                {
                    "success": r.error is None,
                    "created": r.created,
                    "id": r.record_id or None,
                    "errors": []
                    if r.error is None
                    else [
                        {
                            "statusCode": r.error.error_code,
                            "message": r.error.message,
                            "fields": list(r.error.fields or []),
                        }
                    ],
                }
                for r in rows
            ]
        ).encode()
    root = ET.Element(f"{{{NS}}}results")
    for r in rows:
        result = ET.SubElement(root, f"{{{NS}}}result")
        if r.error is not None:
            errors = ET.SubElement(result, f"{{{NS}}}errors")
            for name in r.error.fields or []:
                ET.SubElement(errors, f"{{{NS}}}fields").text = name
            ET.SubElement(errors, f"{{{NS}}}message").text = r.error.message
            ET.SubElement(errors, f"{{{NS}}}statusCode").text = r.error.error_code
        if r.record_id:
            ET.SubElement(result, f"{{{NS}}}id").text = r.record_id
        ET.SubElement(result, f"{{{NS}}}success").text = _text(r.error is None)
        ET.SubElement(result, f"{{{NS}}}created").text = _text(r.created)
    return _xml_bytes(root)


# -- batch requests ----------------------------------------------------------------------
def csv_rows(body: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV batch (blank lines skipped)."""
    try:
        reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), strict=True)
        header = next(reader, None)
        rows = [row for row in reader if row]
    except (csv.Error, UnicodeDecodeError) as exc:
        raise Bulk1Error("InvalidBatch", f"Failed to parse the CSV: {exc}") from None
    if not header:
        raise Bulk1Error("InvalidBatch", "The batch holds no header row")
    return header, rows


def json_rows(body: bytes) -> list[dict[str, Any]]:
    """The records of a JSON batch, a relationship's nested ``{"Ext__c": v}`` flattened to
    ``Rel.Ext__c`` and ``attributes`` dropped."""
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise Bulk1Error("InvalidBatch", f"Failed to parse the JSON batch: {exc}") from None
    if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
        raise Bulk1Error("InvalidBatch", "A JSON batch is an array of record objects")
    rows = []
    for record in parsed:
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key == "attributes":
                continue
            if isinstance(value, dict):
                for sub, inner in value.items():
                    if sub != "attributes":
                        row[f"{key}.{sub}"] = inner
            else:
                row[key] = value
        rows.append(row)
    return rows


def xml_rows(body: bytes) -> list[tuple[list[str], list[str]]]:
    """The records of an XML batch (``sObjects`` of ``sObject``): header and cells each,
    ``xsi:nil`` as ``#N/A``, a nested relationship element as ``Rel.Field``."""
    root = _parse_xml(body)
    if _local(root.tag) != "sObjects":
        raise Bulk1Error("InvalidBatch", f"Expected an sObjects element, found {_local(root.tag)}")
    out = []
    for record in root:
        header, cells = [], []
        for child in record:
            name = _local(child.tag)
            if len(child):
                for sub in child:
                    if _local(sub.tag) != "type":
                        header.append(f"{name}.{_local(sub.tag)}")
                        cells.append(sub.text or "")
                continue
            header.append(name)
            nil = child.get(f"{{{XSI_NS}}}nil") == "true"
            cells.append("#N/A" if nil else (child.text or ""))
        out.append((header, cells))
    return out


# -- query results -----------------------------------------------------------------------
def query_records_xml(records: Sequence[dict[str, Any]]) -> bytes:
    """REST-shaped records as a Bulk 1.0 XML ``queryResult``."""
    root = ET.Element(f"{{{NS}}}queryResult")
    for record in records:
        root.append(_sobject("records", record))
    return _xml_bytes(root)


def _sobject(tag: str, record: dict[str, Any]) -> ET.Element:
    element = ET.Element(f"{{{NS}}}{tag}", {f"{{{XSI_NS}}}type": "sObject"})
    ET.SubElement(element, f"{{{NS}}}type").text = (record.get("attributes") or {}).get("type", "")
    for name, value in record.items():
        if name == "attributes":
            continue
        if isinstance(value, dict):
            element.append(_sobject(name, value))
        elif value is None:
            ET.SubElement(element, f"{{{NS}}}{name}", {f"{{{XSI_NS}}}nil": "true"})
        else:
            ET.SubElement(element, f"{{{NS}}}{name}").text = _text(value)
    return element
