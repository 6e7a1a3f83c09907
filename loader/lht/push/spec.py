"""A push model's ``meta.lht_push`` options, checked before anything is computed or sent."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lht.errors import ConfigError
from lht.manifest import ModelNode
from lht.names import (
    check_field_name,
    check_identifier,
    check_object_name,
    check_push_column,
    check_relation_part,
)

OPERATIONS = ("insert", "update", "upsert", "delete", "hard_delete")
OPTIONS = frozenset(
    {
        "object",
        "operation",
        "key",
        "clear_nulls",
        "mirror",
        "match_on",
        "assignment_rule_id",
        "allow_duplicates",
    }
)
#: Objects with assignment rules (``assignment_rule_id``).
ASSIGNABLE = ("Lead", "Case")
#: The ``assignment_rule_id`` value that asks for the object's active rule.
DEFAULT_RULE = "default"


_RULE_ID = re.compile(r"01Q[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")


class PushRefused(ConfigError):
    """A push that cannot be sent as configured: nothing is sent, no result is written."""


@dataclass(frozen=True)
class PushSpec:
    """One push: the model, the Salesforce object and how its rows are written."""

    name: str
    relation: str
    object_name: str
    operation: str
    key: str
    clear_nulls: bool = False
    mirror: bool = False
    #: update/delete: the field whose value finds each row's record in lht's main table of the object
    match_on: str | None = None
    #: insert/upsert/update of Lead or Case: an AssignmentRule Id, or ``default`` (the active rule)
    assignment_rule_id: str | None = None
    #: save despite a duplicate rule's alert (collections only: Bulk API 2.0 has no such option)
    allow_duplicates: bool = False

    @property
    def deletes(self) -> bool:
        return self.operation in ("delete", "hard_delete")


def _flag(options: Mapping[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if not isinstance(value, bool):
        raise PushRefused(f"meta.lht_push.{name} must be true or false, not {value!r}.")
    return value


def push_spec(node: ModelNode) -> PushSpec:
    """The push of ``node``; PushRefused naming the option when the options are wrong, and
    for any name that is not one (``lht.names``), before any SQL is rendered or run."""
    options, model = node.options, node.name
    try:
        check_identifier(model, "push model name")
        for part, what in (
            (node.database, "database"),
            (node.schema, "schema"),
            (node.identifier, "table"),
        ):
            if part:
                check_relation_part(part, what)
    except ConfigError as exc:
        raise PushRefused(str(exc)) from None
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise PushRefused(
            f"meta.lht_push has unknown option(s) {unknown}; allowed: {sorted(OPTIONS)}."
        )
    object_name = options.get("object")
    if not object_name:
        raise PushRefused("meta.lht_push.object is missing (the Salesforce object, e.g. Account).")
    try:
        check_object_name(str(object_name))
    except ConfigError as exc:
        raise PushRefused(f"meta.lht_push.object: {exc}") from None
    operation = str(options.get("operation") or "")
    if operation not in OPERATIONS:
        raise PushRefused(
            f"meta.lht_push.operation must be one of {', '.join(OPERATIONS)}, "
            f"not {operation or 'missing'!r}."
        )
    match_on = _match_on(options, operation)
    key = (
        options.get("key")
        or match_on
        or ("Id" if operation in ("update", "delete", "hard_delete") else None)
    )
    if not key or not isinstance(key, str):
        raise PushRefused(
            "meta.lht_push.key is missing: name the column that identifies a row "
            "(an external-id field for upsert, any unique column for insert)."
        )
    try:
        check_push_column(key, "meta.lht_push.key")
    except ConfigError as exc:
        raise PushRefused(str(exc)) from None
    if match_on and key.lower() != match_on.lower():
        raise PushRefused(
            f"meta.lht_push.key {key!r} differs from match_on {match_on!r}: with match_on the "
            "model's key is the match field (leave key out)."
        )
    if operation in ("update", "delete", "hard_delete") and key.lower() != "id" and not match_on:
        raise PushRefused(
            f"an {operation} push is keyed by Id, not {key!r}; use upsert to match "
            "records by an external id, or set match_on to find them by another field."
        )
    mirror = _flag(options, "mirror")
    if mirror and operation not in ("insert", "upsert"):
        raise PushRefused("meta.lht_push.mirror applies to insert and upsert pushes only.")
    rule = _assignment_rule(options, str(object_name), operation)
    allow_duplicates = _flag(options, "allow_duplicates")
    if allow_duplicates and operation not in ("insert", "upsert", "update"):
        raise PushRefused(
            "meta.lht_push.allow_duplicates applies to insert, upsert and update pushes only."
        )
    return PushSpec(
        name=model,
        relation=node.relation,
        object_name=str(object_name),
        operation=operation,
        key=key,
        clear_nulls=_flag(options, "clear_nulls"),
        mirror=mirror,
        match_on=match_on,
        assignment_rule_id=rule,
        allow_duplicates=allow_duplicates,
    )


def _match_on(options: Mapping[str, Any], operation: str) -> str | None:
    """``match_on``, checked: a field name, for update and delete pushes only."""
    value = options.get("match_on")
    if value is None:
        return None
    if operation not in ("update", "delete"):
        raise PushRefused(
            f"meta.lht_push.match_on applies to update and delete pushes, not {operation}; an "
            "upsert matches records by an external id (its key)."
        )
    if not isinstance(value, str) or value.lower() == "id":
        raise PushRefused(f"meta.lht_push.match_on must name a field other than Id, not {value!r}.")
    try:
        check_field_name(value)
    except ConfigError as exc:
        raise PushRefused(f"meta.lht_push.match_on: {exc}") from None
    return value


def _assignment_rule(options: Mapping[str, Any], object_name: str, operation: str) -> str | None:
    """``assignment_rule_id``, checked: an Id (15 or 18 characters) or ``default``, for
    insert/upsert/update of an object with assignment rules."""
    value = options.get("assignment_rule_id")
    if value is None:
        return None
    if object_name.lower() not in {o.lower() for o in ASSIGNABLE}:
        raise PushRefused(
            f"meta.lht_push.assignment_rule_id: {object_name} has no assignment rules "
            f"(only {', '.join(ASSIGNABLE)} do); remove the option."
        )
    if operation not in ("insert", "upsert", "update"):
        raise PushRefused(
            "meta.lht_push.assignment_rule_id applies to insert, upsert and update pushes only."
        )
    text = str(value)
    if text.lower() == DEFAULT_RULE:
        return DEFAULT_RULE
    if not _RULE_ID.fullmatch(text):
        raise PushRefused(
            f"meta.lht_push.assignment_rule_id must be an AssignmentRule Id (01Q..., 15 or 18 "
            f"characters) or `default` for the active rule, not {value!r}."
        )
    return text


def check_columns(columns: Sequence[str]) -> None:
    """PushRefused naming the first column of the model (as stored) that is not a push
    column name (``lht.names.check_push_column``) or that starts with ``_lht_``."""
    for column in columns:
        try:
            check_push_column(column)
        except ConfigError as exc:
            raise PushRefused(str(exc)) from None
        if column.lower().startswith("_lht_"):
            raise PushRefused(
                f"column {column!r} starts with `_lht_`, which the change set uses for its own "
                "columns: rename it in the model."
            )
