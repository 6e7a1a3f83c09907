"""A push model's ``meta.lht_push`` options, checked before anything is computed or sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lht.errors import ConfigError
from lht.manifest import ModelNode
from lht.names import check_identifier, check_object_name, check_push_column, check_relation_part

OPERATIONS = ("insert", "update", "upsert", "delete", "hard_delete")
OPTIONS = frozenset({"object", "operation", "key", "clear_nulls", "mirror"})


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
        for part, what in ((node.database, "database"), (node.schema, "schema"), (node.identifier, "table")):
            if part:
                check_relation_part(part, what)
    except ConfigError as exc:
        raise PushRefused(str(exc)) from None
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise PushRefused(f"meta.lht_push has unknown option(s) {unknown}; allowed: {sorted(OPTIONS)}.")
    object_name = options.get("object")
    if not object_name:
        raise PushRefused("meta.lht_push.object is missing (the Salesforce object, e.g. Account).")
    try:
        check_object_name(str(object_name))
    except ConfigError as exc:
        raise PushRefused(f"meta.lht_push.object: {exc}") from None
    operation = str(options.get("operation") or "")
    if operation not in OPERATIONS:
        raise PushRefused(f"meta.lht_push.operation must be one of {', '.join(OPERATIONS)}, "
                          f"not {operation or 'missing'!r}.")
    key = options.get("key") or ("Id" if operation in ("update", "delete", "hard_delete") else None)
    if not key or not isinstance(key, str):
        raise PushRefused("meta.lht_push.key is missing: name the column that identifies a row "
                          "(an external-id field for upsert, any unique column for insert).")
    try:
        check_push_column(key, "meta.lht_push.key")
    except ConfigError as exc:
        raise PushRefused(str(exc)) from None
    if operation in ("update", "delete", "hard_delete") and key.lower() != "id":
        raise PushRefused(f"an {operation} push is keyed by Id, not {key!r}; use upsert to match "
                          "records by an external id.")
    mirror = _flag(options, "mirror")
    if mirror and operation not in ("insert", "upsert"):
        raise PushRefused("meta.lht_push.mirror applies to insert and upsert pushes only.")
    return PushSpec(name=model, relation=node.relation, object_name=str(object_name), operation=operation,
                    key=key, clear_nulls=_flag(options, "clear_nulls"), mirror=mirror)


def check_columns(columns: Sequence[str]) -> None:
    """PushRefused naming the first column of the model (as stored) that is not a push
    column name (``lht.names.check_push_column``) or that starts with ``_lht_``."""
    for column in columns:
        try:
            check_push_column(column)
        except ConfigError as exc:
            raise PushRefused(str(exc)) from None
        if column.lower().startswith("_lht_"):
            raise PushRefused(f"column {column!r} starts with `_lht_`, which the change set uses for its own "
                              "columns: rename it in the model.")
