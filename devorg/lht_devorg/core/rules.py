"""The org's active rules on record writes: Account's duplicate rule and the assignment rules
of Lead and Case, as Salesforce applies them.

Duplicate rule (``Standard_Account_Duplicate_Rule``, action on create and edit: Alert,
Report): an Account whose Name and Website both equal (ignoring case and surrounding
spaces) those of another live Account is refused with ``DUPLICATES_DETECTED`` and the
records it matched (the ``duplicateResult`` of Salesforce's REST error), unless the request
carries ``Sforce-Duplicate-Rule-Header: allowSave=true``. Records written in the same
request are not compared with each other (as Salesforce does for a batch). Bulk API 2.0 has
no such header: its rows fail. Simplifications: the rule runs on the writes that set Name or
Website, and a Bulk job runs it only when it sends Website (other jobs take the column-wise
paths, which do not run it).

Assignment rules: REST runs the object's active rule unless ``Sforce-Auto-Assign: FALSE``
(the header's default is TRUE); a rule Id runs that rule; Bulk API 2.0 runs the rule named
by the job's ``assignmentRuleId`` only. Each rule has one entry, with no criteria, that
sets OwnerId to the org's routing user (:func:`routing_owner`, the seeded User with the
greatest Id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import ids
from ..errors import OrgError

if TYPE_CHECKING:
    from ..meta.schema import ObjectSchema
    from .store import OrgStore

DUPLICATE_RULE = "Standard_Account_Duplicate_Rule"
MATCHING_RULE = "Standard_Account_Match_Rule_v1_0"
DUPLICATE_MESSAGE = "Use one of these records?"
#: The active AssignmentRule of each object (key prefix 01Q).
ASSIGNMENT_RULES = {"Lead": ids.to18("01Q8d0000000Ld1"), "Case": ids.to18("01Q8d0000000Cs1")}


@dataclass(frozen=True)
class WriteRules:
    """The rules a write request asks for: the assignment rule to run (an Id, or None) and
    whether a duplicate rule's alert may be overridden."""

    assignment_rule_id: str | None = None
    allow_save: bool = False


def rule_for(obj_name: str, rule_id: str | None) -> str | None:
    """``rule_id`` when it is ``obj_name``'s rule (15 or 18 characters), else OrgError 400."""
    if rule_id is None:
        return None
    wanted = ASSIGNMENT_RULES.get(obj_name)
    if not ids.is_id(rule_id) or wanted is None or ids.to18(rule_id) != wanted:
        raise OrgError(
            400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {rule_id}", []
        )
    return wanted


def from_headers(headers: Any, obj_name: str | None) -> WriteRules:
    """The rules of a REST request, from its ``Sforce-Auto-Assign`` and
    ``Sforce-Duplicate-Rule-Header`` headers (``obj_name``: the object written, when one)."""
    assign = str(headers.get("Sforce-Auto-Assign") or "TRUE").strip()
    rule = None
    if obj_name in ASSIGNMENT_RULES:
        if assign.upper() == "TRUE":
            rule = ASSIGNMENT_RULES[obj_name]
        elif assign.upper() != "FALSE":
            rule = rule_for(obj_name, assign)
    options = {}
    for part in str(headers.get("Sforce-Duplicate-Rule-Header") or "").split(","):
        name, _, value = part.partition("=")
        options[name.strip().lower()] = value.strip().lower() == "true"
    return WriteRules(rule, options.get("allowsave", False))


def routing_owner(eng: OrgStore) -> str:
    """The User the assignment rules route records to."""
    [(owner,)] = eng._con.execute('SELECT max("Id") FROM "user"').fetchall()
    return str(owner)


def assign(eng: OrgStore, obj: ObjectSchema, rules: WriteRules | None, rows: list[dict]) -> None:
    """Set OwnerId on ``rows`` (values about to be written) when ``rules`` run an assignment rule."""
    if (
        rules is None
        or rules.assignment_rule_id is None
        or obj.name not in ASSIGNMENT_RULES
        or not rows
    ):
        return
    owner = routing_owner(eng)
    for row in rows:
        row["OwnerId"] = owner


def _norm(value: object) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    return text or None


def duplicate_errors(
    eng: OrgStore, obj: ObjectSchema, rules: WriteRules | None, writes: list[tuple[str, dict, bool]]
) -> dict[int, OrgError]:
    """DUPLICATES_DETECTED by position in ``writes`` ((record Id, values written, creating?))
    for the Accounts another live Account matches on Name and Website; none with allowSave."""
    if obj.name != "Account" or not writes or (rules is not None and rules.allow_save):
        return {}
    current: dict[str, tuple[object, object]] = {}
    updated = [
        rid
        for rid, values, creating in writes
        if not creating and ("Name" in values or "Website" in values)
    ]
    if updated:
        for rid, name, site in eng._con.execute(
            'SELECT "Id", "Name", "Website" FROM "account" WHERE list_contains(?, "Id")', [updated]
        ).fetchall():
            current[rid] = (name, site)
    keys: dict[int, tuple[str, str]] = {}
    for i, (rid, values, _) in enumerate(writes):
        if "Name" not in values and "Website" not in values:
            continue  # the rule runs on the writes that set a matched field (a simplification)
        name, site = current.get(rid, (None, None))
        name, site = _norm(values.get("Name", name)), _norm(values.get("Website", site))
        if name and site:
            keys[i] = (name, site)
    if not keys:
        return {}
    names = sorted({k[0] for k in keys.values()})
    found: dict[tuple[str, str], list[str]] = {}
    for rid, name, site in eng._con.execute(
        'SELECT "Id", lower(trim("Name")), lower(trim("Website")) FROM "account" '
        'WHERE NOT "IsDeleted" AND list_contains(?, lower(trim("Name"))) ORDER BY "Id"',
        [names],
    ).fetchall():
        found.setdefault((name, site), []).append(rid)
    errors: dict[int, OrgError] = {}
    for i, key in keys.items():
        matches = [m for m in found.get(key, []) if m != writes[i][0]]
        if matches:
            errors[i] = DuplicateError(matches)
    return errors


class DuplicateError(OrgError):
    """A record a duplicate rule blocked: its REST error carries ``duplicateResult``."""

    def __init__(self, matches: list[str]) -> None:
        super().__init__(400, "DUPLICATES_DETECTED", DUPLICATE_MESSAGE, [])
        self.matches = matches

    def duplicate_result(self, api_version: str = "62.0") -> dict[str, Any]:
        """Salesforce's ``DuplicateResult`` of the error (one MatchResult of the matching rule)."""
        records = [
            {
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": {
                    "attributes": {
                        "type": "Account",
                        "url": f"/services/data/v{api_version}/sobjects/Account/{rid}",
                    },
                    "Id": rid,
                },
            }
            for rid in self.matches
        ]
        return {
            "allowSave": True,
            "duplicateRule": DUPLICATE_RULE,
            "duplicateRuleEntityType": "Account",
            "errorMessage": "You're creating a duplicate record. We recommend you use an existing record "
            "instead.",
            "matchResults": [
                {
                    "entityType": "Account",
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": records,
                    "rule": MATCHING_RULE,
                    "size": len(records),
                    "success": True,
                }
            ],
        }
