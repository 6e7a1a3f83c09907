"""What the write-back runs (``lht push``, ``lht merge``) report: per model, then per run.

A model's counts (considered, sent, created, updated, deleted, failed, unchanged), its
refusals, API calls and time; the run's outcome and exit code, for people and as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

OK = "ok"
FAILED = "failed"  # some rows were rejected, or the model's run failed
REFUSED = "refused"  # configuration refused before any call: nothing sent, nothing written
DRY_RUN = "dry-run"


@dataclass
class ModelReport:
    """One write-back model's outcome in a run."""

    name: str
    object_name: str
    operation: str
    status: str = OK
    engine: str | None = None  # collections | bulk | None (nothing sent)
    considered: int = 0
    sent: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    unchanged: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    #: dry run: the counts the run would send (insert, update, delete)
    would: dict[str, int] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the first row errors, for people
    error: str | None = None  # why the model failed as a whole


@dataclass
class WritebackReport:
    """A whole ``lht push`` (or ``lht merge``) run."""

    command: str
    started_at: datetime
    finished_at: datetime | None = None
    target: str | None = None
    dry_run: bool = False
    results: list[ModelReport] = field(default_factory=list)
    api_calls: int = 0

    @property
    def exit_code(self) -> int:
        """0 all accepted, 2 something refused (configuration), 1 rows or a model failed."""
        if any(r.status == REFUSED for r in self.results):
            return 2
        if any(r.status == FAILED for r in self.results):
            return 1
        return 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC strings)."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["ok"] = self.ok
        data["exit_code"] = self.exit_code
        return data
