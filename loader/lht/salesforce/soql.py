"""SOQL text: the SELECT lht sends for an object, and the check of a user's where filter.

Every statement is built through simple-salesforce's ``format_soql``; a user's filter is
only checked (balanced, no ``;`` or comments) and wrapped in parentheses. Speaks no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lht.clock import as_utc
from lht.errors import ConfigError, InvalidNameError
from lht.salesforce.describe import ObjectPlan
from lht.salesforce.sfparts import format_soql

__all__ = ["build_count_soql", "build_soql", "merge_state_soql", "select_fields", "validate_where"]


def validate_where(where: str) -> str:
    """Check a user's SOQL filter; ConfigError when it could escape its parentheses."""
    text = where.strip()
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == ";" or text.startswith(("--", "/*", "*/", "//"), i):
            raise ConfigError(
                f"Unsafe SOQL filter {where!r}: ';' and comments are not allowed "
                "in a where filter; write a single condition"
            )
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
        i += 1
    if quote or depth != 0:
        raise ConfigError(
            f"Unsafe SOQL filter {where!r}: unbalanced quotes or parentheses; "
            "fix the filter in the project config"
        )
    return text


def select_fields(plan: ObjectPlan, fields: Sequence[str] | None) -> list[str]:
    if fields is None:
        return list(plan.field_names)
    names: list[str] = []
    for name in fields:
        try:
            canonical = plan.spec(name).name
        except KeyError:
            raise InvalidNameError(
                f"{plan.object_name}.{name} is not a loaded field of the object's describe"
            ) from None
        if canonical not in names:
            names.append(canonical)
    if not names:
        raise InvalidNameError(f"No fields to select from {plan.object_name}")
    return names


def build_soql(
    plan: ObjectPlan,
    *,
    fields: Sequence[str] | None = None,
    since: datetime | None = None,
    where: str | None = None,
) -> str:
    """``SELECT <fields> FROM <object> [WHERE (<where>) AND <watermark> >= <since>]``."""
    names = select_fields(plan, fields)
    soql = format_soql(
        "SELECT {names:literal} FROM {obj:literal}", names=", ".join(names), obj=plan.object_name
    )
    return soql + _conditions(plan, since, where)


def build_count_soql(
    plan: ObjectPlan, *, since: datetime | None = None, where: str | None = None
) -> str:
    """``SELECT COUNT() FROM <object>`` with the conditions :func:`build_soql` would use."""
    return format_soql("SELECT COUNT() FROM {obj:literal}", obj=plan.object_name) + _conditions(
        plan, since, where
    )


def _conditions(plan: ObjectPlan, since: datetime | None, where: str | None) -> str:
    conditions: list[str] = []
    if where is not None and where.strip():
        conditions.append(format_soql("({where:literal})", where=validate_where(where)))
    if since is not None:
        if plan.watermark_field is None:
            raise ConfigError(
                f"{plan.object_name} has no SystemModstamp, LastModifiedDate or "
                "CreatedDate: it can only be extracted in full (since=None)"
            )
        conditions.append(
            format_soql(
                "{wm:literal} >= {since}",
                wm=plan.watermark_field,
                since=as_utc(since).replace(microsecond=0),
            )
        )
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def merge_state_soql(object_name: str, record_ids: Sequence[str]) -> str:
    """The queryAll SOQL reading whether records are deleted and merged (``MasterRecordId``)."""
    return format_soql(
        "SELECT Id, IsDeleted, MasterRecordId FROM {:literal} WHERE Id IN {}",
        object_name,
        list(record_ids),
    )


def records_by_field_soql(object_name: str, field: str, values: list[str]) -> str:
    """``SELECT Id, <field> FROM <object> WHERE <field> IN (...)``: which records carry these values
    (a push checks, after a crash, which of its inserts Salesforce already created)."""
    return format_soql(
        "SELECT Id, {field:literal} FROM {obj:literal} WHERE {field:literal} IN {values}",
        field=field,
        obj=object_name,
        values=values,
    )
