"""What the write-back runs (``lht push``, ``lht merge``) report: per model, then per run.

A model's counts (considered, sent, created, updated, deleted, failed, unchanged), its
refusals, API calls and time; the run's outcome and exit code, for people and as JSON, and
as rows of the run history (``_lht_runs``, :mod:`lht.warehouse.runs`). ``rows_written`` is
what Salesforce accepted: created + updated + deleted for a push, the losers merged for a
merge. A model's ``api_calls`` are those made while it ran; ``run_api_calls`` those no model
made (a login before the first model), so the models' calls plus the run's are the run's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from lht.warehouse.runs import RunRow, new_run_id

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
    #: Bulk API batches the push used (Salesforce counts 10,000 records of an ingest job as one)
    bulk_batches: int = 0
    #: how the push was sent when it differs from the usual (e.g. by collections instead of Bulk)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # why the model failed as a whole

    @property
    def rows_written(self) -> int:
        """Rows Salesforce accepted (created, updated or deleted)."""
        return self.created + self.updated + self.deleted

    def run_counts(self) -> dict[str, Any]:
        """This model's columns of its ``_lht_runs`` row."""
        return {
            "mode": self.operation or None,
            "engine": self.engine,
            "rows_considered": self.considered,
            "rows_sent": self.sent,
            "rows_created": self.created,
            "rows_updated": self.updated,
            "rows_deleted": self.deleted,
            "rows_failed": self.failed,
            "rows_unchanged": self.unchanged,
        }

    def error_text(self) -> str | None:
        """Its refusals, its error and its first row errors, as one text (None: none)."""
        lines = [*self.refusals, *([self.error] if self.error else []), *self.errors]
        return "\n".join(lines) or None


@dataclass
class WritebackReport:
    """A whole ``lht push`` (or ``lht merge``) run."""

    command: str
    started_at: datetime
    finished_at: datetime | None = None
    target: str | None = None
    dry_run: bool = False
    results: list[ModelReport] = field(default_factory=list)
    #: the run's real calls: the models' plus ``run_api_calls``
    api_calls: int = 0
    #: calls no model made (a login before the first model)
    run_api_calls: int = 0
    api_usage: tuple[int, int] | None = None
    run_id: str = field(default_factory=new_run_id)

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

    def finish(
        self, total_calls: int, api_usage: tuple[int, int] | None, finished_at: datetime
    ) -> None:
        """Close the report: the run's real calls, and those no model made."""
        self.finished_at = finished_at
        self.api_calls = total_calls
        self.api_usage = api_usage or self.api_usage
        self.run_api_calls = max(total_calls - sum(r.api_calls for r in self.results), 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC strings), with the run's totals."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["api_usage"] = (
            {"used": self.api_usage[0], "max": self.api_usage[1]} if self.api_usage else None
        )
        for item, result in zip(data["results"], self.results, strict=True):
            item["rows_written"] = result.rows_written
        data["rows_written"] = sum(r.rows_written for r in self.results)
        data["ok"] = self.ok
        data["exit_code"] = self.exit_code
        return data

    def run_rows(self) -> list[RunRow]:
        """The run's rows of ``_lht_runs``: one per model, then the run's own."""
        end = self.finished_at or datetime.now(timezone.utc)
        used, limit = self.api_usage or (None, None)
        outcome = {0: OK, 1: FAILED}.get(self.exit_code, REFUSED)

        def row(name: str | None, status: str, **counts: Any) -> RunRow:
            return RunRow(
                run_id=self.run_id,
                command=self.command,
                object_name=name,
                started_at=self.started_at,
                finished_at=end,
                outcome=status,
                exit_code=self.exit_code,
                api_usage_used=used,
                api_usage_limit=limit,
                **counts,
            )

        rows = [
            row(
                r.name,
                r.status,
                seconds=r.seconds,
                rows_written=r.rows_written,
                api_calls=r.api_calls,
                error_message=r.error_text(),
                **r.run_counts(),
            )
            for r in self.results
        ]
        rows.append(
            row(
                None,
                outcome,
                seconds=round((end - self.started_at).total_seconds(), 3),
                api_calls=self.run_api_calls,
            )
        )
        return rows
