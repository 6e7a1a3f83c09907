"""The watermark's late-commit overlap: a record whose SystemModstamp is older than the
newest one already loaded, but which became visible only after that run (a long
transaction committing late), is read by the next run as long as it is inside the overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lht_devorg import DevOrg

from .conftest import make_workspace

EMPTY = {obj: 0 for obj in ("Case", "Contact", "Lead", "Opportunity", "Task")}


def test_a_record_committed_late_inside_the_overlap_is_read_by_the_next_run(tmp_path: Path) -> None:
    moment: list[datetime | None] = [None]
    with DevOrg(
        counts={"Account": 40, "User": 3, **EMPTY},
        state_dir=tmp_path / "org",
        clock=lambda: moment[0] or datetime.now(UTC),
    ) as org:
        ws = make_workspace("duckdb", tmp_path, org)
        org.engine.create("Account", {"Name": "Changed just before the run"})
        first = ws.sync("Account").report
        assert first["results"][0]["rows_written"] == org.engine.count(
            "Account", include_deleted=True
        )

        moment[0] = datetime.now(UTC) - timedelta(minutes=2)  # its transaction began 2 minutes ago
        late = org.engine.create("Account", {"Name": "Committed late"})
        moment[0] = None

        second = ws.sync("Account").report
        assert second["results"][0]["mode"] == "incremental"
        _, staged = ws.query(
            "select \"Id\" from salesforce_staging.account where _lht_kind = 'record'"
        )
        assert late in {row[0] for row in staged}, (
            "the record committed late inside the overlap was lost"
        )
