"""sObject Collections (``composite/sobjects``): insert, update, upsert on an external id,
delete and retrieve, up to 200 records a call (2,000 Ids to retrieve).

Results come one per record, in input order, with Salesforce's error shape
``{statusCode, message, fields}``. ``allOrNone=true`` rolls every change of the call back
when any record fails; the others report ALL_OR_NONE_OPERATION_ROLLED_BACK. Problems of the
request itself (an unknown field, a value JSON cannot turn into the field's type, too many
records) fail the whole call with 400. A call's writes run in one transaction.

The request's ``Sforce-Auto-Assign`` and ``Sforce-Duplicate-Rule-Header`` apply
(:mod:`..core.rules`): a record Account's duplicate rule blocks fails with
DUPLICATES_DETECTED and its ``duplicateResult``.

Row faults (``unable_to_lock_row``, see :mod:`..faults`) make the next N record writes of
matching calls fail with UNABLE_TO_LOCK_ROW.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .. import ids
from ..core import batchwrite, rules
from ..core.rules import DuplicateError
from ..core.upsert import Rollback
from ..core.validate import external_id_field, malformed_id, row_lock
from ..errors import OrgError
from ..faults import ROW_KINDS, FaultInjector
from .rest import COMPOSITE_MAX, Call, Reply

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?")
#: Ids per retrieve call.
RETRIEVE_MAX = 2000
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the "
    "request was using AllOrNone header",
    "fields": [],
}


def _error(exc: OrgError, version: str = "62.0") -> dict[str, Any]:
    error: dict[str, Any] = {
        "statusCode": exc.error_code,
        "message": exc.message,
        "fields": list(exc.fields or []),
    }
    if isinstance(exc, DuplicateError):
        error["duplicateResult"] = exc.duplicate_result(version)
    return error


def _too_many() -> OrgError:
    return OrgError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {COMPOSITE_MAX} records into this call",
    )


def _records(call: Call) -> tuple[list[dict[str, Any]], bool]:
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise OrgError(400, "JSON_PARSER_ERROR", "The request body needs a 'records' array")
    records = body["records"]
    if len(records) > COMPOSITE_MAX:
        raise _too_many()
    if not all(isinstance(r, dict) for r in records):
        raise OrgError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    return records, bool(body.get("allOrNone", False))


def _type_of(record: dict[str, Any], default: str | None = None) -> str:
    attributes = record.get("attributes")
    if isinstance(attributes, dict) and attributes.get("type"):
        return str(attributes["type"])
    if default:
        return default
    raise OrgError(400, "INVALID_TYPE", "Each record needs attributes.type", [])


class Composite:
    """The composite/sobjects resource over an OrgEngine."""

    def __init__(self, engine: Any, faults: FaultInjector | None = None) -> None:
        self.engine = engine
        self.faults = faults or FaultInjector()

    # -- shared ---------------------------------------------------------------
    def _row_fault(self, call: Call, record_id: str | None) -> None:
        if self.faults.take(ROW_KINDS, call.method, f"/services/data/v{call.version}/{call.path}"):
            raise row_lock(record_id)

    def _run(
        self,
        call: Call,
        items: list[Any],
        all_or_none: bool,
        one: Callable[[Any], dict[str, Any]],
        failed: Callable[[Any, OrgError], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Apply ``one`` to every item in one transaction; roll back if allOrNone and any fails."""
        results: list[dict[str, Any]] = []
        try:
            with self.engine.transaction():
                for item in items:
                    try:
                        results.append(one(item))
                    except OrgError as exc:
                        results.append(failed(item, exc))
                if all_or_none and any(not r["success"] for r in results):
                    raise Rollback()
        except Rollback:
            results = [
                {**r, "success": False, "errors": [ROLLED_BACK]} if r["success"] else r
                for r in results
            ]
            for r in results:
                r.pop("created", None)
        return results

    # -- insert, update, upsert, delete ----------------------------------------
    def _batched(
        self,
        call: Call,
        records: list[dict[str, Any]],
        all_or_none: bool,
        operation: str,
        ext_field: str | None = None,
        default_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """Write ``records`` through :func:`batchwrite.apply`, one batch per object type."""
        results: list[dict[str, Any]] = [{} for _ in records]

        def shaped(i: int, outcome: batchwrite.RowResult) -> dict[str, Any]:
            given = records[i].get("id") or records[i].get("Id")
            if outcome.error is not None:
                body: dict[str, Any] = {
                    "success": False,
                    "errors": [_error(outcome.error, call.version)],
                }
                return {"id": given, **body} if operation == "update" else body
            body = {"id": outcome.record_id, "success": True, "errors": []}
            return {**body, "created": outcome.created} if operation == "upsert" else body

        def before_row(values: dict[str, Any]) -> None:
            self._row_fault(call, values.get("id") or values.get("Id"))

        def one_batch() -> None:
            by_type: dict[str, list[int]] = {}
            for i, record in enumerate(records):
                try:
                    name = _type_of(record, default_type)
                    obj = self.engine.schema.get(name)
                    if obj is None:
                        raise OrgError(
                            400, "INVALID_TYPE", f"sObject type '{name}' is not supported.", []
                        )
                    by_type.setdefault(obj.name, []).append(i)
                except OrgError as exc:
                    results[i] = shaped(i, batchwrite.RowResult(error=exc))
            for name, positions in by_type.items():
                rows = [
                    {k: v for k, v in records[i].items() if k != "attributes"} for i in positions
                ]
                outcomes = batchwrite.apply(
                    self.engine,
                    name,
                    operation,
                    rows,
                    ext_field,
                    before_row,
                    rules.from_headers(call.headers, name),
                )
                for i, outcome in zip(positions, outcomes, strict=True):
                    results[i] = shaped(i, outcome)
            if all_or_none and any(not r["success"] for r in results):
                raise Rollback()

        try:
            with self.engine.transaction():
                one_batch()
        except Rollback:
            results = [
                {**r, "success": False, "errors": [ROLLED_BACK]} if r["success"] else r
                for r in results
            ]
            for r in results:
                r.pop("created", None)
        return results

    def create(self, call: Call) -> Reply:
        """``POST composite/sobjects``."""
        records, all_or_none = _records(call)
        return Reply(200, self._batched(call, records, all_or_none, "insert"))

    def update(self, call: Call) -> Reply:
        """``PATCH composite/sobjects``: each record carries its ``id``."""
        records, all_or_none = _records(call)
        return Reply(200, self._batched(call, records, all_or_none, "update"))

    def upsert(self, call: Call, name: str, field: str) -> Reply:
        """``PATCH composite/sobjects/{Object}/{ExternalIdField}``: ``created`` per record."""
        records, all_or_none = _records(call)
        obj = self.engine.schema.require(name)
        f = external_id_field(obj, field)
        return Reply(200, self._batched(call, records, all_or_none, "upsert", f["name"], obj.name))

    def _object_of_id(self, record_id: str) -> str:
        if not ids.is_id(record_id):
            raise malformed_id(None, record_id)
        prefix = record_id[:3]
        for entry in self.engine.describe_global()["sobjects"]:
            if entry.get("keyPrefix") == prefix:
                return entry["name"]
        raise malformed_id(None, record_id)

    def delete(self, call: Call) -> Reply:
        """``DELETE composite/sobjects?ids=...&allOrNone=``."""
        record_ids = [i for i in (call.params.get("ids") or "").split(",") if i]
        if not record_ids:
            raise OrgError(400, "MISSING_ARGUMENT", "Specify the ids parameter")
        if len(record_ids) > COMPOSITE_MAX:
            raise _too_many()
        all_or_none = (call.params.get("allOrNone") or "false").lower() == "true"

        def one(record_id: str) -> dict[str, Any]:
            name = self._object_of_id(record_id)
            self._row_fault(call, record_id)
            try:
                self.engine.delete(name, record_id)
            except OrgError as exc:
                if exc.status == 404:
                    raise OrgError(400, "ENTITY_IS_DELETED", "entity is deleted", []) from None
                raise
            return {"id": ids.to18(record_id), "success": True, "errors": []}

        return Reply(
            200,
            self._run(
                call,
                record_ids,
                all_or_none,
                one,
                lambda i, exc: {"id": i, "success": False, "errors": [_error(exc)]},
            ),
        )

    # -- retrieve -------------------------------------------------------------
    def retrieve(self, call: Call, name: str) -> Reply:
        """``POST composite/sobjects/{Object}`` ``{ids, fields}`` or ``GET ...?ids=&fields=``."""
        if call.method == "POST":
            body = call.json()
            if not isinstance(body, dict):
                raise OrgError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
            record_ids, fields = body.get("ids"), body.get("fields")
        else:
            record_ids = [i for i in (call.params.get("ids") or "").split(",") if i]
            fields = [f for f in (call.params.get("fields") or "").split(",") if f]
        if not isinstance(record_ids, list) or not record_ids:
            raise OrgError(400, "MISSING_ARGUMENT", "Specify the ids to retrieve")
        if not isinstance(fields, list) or not fields:
            raise OrgError(400, "MISSING_ARGUMENT", "Specify the fields to retrieve")
        if len(record_ids) > RETRIEVE_MAX:
            raise OrgError(
                400, "EXCEEDED_ID_LIMIT", f"cannot retrieve more than {RETRIEVE_MAX} records"
            )
        for record_id in record_ids:
            if not isinstance(record_id, str) or not ids.is_id(record_id):
                raise malformed_id(None, record_id)
        for name_ in fields:
            if not isinstance(name_, str) or not _FIELD_NAME.fullmatch(name_):
                raise OrgError(
                    400, "INVALID_FIELD", f"No such column '{name_}' on sobject of type {name}"
                )
        obj = self.engine.schema.require(name)
        wanted = sorted({ids.to18(i) for i in record_ids})
        id_list = ", ".join(f"'{i}'" for i in wanted)  # checked Ids: base-62 characters only
        select = ", ".join(dict.fromkeys(["Id", *fields]))
        rs = self.engine.execute(
            f"SELECT {select} FROM {obj.name} WHERE Id IN ({id_list})", include_deleted=False
        )
        try:
            found = self.engine.page_records(rs, 0, len(wanted), api_version=call.version)
        finally:
            self.engine.release(rs)
        by_id = {r["Id"]: r for r in found}
        names = {f.lower() for f in fields}
        out = []
        for record_id in record_ids:
            rec = by_id.get(ids.to18(record_id))
            out.append(
                None
                if rec is None
                else {k: v for k, v in rec.items() if k == "attributes" or k.lower() in names}
            )
        return Reply(200, out)
