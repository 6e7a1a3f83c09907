"""``composite/sobjects``: create, update and delete up to 200 records in one call.

``allOrNone=true`` rolls back the records already changed when any record fails,
and every record reports ALL_OR_NONE_OPERATION_ROLLED_BACK or its own error.
"""

from __future__ import annotations

from typing import Any

from .errors import OrgError
from .rest import COMPOSITE_MAX, Call, Reply

ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the "
                          "request was using AllOrNone header", "fields": []}


def _error(exc: OrgError) -> dict[str, Any]:
    return {"statusCode": exc.error_code, "message": exc.message, "fields": list(exc.fields or [])}


def _records(call: Call) -> tuple[list[dict[str, Any]], bool]:
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise OrgError(400, "JSON_PARSER_ERROR", "The request body needs a 'records' array")
    records = body["records"]
    if len(records) > COMPOSITE_MAX:
        raise OrgError(400, "EXCEEDED_ID_LIMIT", f"Maximum number of records is {COMPOSITE_MAX}")
    return records, bool(body.get("allOrNone", False))


def _type_of(record: Any) -> str:
    attributes = record.get("attributes") if isinstance(record, dict) else None
    if not isinstance(attributes, dict) or not attributes.get("type"):
        raise OrgError(400, "INVALID_TYPE", "Each record needs attributes.type")
    return str(attributes["type"])


class Composite:
    """The composite/sobjects resource over an OrgEngine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def _object_of_id(self, record_id: str) -> str:
        prefix = record_id[:3]
        for entry in self.engine.describe_global()["sobjects"]:
            if entry.get("keyPrefix") == prefix:
                return entry["name"]
        raise OrgError(400, "MALFORMED_ID", f"malformed id {record_id}")

    def create(self, call: Call) -> Reply:
        records, all_or_none = _records(call)
        results: list[dict[str, Any]] = []
        created: list[tuple[str, str]] = []
        for record in records:
            try:
                name = _type_of(record)
                values = {k: v for k, v in record.items() if k != "attributes"}
                new_id = self.engine.create(name, values)
                created.append((name, new_id))
                results.append({"id": new_id, "success": True, "errors": []})
            except OrgError as exc:
                results.append({"success": False, "errors": [_error(exc)]})
        if all_or_none and any(not r["success"] for r in results):
            for name, new_id in created:
                self.engine.delete(name, new_id)
                self.engine.purge(name, [new_id])
            results = [{"success": False, "errors": [ROLLED_BACK]} if r["success"] else r
                       for r in results]
        return Reply(200, results)

    def update(self, call: Call) -> Reply:
        records, all_or_none = _records(call)
        results: list[dict[str, Any]] = []
        before: list[tuple[str, str, dict[str, Any]]] = []
        for record in records:
            record_id = record.get("id") or record.get("Id") if isinstance(record, dict) else None
            try:
                name = _type_of(record)
                if not record_id:
                    raise OrgError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
                values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
                if all_or_none:
                    old = self.engine.get_record(name, record_id, fields=list(values))
                    before.append((name, record_id, {k: old.get(k) for k in values}))
                self.engine.update(name, record_id, values)
                results.append({"id": record_id, "success": True, "errors": []})
            except OrgError as exc:
                results.append({"id": record_id, "success": False, "errors": [_error(exc)]})
        if all_or_none and any(not r["success"] for r in results):
            for name, record_id, old_values in before:
                self.engine.update(name, record_id, old_values)
            results = [{"id": r["id"], "success": False, "errors": [ROLLED_BACK]}
                       if r["success"] else r for r in results]
        return Reply(200, results)

    def delete(self, call: Call) -> Reply:
        ids = [i for i in (call.params.get("ids") or "").split(",") if i]
        if not ids:
            raise OrgError(400, "MISSING_ARGUMENT", "Specify the ids parameter")
        if len(ids) > COMPOSITE_MAX:
            raise OrgError(400, "EXCEEDED_ID_LIMIT", f"Maximum number of records is {COMPOSITE_MAX}")
        all_or_none = (call.params.get("allOrNone") or "false").lower() == "true"
        results: list[dict[str, Any]] = []
        deleted: list[tuple[str, str]] = []
        for record_id in ids:
            try:
                name = self._object_of_id(record_id)
                self.engine.delete(name, record_id)
                deleted.append((name, record_id))
                results.append({"id": record_id, "success": True, "errors": []})
            except OrgError as exc:
                results.append({"id": record_id, "success": False, "errors": [_error(exc)]})
        if all_or_none and any(not r["success"] for r in results):
            for name, record_id in deleted:
                self.engine.undelete(name, record_id)
            results = [{"id": r["id"], "success": False, "errors": [ROLLED_BACK]}
                       if r["success"] else r for r in results]
        return Reply(200, results)
