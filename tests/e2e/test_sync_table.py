"""The table `lht sync` prints says what each column counts: rows staged, of them records
Salesforce marks deleted (IsDeleted), delete markers for records gone from it; API calls
are whole; the summary gives the run's totals (rows, calls, time); a failed object is a row
of its own with its error on a line, and the next step is shown only when every object
synced. Run as the README writes it, from the folder holding dbt_project/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lht_devorg import DevOrg, ShiftedClock

from .conftest import BIN, Workspace, make_workspace

COUNTS = {
    "User": 3,
    "Account": 30,
    "Contact": 20,
    "Lead": 5,
    "Opportunity": 5,
    "Case": 5,
    "Task": 5,
    "Invoice__c": 1,
    "Attachment": 0,
}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.1, clock=ShiftedClock()) as org:
        yield make_workspace("duckdb", tmp_path, org)


def _sync(ws: Workspace) -> str:
    """`lht sync --project-dir dbt_project --profiles-dir dbt_project`, as the README has it."""
    done = subprocess.run(
        [str(BIN / "lht"), "sync", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
        cwd=ws.root,
        env=ws.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _row(table: str, name: str) -> list[str]:
    line = next(line for line in table.splitlines() if re.search(rf"[│┃|]\s*{name}\s*[│┃|]", line))
    return [cell.strip() for cell in re.split(r"[│┃|]", line)[1:-1]]


def _header(table: str) -> list[str]:
    line = next(line for line in table.splitlines() if "object" in line and "outcome" in line)
    return [cell.strip() for cell in re.split(r"[│┃|]", line)[1:-1]]


def test_the_sync_table_names_what_it_counts_and_totals_the_run(ws: Workspace) -> None:
    org = ws.org
    ids = [org.engine.create("Account", {"Name": f"Counted {i}"}) for i in range(4)]
    for record_id in ids[:2]:  # in the recycle bin: staged as records with IsDeleted = true
        org.engine.delete("Account", record_id)
    first = _sync(ws)
    header = _header(first)
    assert header == [
        "object",
        "outcome",
        "mode",
        "engine",
        "rows staged",
        "marked deleted",
        "delete markers",
        "API calls",
        "seconds",
    ]
    account = dict(zip(header, _row(first, "Account"), strict=True))
    marked = (
        org.engine.cursor()
        .execute(f'select count(*) from {org.engine.table("Account")} where "IsDeleted"')
        .fetchone()[0]
    )
    assert int(account["marked deleted"]) == marked >= 2
    assert account["delete markers"] == "0"

    org.engine.purge("Account", ids[2:])  # gone for good: the next run writes delete markers
    org.clock.advance(61)  # getDeleted covers whole minutes
    second = _sync(ws)
    account = dict(zip(header, _row(second, "Account"), strict=True))
    # getDeleted lists the purged records (and the recycled ones of the overlap window)
    assert int(account["delete markers"]) >= 2
    for run in (first, second):
        calls = [
            _row(run, name)[header.index("API calls")]
            for name in ("Account", "Case", "Contact", "Lead", "Opportunity", "Task", "User")
        ]
        assert all(re.fullmatch(r"\d+", c) for c in calls), f"API calls are not whole: {calls}"
        total = re.search(
            r"Total: 7 objects, ([\d,]+) rows staged \(([\d,]+) marked deleted\), ([\d,]+) delete "
            r"markers, (\d+) API calls, ([\d.]+) s\.",
            run,
        )
        assert total, run
        split = re.search(r"API calls: (\d+) by the objects \+ (\d+) by the run itself", run)
        assert split and int(split[1]) == sum(int(c) for c in calls), (
            "the objects' calls do not add up"
        )
        assert int(split[1]) + int(split[2]) == int(total[4])
    assert "Composite change check" in second, "the summary says how shared calls are counted"


def _sync_two(ws: Workspace, *objects: str) -> tuple[int, str, int]:
    """Exit code and output of `lht sync OBJECTS` as the README has it, and the calls the org
    received meanwhile (one try per call: LHT_MAX_RETRIES=0)."""
    before = len(ws.org.faults.requests())
    done = subprocess.run(
        [
            str(BIN / "lht"),
            "sync",
            *objects,
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
        ],
        cwd=ws.root,
        env={**ws.env, "LHT_MAX_RETRIES": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, len(ws.org.faults.requests()) - before


def test_a_failed_object_shows_in_the_table_with_its_error_and_the_next_step_only_once_all_synced(
    ws: Workspace,
) -> None:
    ws.org.faults.add("unavailable", path="/sobjects/Contact/describe", times=100)
    code, out, received = _sync_two(ws, "Account", "Contact")
    assert code == 1
    header = _header(out)
    account = dict(zip(header, _row(out, "Account"), strict=True))
    contact = dict(zip(header, _row(out, "Contact"), strict=True))
    staged = f"{ws.org.engine.count('Account', include_deleted=True):,}"  # every record, the recycle bin's too
    assert (account["outcome"], account["mode"], account["rows staged"]) == ("ok", "full", staged)
    assert (contact["outcome"], contact["rows staged"]) == ("failed", "0")
    error = [line for line in out.splitlines() if line.startswith("Contact:")]
    assert len(error) == 1 and "503" in error[0] and "Contact" in error[0][len("Contact:") :], out
    total = re.search(r"Total: 2 objects, [\d,]+ rows staged .*, (\d+) API calls", out)
    assert total and int(total[1]) == received, f"the org received {received} calls: {out}"
    assert "Every object synced" not in out and "dbt build" not in out

    ws.org.faults.clear()
    code, out, received = _sync_two(ws, "Account")
    assert code == 0, out
    account = dict(zip(header, _row(out, "Account"), strict=True))
    assert (
        account["outcome"],
        account["mode"],
        account["rows staged"],
        account["delete markers"],
    ) == ("ok", "incremental", "0", "0")
    assert (
        out.rstrip().splitlines()[-1]
        == "Every object synced. Next: `dbt build` merges staging into the main tables."
    )
