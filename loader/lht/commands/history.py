"""The run history read back: ``_lht_runs`` rows summed up per run, for ``lht status`` and
``lht report`` (the dbt models ``lht_runs`` and ``lht_api_usage`` hold the same data)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

OK = "ok"


@dataclass
class RunSummary:
    """One run: its own row's outcome, its objects' (or models') totals."""

    run_id: str
    command: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    exit_code: int
    seconds: float | None = None
    items: int = 0  # objects (sync) or models (push, merge)
    rows_written: int = 0
    api_calls: int = 0
    failed: list[str] = field(default_factory=list)  # objects or models whose outcome is not ok
    error: str | None = None  # the run's own error, else the first object's or model's

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC strings)."""
        data = asdict(self)
        data["started_at"], data["finished_at"] = (
            self.started_at.isoformat(),
            self.finished_at.isoformat(),
        )
        return data


def summarize(rows: Iterable[dict[str, Any]]) -> list[RunSummary]:
    """Per run (newest first, as ``rows`` come): outcome, totals, failed names, first error."""
    runs: dict[str, RunSummary] = {}
    for row in rows:
        run = runs.get(row["run_id"])
        if run is None:
            run = runs[row["run_id"]] = RunSummary(
                run_id=row["run_id"],
                command=row["command"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                outcome=row["outcome"],
                exit_code=int(row["exit_code"] or 0),
            )
        run.api_calls += int(row["api_calls"] or 0)
        run.rows_written += int(row["rows_written"] or 0)
        if row["object_name"] is None:
            run.outcome, run.seconds = row["outcome"], row["seconds"]
            run.error = row["error_message"] or run.error
            continue
        run.items += 1
        if row["outcome"] != OK:
            run.failed.append(row["object_name"])
            if run.error is None and row["error_message"]:
                run.error = f"{row['object_name']}: {row['error_message']}"
    return list(runs.values())


def one_line(text: str | None, width: int = 160) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def utc_day(when: datetime) -> date:
    """The UTC date of an aware datetime."""
    return when.astimezone(timezone.utc).date()
