"""The run report: what each object's sync did, as a table for people and JSON for schedulers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

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
    rows_extracted: int = 0
    rows_written: int = 0
    deleted_markers: int = 0
    #: calls spent on this object; a Composite call shared by several objects is split among them
    api_calls: float = 0
    duration_seconds: float = 0.0
    watermark: str | None = None
    skipped_fields: dict[str, str] = field(default_factory=dict)
    #: Fields describe shows for the first time (backfilled for every record this run).
    fields_added: list[str] = field(default_factory=list)
    #: Fields describe no longer shows (access revoked or deleted): columns and last values kept.
    fields_removed: list[str] = field(default_factory=list)
    error: str | None = None
    #: Things worth knowing that are not failures (e.g. how deletions are found).
    notes: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    """A whole ``lht sync`` run."""

    started_at: datetime
    finished_at: datetime | None = None
    target: str | None = None
    results: list[ObjectResult] = field(default_factory=list)
    api_calls: int = 0
    api_usage: tuple[int, int] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True only when every object synced and the run itself did not fail."""
        return self.error is None and bool(self.results) and all(r.status == OK for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC strings)."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["api_usage"] = (
            {"used": self.api_usage[0], "max": self.api_usage[1]} if self.api_usage else None
        )
        data["ok"] = self.ok
        data["rows_written"] = sum(r.rows_written for r in self.results)
        return data
