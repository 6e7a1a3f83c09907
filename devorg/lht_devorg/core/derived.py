"""Values Salesforce derives from other fields of the same record (Name of a person, an
Opportunity's forecast category and fiscal period, closed flags, auto-numbers) and the stored
formula fields, as SQL UPDATEs run after a record is written."""

from __future__ import annotations

import re

from ..meta.schema import ObjectSchema
from ..soql.planner import q

_STAGE_CATEGORY = (
    "CASE \"StageName\" WHEN 'Closed Won' THEN 'Closed' WHEN 'Closed Lost' THEN 'Omitted' "
    "WHEN 'Negotiation/Review' THEN 'Commit' WHEN 'Proposal/Price Quote' THEN 'Best Case' "
    "ELSE 'Pipeline' END"
)
_STAGE_PROBABILITY = (
    "CAST(CASE \"StageName\" WHEN 'Prospecting' THEN 10 WHEN 'Qualification' THEN 10 "
    "WHEN 'Needs Analysis' THEN 20 WHEN 'Value Proposition' THEN 50 WHEN 'Id. Decision Makers' "
    "THEN 60 WHEN 'Perception Analysis' THEN 70 WHEN 'Proposal/Price Quote' THEN 75 "
    "WHEN 'Negotiation/Review' THEN 90 WHEN 'Closed Won' THEN 100 ELSE 0 END AS DECIMAL(3,0))"
)
_PERSON_NAME = "nullif(concat_ws(' ', \"FirstName\", \"LastName\"), '')"

#: object -> ordered (field, SQL) pairs; later entries may use earlier results.
DERIVED: dict[str, list[tuple[str, str]]] = {
    "User": [("Name", _PERSON_NAME)],
    "Contact": [("Name", _PERSON_NAME)],
    "Lead": [("Name", _PERSON_NAME)],
    "Opportunity": [
        ("Probability", f'coalesce("Probability", {_STAGE_PROBABILITY})'),
        ("ForecastCategory", _STAGE_CATEGORY),
        ("ForecastCategoryName", _STAGE_CATEGORY),
        ("IsClosed", "coalesce(\"StageName\" IN ('Closed Won', 'Closed Lost'), false)"),
        ("IsWon", "coalesce(\"StageName\" = 'Closed Won', false)"),
        ("FiscalYear", 'CAST(year("CloseDate") AS INTEGER)'),
        ("FiscalQuarter", 'CAST(quarter("CloseDate") AS INTEGER)'),
        (
            "Fiscal",
            'CAST(year("CloseDate") AS VARCHAR) || \' \' || CAST(quarter("CloseDate") AS VARCHAR)',
        ),
        ("ExpectedRevenue", 'CAST("Amount" * "Probability" / 100 AS DECIMAL(18,2))'),
    ],
    "Case": [
        ("IsClosed", "coalesce(\"Status\" = 'Closed', false)"),
        (
            "ClosedDate",
            'CASE WHEN "Status" = \'Closed\' THEN coalesce("ClosedDate", "LastModifiedDate") END',
        ),
        ("IsEscalated", "coalesce(\"Status\" = 'Escalated', false)"),
    ],
    "Task": [
        ("IsClosed", "coalesce(\"Status\" = 'Completed', false)"),
        ("IsHighPriority", "coalesce(\"Priority\" = 'High', false)"),
    ],
}


def derived_sql(obj: ObjectSchema, where: str = "TRUE") -> list[str]:
    """UPDATE statements recomputing derived and formula fields for the rows matching ``where``."""
    table = q(obj.name.lower())
    out = []
    for name, sql in DERIVED.get(obj.name, []):
        if obj.field(name):
            out.append(f"UPDATE {table} SET {q(name)} = {sql} WHERE {where}")
    formulas = obj.formulas()
    if formulas:
        sets = ", ".join(f"{q(n)} = {sql}" for n, (sql, _) in formulas.items())
        out.append(f"UPDATE {table} SET {sets} WHERE {where}")
    return out


def derived_reads(obj: ObjectSchema) -> frozenset[str]:
    """The fields (lower-cased) that the derived and formula SQL of ``obj`` reads: a write that
    sets none of them leaves every derived value as it is."""
    sqls = [sql for name, sql in DERIVED.get(obj.name, []) if obj.field(name)]
    sqls += [sql for sql, _ in obj.formulas().values()]
    return frozenset(name.lower() for sql in sqls for name in re.findall(r'"([^"]+)"', sql))
