"""sObject Collections: insert, update, upsert and delete up to 200 records a call.

``allOrNone`` is false: Salesforce answers one result per record, in input order, and a
rejected record does not undo the others. A record rejected with ``UNABLE_TO_LOCK_ROW``
(another transaction held it) is sent again within the run, a bounded number of times;
what still fails is returned like any other rejection. Calls go through the client's
session (the transport's retry policy, call counting and API budget).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lht.errors import SalesforceError
from lht.names import check_object_name
from lht.salesforce.client import SalesforceClient

logger = logging.getLogger(__name__)

#: Records per sObject Collections call (Salesforce's limit).
COLLECTION_SIZE = 200
#: Extra attempts for rows rejected with UNABLE_TO_LOCK_ROW.
LOCK_RETRIES = 2
TRANSIENT_ROW_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW"})
OPERATIONS = ("insert", "update", "upsert", "delete")


@dataclass(frozen=True)
class RowResult:
    """Salesforce's answer for one record."""

    success: bool
    salesforce_id: str | None = None
    created: bool | None = None
    error_code: str | None = None
    error_message: str | None = None


#: Objects whose writes run assignment rules (REST runs the active one unless told not to).
ASSIGNABLE = frozenset({"lead", "case", "account"})


def write_headers(
    object_name: str, *, assignment_rule_id: str | None = None, allow_duplicates: bool = False
) -> dict[str, str]:
    """The REST headers of a write's rules: ``Sforce-Auto-Assign`` (``TRUE`` for the active
    assignment rule, ``default``, or an AssignmentRule Id; ``FALSE`` otherwise, as REST runs
    the active rule when the header is missing) and ``Sforce-Duplicate-Rule-Header:
    allowSave=true`` (save despite a duplicate rule's alert)."""
    headers: dict[str, str] = {}
    if assignment_rule_id:
        headers["Sforce-Auto-Assign"] = (
            "TRUE" if assignment_rule_id == "default" else assignment_rule_id
        )
    elif object_name.lower() in ASSIGNABLE:
        headers["Sforce-Auto-Assign"] = "FALSE"
    if allow_duplicates:
        headers["Sforce-Duplicate-Rule-Header"] = "allowSave=true"
    return headers


def _duplicates(error: dict[str, Any]) -> str:
    """A duplicate rule's findings on a rejected record, as Salesforce gave them (the
    ``duplicateResult`` JSON), or nothing."""
    found = error.get("duplicateResult")
    return f" duplicateResult: {json.dumps(found, sort_keys=True)}" if found else ""


def _row_result(answer: dict[str, Any], operation: str) -> RowResult:
    errors = answer.get("errors") or []
    if answer.get("success"):
        created = answer.get("created")
        if created is None:
            created = operation == "insert"
        return RowResult(True, answer.get("id"), bool(created) if operation != "delete" else False)
    first = errors[0] if errors else {}
    message = "; ".join(str(e.get("message") or "") for e in errors) or "Salesforce gave no reason"
    fields = sorted({f for e in errors for f in (e.get("fields") or [])})
    if fields:
        message += f" (fields: {', '.join(fields)})"
    message += "".join(_duplicates(e) for e in errors)
    return RowResult(
        False, answer.get("id"), None, str(first.get("statusCode") or "UNKNOWN_ERROR"), message
    )


def _call(
    client: SalesforceClient,
    object_name: str,
    operation: str,
    records: Sequence[dict[str, Any]],
    external_id_field: str | None,
    headers: dict[str, str],
) -> list[dict[str, Any]]:
    base = client.base_url + "composite/sobjects"
    what = f"{operation.capitalize()} of {len(records)} {object_name} records (sObject Collections)"
    if operation == "delete":
        ids = ",".join(str(r["Id"]) for r in records)
        response = client.request(
            "DELETE", base, what=what, params={"ids": ids, "allOrNone": "false"}, headers=headers
        )
    else:
        body = json.dumps(
            {
                "allOrNone": False,
                "records": [{"attributes": {"type": object_name}, **r} for r in records],
            }
        )
        if operation == "insert":
            response = client.request("POST", base, what=what, data=body, headers=headers)
        elif operation == "update":
            response = client.request("PATCH", base, what=what, data=body, headers=headers)
        else:
            if not external_id_field:
                raise ValueError("an upsert needs its external id field")
            response = client.request(
                "PATCH",
                f"{base}/{object_name}/{external_id_field}",
                what=what,
                data=body,
                headers=headers,
            )
    answers = response.json()
    if not isinstance(answers, list) or len(answers) != len(records):
        raise SalesforceError(
            f"{what}: Salesforce answered {len(answers) if isinstance(answers, list) else 'no'} "
            f"results for {len(records)} records; the rows are sent again next run."
        )
    return answers


def send(
    client: SalesforceClient,
    object_name: str,
    operation: str,
    records: Sequence[dict[str, Any]],
    *,
    external_id_field: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    headers: dict[str, str] | None = None,
) -> list[RowResult]:
    """Send at most 200 ``records`` in one call (plus lock retries); one result each, in order.

    ``records`` carry field API names; an update or delete record carries ``Id``. ``headers``:
    the write's rules (:func:`write_headers`). A record a duplicate rule blocked fails with
    DUPLICATES_DETECTED, its message carrying the duplicates Salesforce found.
    """
    check_object_name(object_name)
    if operation not in OPERATIONS:
        raise ValueError(f"sObject Collections cannot {operation}")
    if len(records) > COLLECTION_SIZE:
        raise ValueError(f"at most {COLLECTION_SIZE} records a call, not {len(records)}")
    results: list[RowResult | None] = [None] * len(records)
    todo = list(range(len(records)))
    for attempt in range(LOCK_RETRIES + 1):
        if not todo:
            break
        if attempt:
            logger.info(
                "%d %s records were locked; sending them again (attempt %d)",
                len(todo),
                object_name,
                attempt + 1,
            )
            sleep(0.5 * attempt)
        answers = _call(
            client,
            object_name,
            operation,
            [records[i] for i in todo],
            external_id_field,
            headers or {},
        )
        retry = []
        for i, answer in zip(todo, answers, strict=True):
            result = _row_result(answer, operation)
            results[i] = result
            if not result.success and result.error_code in TRANSIENT_ROW_ERRORS:
                retry.append(i)
        todo = retry
    return [r for r in results if r is not None]
