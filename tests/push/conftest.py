"""Fixtures for `lht push`: a small local org, a workspace with push models added to its dbt
project, and helpers that run `lht push` as a user does and read what the org holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import Run, Workspace, make_workspace

from lht_devorg import DevOrg

COUNTS = {
    "User": 3,
    "Account": 40,
    "Contact": 5,
    "Lead": 1,
    "Opportunity": 1,
    "Case": 1,
    "Task": 1,
    "Invoice__c": 1,
    "Attachment": 0,
}
WRITES = ("POST", "PATCH", "PUT", "DELETE")


class PushWorkspace:
    """A workspace whose project gains push models (``models/push_tests/``)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.org = ws.org
        self.models = ws.project / "models" / "push_tests"
        self.models.mkdir(parents=True, exist_ok=True)

    def model(self, name: str, sql: str, *, changes: bool = True, **push: Any) -> None:
        """Write a push model (table materialization) with ``meta.lht_push = push`` and, unless
        ``changes`` is false, its change-set view as the README writes it."""
        meta = json.dumps({"lht_push": push}) if push else "{}"
        (self.models / f"{name}.sql").write_text(
            f"{{{{ config(materialized='table', meta={meta}) }}}}\n{sql}\n"
        )
        if changes:
            (self.models / f"{name}__lht_changes.sql").write_text(
                f"{{{{ lht.lht_push_changes('{name}') }}}}\n"
            )

    def build(self, *select: str, check: bool = True) -> Run:
        """``dbt build`` of the named push models and their change-set views (``name+``), or of
        every push model; with Account and lht_push_results."""
        chosen = [f"{name}+" for name in select] or ["push_tests"]
        return self.ws.build("--select", "account", "lht_push_results", *chosen, check=check)

    def push(self, *args: str, env: dict[str, str] | None = None, code: int | None = 0) -> Run:
        run = self.ws.run(
            "lht",
            "push",
            "--json",
            "--project-dir",
            str(self.ws.project),
            "--profiles-dir",
            str(self.ws.profiles),
            *args,
            extra_env={"LHT_RETRY_BACKOFF": "0.05", **(env or {})},
        )
        if code is not None:
            assert run.returncode == code, (
                f"exit {run.returncode}:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
            )
        return run

    def result(self, run: Run, name: str) -> dict[str, Any]:
        return next(r for r in run.report["results"] if r["name"] == name)

    def writes(self) -> list[tuple[str, str]]:
        """Write calls the org received so far."""
        return [
            (m, p) for m, p in self.org.faults.requests() if m in WRITES and "/jobs/query" not in p
        ]

    def accounts(self, *columns: str, where: str = "true") -> list[tuple]:
        cols = ", ".join(f'"{c}"' for c in columns)
        return (
            self.org.engine.cursor()
            .execute(
                f'select {cols} from {self.org.engine.table("Account")} where {where} order by "Id"'
            )
            .fetchall()
        )

    def results(self, where: str = "true") -> list[dict[str, Any]]:
        names, rows = self.ws.query(
            f"select * from salesforce_staging._lht_push_results where {where}"
        )
        return [dict(zip(names, r, strict=True)) for r in rows]


@pytest.fixture
def push_org() -> Iterator[DevOrg]:
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.1) as running:
        yield running


def make_push_ws(
    engine: str, root: Path, org: DevOrg, fakesnow: dict | None = None
) -> PushWorkspace:
    ws = make_workspace(engine, root, org, fakesnow)
    ws.sync("Account")
    return PushWorkspace(ws)


@pytest.fixture
def pws(push_org: DevOrg, tmp_path: Path) -> PushWorkspace:
    """A push workspace on DuckDB with Account synced."""
    return make_push_ws("duckdb", tmp_path, push_org)


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def pws_any(request: pytest.FixtureRequest, push_org: DevOrg, tmp_path: Path) -> PushWorkspace:
    """A push workspace on DuckDB and on the Snowflake dialect (fakesnow)."""
    fakesnow = request.getfixturevalue("fakesnow_server") if request.param == "snowflake" else None
    return make_push_ws(request.param, tmp_path, push_org, fakesnow)


#: Force Bulk API 2.0 ingest for any change set.
BULK = {"LHT_PUSH_BULK_MIN_ROWS": "1"}
ENGINES = [pytest.param({}, id="collections"), pytest.param(BULK, id="bulk")]
