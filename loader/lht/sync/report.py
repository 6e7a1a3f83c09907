"""The run report: what each object's sync did, as a table for people and JSON for schedulers,
and as rows of the run history (``_lht_runs``, :mod:`lht.warehouse.runs`).

API calls are whole: an object's ``api_calls`` are the calls it made alone plus each
Composite change check it was the first object of (a Composite call serves up to five
objects and counts once, on the first; ``api_calls_shared`` says how many of an object's
calls were such); ``run_api_calls`` are the calls no object made (describeGlobal, a login,
the org's limits). The objects' calls plus the run's are the run's real calls,
``api_calls``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from lht.warehouse.runs import SYNC, RunRow, new_run_id

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass
class ObjectResult:
    """One object's outcome in a run. ``rows_written`` counts rows really written to staging."""

    object_name: str
    status: str = SKIPPED
    mode: str = "incremental"  # incremental | full | formulas
    engine: str | None = None  # rest | bulk
    #: the Bulk job the records were read from, and whether it was taken up from a run
    #: that did not finish (no new query job)
    bulk_job_id: str | None = None
    bulk_job_reused: bool = False
    rows_extracted: int = 0
    #: rows written to staging: records, and partial rows (formulas, new fields, left the filter)
    rows_written: int = 0
    #: of the records written, those Salesforce returned with IsDeleted = true (recycle bin)
    records_marked_deleted: int = 0
    #: delete markers written: records Salesforce no longer returns (hard-deleted, purged)
    delete_markers: int = 0
    #: whole calls: made alone, plus the Composite change checks this object was the first of
    api_calls: int = 0
    #: of ``api_calls``, the Composite calls that also served other objects
    api_calls_shared: int = 0
    duration_seconds: float = 0.0
    watermark: str | None = None
    skipped_fields: dict[str, str] = field(default_factory=dict)
    #: Fields describe shows for the first time (backfilled for every record this run).
    fields_added: list[str] = field(default_factory=list)
    #: Fields describe no longer shows (access revoked or deleted): columns and last values kept.
    fields_removed: list[str] = field(default_factory=list)
    error: str | None = None
    #: True when the object's ``where`` filter is not the one of its last successful sync:
    #: the records the new filter admits were read whatever their age (see ``notes``)
    filter_changed: bool = False
    #: Things worth knowing that are not failures (e.g. how deletions are found).
    notes: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    """A whole ``lht sync`` run."""

    started_at: datetime
    finished_at: datetime | None = None
    target: str | None = None
    results: list[ObjectResult] = field(default_factory=list)
    #: the run's real calls: the objects' plus ``run_api_calls``
    api_calls: int = 0
    #: calls no object made: describeGlobal, a login, the org's limits
    run_api_calls: int = 0
    api_usage: tuple[int, int] | None = None
    error: str | None = None
    run_id: str = field(default_factory=new_run_id)

    @property
    def ok(self) -> bool:
        """True only when every object synced and the run itself did not fail."""
        return (
            self.error is None and bool(self.results) and all(r.status == OK for r in self.results)
        )

    @property
    def exit_code(self) -> int:
        """0 every object synced, 1 some object (or the run) failed."""
        return 0 if self.ok else 1

    @property
    def seconds(self) -> float:
        """The run's wall time."""
        end = self.finished_at or datetime.now(timezone.utc)
        return round((end - self.started_at).total_seconds(), 3)

    def finish(
        self, total_calls: int, api_usage: tuple[int, int] | None, finished_at: datetime
    ) -> None:
        """Close the report: the run's real calls, and those no object made."""
        self.finished_at = finished_at
        self.api_calls = total_calls
        self.api_usage = api_usage
        self.run_api_calls = max(total_calls - sum(r.api_calls for r in self.results), 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC strings), with the run's totals."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["api_usage"] = (
            {"used": self.api_usage[0], "max": self.api_usage[1]} if self.api_usage else None
        )
        data["ok"] = self.ok
        data["exit_code"] = self.exit_code
        data["seconds"] = self.seconds
        data["rows_written"] = sum(r.rows_written for r in self.results)
        data["records_marked_deleted"] = sum(r.records_marked_deleted for r in self.results)
        data["delete_markers"] = sum(r.delete_markers for r in self.results)
        return data

    def run_rows(self) -> list[RunRow]:
        """The run's rows of ``_lht_runs``: one per object, then the run's own."""
        end = self.finished_at or datetime.now(timezone.utc)
        used, limit = self.api_usage or (None, None)

        def row(object_name: str | None, outcome: str, **counts: Any) -> RunRow:
            return RunRow(
                run_id=self.run_id,
                command=SYNC,
                object_name=object_name,
                started_at=self.started_at,
                finished_at=end,
                outcome=outcome,
                exit_code=self.exit_code,
                api_usage_used=used,
                api_usage_limit=limit,
                **counts,
            )

        rows = [
            row(
                r.object_name,
                r.status,
                mode=r.mode,
                engine=r.engine,
                seconds=r.duration_seconds,
                rows_written=r.rows_written,
                api_calls=r.api_calls,
                api_calls_shared=r.api_calls_shared,
                error_message=r.error,
                rows_extracted=r.rows_extracted,
                delete_markers=r.delete_markers,
                records_marked_deleted=r.records_marked_deleted,
                fields_added=", ".join(r.fields_added) or None,
                fields_removed=", ".join(r.fields_removed) or None,
            )
            for r in self.results
        ]
        rows.append(
            row(
                None,
                OK if self.ok else FAILED,
                seconds=self.seconds,
                api_calls=self.run_api_calls,
                error_message=self.error,
            )
        )
        return rows
