"""The ledger of Bulk query jobs (:class:`lht.salesforce.queryjobs.JobLedger`) kept in the
warehouse (:class:`lht.warehouse.bulkjobs.BulkJobStore`): the records extract of an object
records each query job it starts, and a run after a crash takes it up again."""

from __future__ import annotations

from lht.salesforce.queryjobs import JobRecord
from lht.warehouse.bulkjobs import BulkJobStore


class WarehouseJobLedger:
    """:class:`~lht.salesforce.queryjobs.JobLedger` on ``_lht_bulk_jobs``, for one run and thread."""

    def __init__(self, store: BulkJobStore, open_objects: set[str] | None = None) -> None:
        self.store = store
        #: objects with an open job when the run started (None: unknown, ask the table)
        self.open_objects = open_objects

    def open_jobs(self, object_name: str, operation: str, soql_digest: str) -> list[JobRecord]:
        if self.open_objects is not None and object_name.lower() not in self.open_objects:
            return []
        return [
            JobRecord(r.job_id, r.object_name, r.operation, r.soql_digest, r.created_at)
            for r in self.store.open_jobs(object_name, operation, soql_digest)
            if r.created_at is not None
        ]

    def started(self, record: JobRecord) -> None:
        self.store.started(
            record.job_id,
            record.object_name,
            record.operation,
            record.soql_digest,
            record.created_at,
        )

    def reused(self, job_id: str) -> None:
        self.store.reused(job_id)

    def unusable(self, job_id: str, reason: str) -> None:
        self.store.unusable(job_id, reason)
