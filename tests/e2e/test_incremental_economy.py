"""A second run fetches only what changed (plus the late-commit overlap, when the newest
change is younger than it) and spends about one call per object: rows fetched and API
calls are pinned exactly. These pins are for separate calls (``LHT_COMPOSITE=0``); the
grouped checks have their own in test_composite_economy.py."""

from __future__ import annotations

from pathlib import Path

import duckdb

from lht_devorg import DevOrg

from .conftest import make_workspace

STARTERS = ("Account", "Case", "Contact", "Lead", "Opportunity", "Task", "User")
SEPARATE = {"LHT_COMPOSITE": "0"}


def _watermarks(path: str) -> dict[str, object]:
    con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute(
            "select object_name, watermark from salesforce_staging._lht_state"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def _expected_rows(org: DevOrg, obj: str, watermark) -> int:
    """What `SystemModstamp >= <watermark second>` over queryAll returns in the org now."""
    second = watermark.replace(microsecond=0, tzinfo=None)
    sql = f'select count(*) from {org.engine.table(obj)} where "SystemModstamp" >= ?'
    return org.engine.cursor().execute(sql, [second]).fetchone()[0]


def test_second_run_fetches_only_changed_rows_and_spends_one_call_per_object_and_check(
    org: DevOrg, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    first = ws.sync().report
    assert {r["mode"] for r in first["results"]} == {"full"}
    assert {r["object_name"]: r["rows_written"] for r in first["results"]} == {
        obj: org.engine.count(obj, include_deleted=True) for obj in STARTERS
    }

    created = [org.engine.create("Account", {"Name": f"New {i}"}) for i in range(5)]
    contacts = (
        org.engine.cursor()
        .execute(f'select "Id" from {org.engine.table("Contact")} limit 3')
        .fetchall()
    )
    for (contact_id,) in contacts:
        org.engine.update("Contact", contact_id, {"Title": "Changed"})
    watermarks = _watermarks(str(ws.duckdb_path))

    second = ws.sync(extra_env=SEPARATE).report
    rows = {r["object_name"]: r["rows_written"] for r in second["results"]}
    for obj in STARTERS:
        assert rows[obj] == _expected_rows(org, obj, watermarks[obj]), obj
    assert rows["Account"] < org.engine.count("Account", include_deleted=True) / 2, (
        "the second run re-read Account"
    )
    # the seed's newest second is long settled: nothing of the objects left alone is read again
    assert {obj: rows[obj] for obj in STARTERS if obj not in ("Account", "Contact")} == {
        obj: 0 for obj in STARTERS if obj not in ("Account", "Contact")
    }
    assert {r["mode"] for r in second["results"]} == {"incremental"}
    # one REST page + one getDeleted per object, + one describeGlobal If-Modified-Since for the run
    assert {r["object_name"]: r["api_calls"] for r in second["results"]} == {
        obj: 2 for obj in STARTERS
    }
    assert second["api_calls"] == 2 * len(STARTERS) + 1

    spaced = ws.sync(extra_env={**SEPARATE, "LHT_DELETED_CHECK_EVERY": "3600"}).report
    assert spaced["api_calls"] == len(STARTERS) + 1, (
        "hard-delete checks spaced out still spent calls"
    )
    _, staged = ws.query('select distinct "Id" from salesforce_staging.account')
    assert set(created) <= {row[0] for row in staged}, "the new records were not staged"
