"""OrgEngine: the local org's store with its operations as methods.

:class:`~.store.OrgStore` holds the database, the metadata and the queries; records
(:mod:`.records`), seeding (:mod:`.seed`), schema changes (:mod:`.metachange`) and Bulk
streams (:mod:`.stream`) are modules that work on a store. This class sits above all of
them and offers them as methods, so the modules import the store and never this class.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

from . import merging, metachange, records, stream, upsert
from . import seed as seeding
from .store import BASE_TIME, OrgStore, ResultSet

__all__ = ["BASE_TIME", "OrgEngine", "ResultSet"]

log = logging.getLogger(__name__)


class OrgEngine(OrgStore):
    """All org data and metadata, in an embedded DuckDB database, with its operations. Thread-safe."""

    def seed(self, counts: Mapping[str, int] | None = None, *, seed: int = 1) -> None:
        """Replace all data with the deterministic seed (same counts + seed -> same data)."""
        with self._lock:
            for name in self.objects():
                self._create_table(name, replace=True)
            self._con.execute("DELETE FROM _org_deleted")
            self._con.execute("DELETE FROM _org_counter")
            resolved = seeding.resolve_counts(counts)
            log.info(
                "seeding the local org: %s", ", ".join(f"{k}={v:,}" for k, v in resolved.items())
            )
            seeding.seed(self, resolved, seed)

    def stream_csv(
        self, soql: str, *, include_deleted: bool, chunk_rows: int
    ) -> AbstractContextManager[stream.CsvStream]:
        """A Bulk query's rows as CSV text, straight from its object's table (see :mod:`.stream`)."""
        return stream.stream_csv(self, soql, include_deleted=include_deleted, chunk_rows=chunk_rows)

    def get_record(
        self,
        obj: str,
        record_id: str,
        fields: list[str] | None = None,
        *,
        api_version: str = "59.0",
    ) -> dict:
        """One record as REST's GET sobjects/NAME/ID returns it (404 NOT_FOUND if absent)."""
        return records.get_record(self, obj, record_id, fields, api_version=api_version)

    def create(self, obj: str, values: dict) -> str:
        """Insert a record; returns its 18-character Id."""
        return records.create(self, obj, values)

    def update(self, obj: str, record_id: str, values: dict) -> None:
        """Update fields of a record (LastModifiedDate and SystemModstamp move)."""
        records.update(self, obj, record_id, values)

    def delete(self, obj: str, record_id: str) -> None:
        """Soft delete: IsDeleted = true, into the recycle bin; SystemModstamp moves."""
        records.delete(self, obj, record_id)

    def undelete(self, obj: str, record_id: str) -> None:
        """Restore a record from the recycle bin; SystemModstamp moves again."""
        records.undelete(self, obj, record_id)

    def purge(self, obj: str, record_ids: Sequence[str]) -> None:
        """Hard delete: the rows are gone (queryAll no longer sees them); deleted() lists them."""
        records.purge(self, obj, record_ids)

    def deleted(self, obj: str, start: dt.datetime, end: dt.datetime) -> dict:
        """The getDeleted body for ``start``..``end``."""
        return records.deleted(self, obj, start, end)

    def updated(self, obj: str, start: dt.datetime, end: dt.datetime) -> dict:
        """The getUpdated body for ``start``..``end``."""
        return records.updated(self, obj, start, end)

    def upsert(self, obj: str, field: str, value: object, values: dict) -> tuple[str, bool]:
        """Insert or update the record whose external-id ``field`` is ``value``: (Id, created?)."""
        return upsert.upsert(self, obj, field, value, values)

    def matching_ids(self, obj: str, field: str, value: object) -> list[str]:
        """Ids of the live records whose external-id (or idLookup) ``field`` equals ``value``."""
        return upsert.matching_ids(self, obj, field, value)

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction (and the write lock) around several writes; rolled back on an exception."""
        return upsert.transaction(self)

    def add_objects(self, objects: Sequence[tuple[str, str]]) -> None:
        """Add empty custom objects ``(name, key prefix)`` (audit fields and a Name), with tables."""
        metachange.add_objects(self, objects)

    def add_field(self, obj: str, field: dict) -> None:
        """Add a field (describe-shaped dict, completed to 57 keys) and its column."""
        metachange.add_field(self, obj, field)

    def remove_field(self, obj: str, name: str) -> None:
        """Remove a field and its column."""
        metachange.remove_field(self, obj, name)

    def change_field_type(self, obj: str, name: str, changes: dict) -> None:
        """Change a field's type (values converted, SystemModstamp unchanged)."""
        metachange.change_field_type(self, obj, name, changes)

    def set_field_visible(self, obj: str, name: str, visible: bool) -> None:
        """Hide a field from the API user or show it again (values kept)."""
        metachange.set_field_visible(self, obj, name, visible)

    def set_object_flags(self, obj: str, flags: dict) -> None:
        """Set describe flags of an object (replicateable, deletable...); the API follows."""
        metachange.set_object_flags(self, obj, flags)

    def change_formula_silently(
        self, obj: str, field: str, record_ids: Sequence[str] | None = None
    ) -> None:
        """Change a formula field's values without moving SystemModstamp or LastModifiedDate."""
        metachange.change_formula_silently(self, obj, field, record_ids)

    def merge(
        self, obj: str, master_id: str, loser_ids: Sequence[str], values: dict | None = None
    ) -> merging.MergeOutcome:
        """SOAP merge(): losers into the master, children re-parented, losers recycled with
        MasterRecordId set, in one transaction (OrgError with the MergeResult's status code)."""
        return merging.merge(self, obj, master_id, loser_ids, values)
