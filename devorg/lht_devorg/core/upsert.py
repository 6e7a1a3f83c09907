"""Upsert on an external id, and transactions around a batch of record writes.

Salesforce's upsert matches the value of an external-id (or idLookup) field: no live
record matches -> insert, with that field set; one -> update; several -> the call fails
(REST answers 300 Multiple Choices, a batch reports DUPLICATE_EXTERNAL_ID for the row).
Used through :class:`~.engine.OrgEngine`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import OrgError
from . import records, validate

if TYPE_CHECKING:
    from .store import OrgStore


class MultipleMatches(OrgError):
    """More than one record has the external-id value (REST: 300 Multiple Choices)."""

    def __init__(self, label: str, record_ids: list[str]) -> None:
        super().__init__(
            300,
            "DUPLICATE_EXTERNAL_ID",
            f"{label}: more than one record found for external id field: {record_ids}",
            [],
        )
        self.record_ids = record_ids


def matching_ids(eng: OrgStore, obj_name: str, field: str, value: object) -> list[str]:
    """Ids of the live records of ``obj_name`` whose external-id ``field`` is ``value``."""
    obj = eng.schema.require(obj_name)
    f = validate.external_id_field(obj, field)
    with eng._lock:
        return validate.find_ids(eng, obj, f, value)


def upsert(
    eng: OrgStore, obj_name: str, field: str, value: object, values: dict
) -> tuple[str, bool]:
    """Insert or update the record whose ``field`` is ``value``: (its Id, created?)."""
    with eng._lock:
        obj = eng.schema.require(obj_name)
        f = validate.external_id_field(obj, field)
        if value is None or str(value) == "":
            raise OrgError(400, "MISSING_ARGUMENT", f"{f['name']} not specified", [f["name"]])
        found = validate.find_ids(eng, obj, f, value)
        if len(found) > 1:
            raise MultipleMatches(f["label"], found)
        body = {
            k: v
            for k, v in values.items()
            if k.lower() not in (f["name"].lower(), "id", "attributes")
        }
        if found:
            records.update(eng, obj.name, found[0], body)
            return found[0], False
        if f["type"] == "id":
            raise OrgError(404, "NOT_FOUND", "The requested resource does not exist")
        body[f["name"]] = value
        return records.create(eng, obj.name, body), True


@contextmanager
def transaction(eng: OrgStore) -> Iterator[None]:
    """One database transaction around many record writes (rolled back on an exception).

    Holds the store's write lock throughout, so keep each transaction short (a few thousand
    records). Inside a transaction already open on the store's connection (a ``/composite``
    request with allOrNone), the writes join it: the outer transaction commits or rolls back.
    """
    nested = eng._lock._is_owned()  # type: ignore[attr-defined]  # this thread is inside a write already
    with eng._lock:
        if nested:
            yield  # the open transaction (if any) commits or rolls back
            return
        eng._con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            eng._con.execute("ROLLBACK")
            raise
        eng._con.execute("COMMIT")


class Rollback(Exception):
    """Raised inside :func:`transaction` to undo its writes (allOrNone)."""
