"""Fixtures for `lht merge`: a small org holding the seeded duplicate Accounts, workspaces
with merge models written into their copy of the dbt project, and `lht merge` run as a
subprocess exactly as a user runs it."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import Run, Workspace

from lht_devorg import DevOrg

#: Every object present, Accounts enough for the seeded duplicates (numbers 40 to 61).
MERGE_COUNTS = {
    "User": 5,
    "Account": 80,
    "Contact": 60,
    "Lead": 10,
    "Opportunity": 40,
    "Case": 20,
    "Task": 60,
    "Invoice__c": 5,
    "Attachment": 0,
}

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_merge_section() -> str:
    """The README's "Merge duplicates" section."""
    text = README.read_text(encoding="utf-8")
    return text.split("## Merge duplicates\n", 1)[1].split("\n## ", 1)[0]


def readme_block(lang: str) -> str:
    """The first ``lang`` code block of the README's merge section."""
    match = re.search(rf"```{lang}\n(.*?)```", readme_merge_section(), re.S)
    assert match, f"the README's merge section has no {lang} block"
    return match.group(1)


#: The README's example: live Accounts sharing Name, Website and Phone; the oldest survives
#: (the model file its first bash block writes).
DEDUP_SQL = re.search(r"<<'EOF'\n(.*?)^EOF$", readme_block("bash"), re.S | re.M).group(1)


@pytest.fixture
def merge_org() -> Iterator[DevOrg]:
    """A fresh small org with the seeded duplicate Accounts."""
    with DevOrg(counts=MERGE_COUNTS, bulk_job_seconds=0.1) as running:
        yield running


def add_merge_model(ws: Workspace, name: str, sql: str) -> None:
    """Write ``models/merges/<name>.sql`` into the workspace's copy of the project."""
    folder = ws.project / "models" / "merges"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.sql").write_text(textwrap.dedent(sql).strip() + "\n")


def literal_model(object_name: str, rows: list[tuple[str | None, str | None]]) -> str:
    """A merge model returning ``rows`` as (MasterId, LoserId)."""

    def lit(value: str | None) -> str:
        return "cast(null as varchar)" if value is None else "'" + value.replace("'", "''") + "'"

    selects = " union all ".join(
        f"select {lit(m)} as MasterId, {lit(loser)} as LoserId" for m, loser in rows
    )
    return (
        f"{{{{ config(materialized='table', meta={{'lht_merge': {{'object': '{object_name}'}}}}) }}}}\n"
        f"{selects}\n"
    )


def merge(ws: Workspace, *args: str, extra_env: dict[str, str] | None = None) -> Run:
    """``lht merge --json ARGS`` on the workspace (no check of the exit code)."""
    return ws.run(
        "lht",
        "merge",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        *args,
        extra_env=extra_env,
    )


def report_of(run: Run) -> dict[str, Any]:
    """The JSON report of a merge run (fails the test with the output when there is none)."""
    try:
        return json.loads(run.stdout)
    except ValueError:
        raise AssertionError(
            f"no JSON report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        ) from None


def model_report(run: Run, name: str) -> dict[str, Any]:
    """One model's entry of a merge run's report."""
    return next(r for r in report_of(run)["results"] if r["name"] == name)


def soap_posts(org: DevOrg) -> int:
    """SOAP calls the org received so far."""
    return sum(
        1
        for method, path in org.faults.requests()
        if method == "POST" and "/services/Soap/" in path
    )


def org_row(org: DevOrg, obj: str, record_id: str, *columns: str) -> dict[str, Any]:
    """Columns of one record as the org stores it (recycle bin included)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    row = (
        org.engine.cursor()
        .execute(f'select {cols} from {org.engine.table(obj)} where "Id" = ?', [record_id])
        .fetchone()
    )
    assert row is not None, f"{obj} {record_id} is not in the org"
    return dict(zip(columns, row, strict=True))
