"""The run history table (`_lht_runs`): written through the one writer, read back per run
on every engine, and a DuckDB refusal kept aside while the file is in use, written by the
next run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lht.commands.history import summarize
from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.lock import run_lock
from lht.warehouse.runs import (
    RunRow,
    last_successes,
    read_runs,
    record_refusal,
    record_run,
    write_runs,
)
from lht.warehouse.target import Target

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _run(
    run_id: str, when: datetime, outcome: str = "ok", objects: tuple[str, ...] = ("Account",)
) -> list[RunRow]:
    rows = [
        RunRow(
            run_id,
            "sync",
            name,
            when,
            when + timedelta(seconds=9),
            outcome,
            0 if outcome == "ok" else 1,
            "incremental",
            "rest",
            4.5,
            10,
            2,
            1,
            None if outcome == "ok" else "boom",
            120,
            15000,
            rows_extracted=10,
            delete_markers=1,
            records_marked_deleted=2,
            fields_added="A__c, B__c",
        )
        for name in objects
    ]
    return [
        *rows,
        RunRow(
            run_id,
            "sync",
            None,
            when,
            when + timedelta(seconds=9),
            outcome,
            0 if outcome == "ok" else 1,
            seconds=9.0,
            api_calls=1,
        ),
    ]


def test_runs_are_read_back_newest_first_and_summed_per_run(wh: Warehouse) -> None:
    assert read_runs(wh, last=5) == [] and last_successes(wh) == {}, (
        "before the first run: nothing, no error"
    )
    write_runs(wh, _run("r1", NOW - timedelta(days=3), objects=("Account", "Contact")))
    write_runs(wh, _run("r2", NOW - timedelta(days=1), "failed"))
    write_runs(wh, _run("r3", NOW - timedelta(hours=1)))
    rows = read_runs(wh, last=2)
    assert [r["run_id"] for r in rows] == ["r3", "r3", "r2", "r2"]
    account = next(r for r in rows if r["object_name"] == "Account" and r["run_id"] == "r3")
    assert (
        account["started_at"] == NOW - timedelta(hours=1)
        and account["started_at"].tzinfo is not None
    )
    assert (
        account["rows_written"],
        account["api_calls"],
        account["api_calls_shared"],
        account["seconds"],
        account["fields_added"],
        account["rows_sent"],
    ) == (10, 2, 1, 4.5, "A__c, B__c", None)
    assert {r["run_id"] for r in read_runs(wh, since=NOW - timedelta(days=2))} == {"r2", "r3"}
    runs = summarize(read_runs(wh, last=3))
    assert [
        (r.run_id, r.outcome, r.items, r.rows_written, r.api_calls, r.failed) for r in runs
    ] == [
        ("r3", "ok", 1, 10, 3, []),
        ("r2", "failed", 1, 10, 3, ["Account"]),
        ("r1", "ok", 2, 20, 5, []),
    ]
    assert runs[1].error == "Account: boom"
    assert last_successes(wh) == {
        "Account": NOW - timedelta(hours=1),
        "Contact": NOW - timedelta(days=3),
    }


def _duck(tmp_path: Path) -> Target:
    return Target(
        kind="duckdb",
        name="dev",
        profile="lht",
        profiles_file=tmp_path / "profiles.yml",
        path=tmp_path / "lht.duckdb",
        database="lht",
    )


def _refusal(run_id: str) -> RunRow:
    return RunRow(
        run_id, "sync", None, NOW, NOW, "refused", 3, seconds=0.1, error_message="lock held"
    )


def test_a_duckdb_refusal_waits_beside_the_file_until_the_next_run_writes_it(
    tmp_path: Path,
) -> None:
    target = _duck(tmp_path)
    assert record_refusal(target, _refusal("x0")) == "skipped" and not target.path.exists(), (
        "a refusal created a warehouse"
    )
    connect(target).close()
    with run_lock(target):  # another run holds the target
        assert record_refusal(target, _refusal("x1")) == "spooled"
        assert record_refusal(target, _refusal("x2")) == "spooled"
    spool = tmp_path / "lht.duckdb.lht.runs-pending.jsonl"
    assert [json.loads(line)["run_id"] for line in spool.read_text().splitlines()] == ["x1", "x2"]
    assert record_refusal(target, _refusal("x3")) == "written", "a free target is written at once"
    wh = connect(target)
    try:
        assert {r["run_id"] for r in read_runs(wh, last=10)} == {"x1", "x2", "x3"}
        assert not list(tmp_path.glob("*runs-pending*"))
        record_run(wh, _run("r1", NOW))
        assert len(read_runs(wh, last=10)) == 5, "a spooled refusal was written twice"
    finally:
        wh.close()


def test_a_spool_whose_write_fails_is_kept_for_the_next_run(tmp_path: Path) -> None:
    target = _duck(tmp_path)
    connect(target).close()
    with run_lock(target):
        record_refusal(target, _refusal("x1"))
    closed = connect(target)
    closed.close()  # the warehouse refuses every statement
    assert record_run(closed, _run("r1", NOW)) is False
    assert list(tmp_path.glob("*runs-pending*")), "the spooled refusal was lost"
    wh = connect(target)
    try:
        assert record_run(wh, _run("r2", NOW)) is True
        assert {r["run_id"] for r in read_runs(wh, last=10)} == {"x1", "r2"}
        assert not list(tmp_path.glob("*runs-pending*"))
    finally:
        wh.close()
