"""A changed ``where`` filter is noticed (issue item 3): lht keeps the filter each object was
last synced with, and the next run reads every record the new filter admits, however old,
without a full reload; the run report says so. Narrowing flags the records the old filter
admitted and the new one does not (``_lht_in_filter = false``), however old too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import yaml
from e2e.conftest import Workspace

from lht_devorg import DevOrg, ShiftedClock

from .conftest import SMALL_COUNTS, state_rows

OBJ = "Account"
BANKING = "Industry = 'Banking'"
WIDER = "Industry != null"


@pytest.fixture
def banking_org() -> Iterator[DevOrg]:
    """The small org with a few more Banking accounts than its seed, changed long enough ago
    (on the org's clock) that no run's watermark overlap reads them again."""
    with DevOrg(counts=SMALL_COUNTS, bulk_job_seconds=0.1, clock=ShiftedClock()) as org:
        others = sorted(_org_ids(org, '"Industry" is not null and "Industry" != \'Banking\''))
        for record_id in others[:3]:
            org.engine.update(OBJ, record_id, {"Industry": "Banking"})
        org.clock.advance(3600)
        yield org


@pytest.fixture
def bws(make_ws, banking_org: DevOrg) -> Workspace:
    """A workspace on ``banking_org``, on DuckDB and on the Snowflake dialect."""
    return make_ws(banking_org)


def _set_filter(ws: Workspace, where: str) -> None:
    path = ws.project / "dbt_project.yml"
    config = yaml.safe_load(path.read_text())
    config["vars"]["lht_objects"] = {OBJ: {"where": where}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _sync(ws: Workspace) -> dict:
    report = ws.sync(OBJ).report
    assert report["ok"] is True, report
    return report["results"][0]


def _org_ids(org: DevOrg, condition: str) -> set[str]:
    # the records queryAll selects: those in the recycle bin too, as the first sync reads them
    return {
        r[0]
        for r in org.engine.cursor()
        .execute(f'select "Id" from account where {condition}')
        .fetchall()
    }


def test_a_widened_where_filter_reads_the_records_it_now_admits_and_later_runs_read_nothing(
    bws: Workspace, banking_org: DevOrg
) -> None:
    ws, org = bws, banking_org
    banking = _org_ids(org, "\"Industry\" = 'Banking'")
    wider = _org_ids(org, '"Industry" is not null')
    assert len(banking) >= 3 and len(wider - banking) >= 10

    _set_filter(ws, BANKING)
    first = _sync(ws)
    assert (first["mode"], first["filter_changed"]) == ("full", False)
    ws.build("--select", "account")
    assert {r["id"] for r in ws.main_rows("account")} == banking

    _set_filter(ws, WIDER)
    widened = _sync(ws)
    assert widened["mode"] == "incremental", "a changed filter is no full reload"
    assert widened["filter_changed"] is True
    assert widened["rows_extracted"] == len(wider)
    assert (
        f"filter changed: re-read {len(wider):,} records matching the new filter"
        in widened["notes"]
    )
    ws.build("--select", "account")
    main = {r["id"]: r for r in ws.main_rows("account")}
    assert set(main) == wider, (
        f"{len(wider - set(main))} matching account(s) missing from the main table"
    )
    assert all(r["_lht_in_filter"] for r in main.values())
    assert state_rows(ws)["account"]["where_filter"] == WIDER

    later = _sync(ws)
    assert (later["filter_changed"], later["rows_extracted"], later["rows_written"]) == (
        False,
        0,
        0,
    )
    assert not any(n.startswith("filter changed") for n in later["notes"])


def test_a_narrowed_where_filter_flags_every_record_it_no_longer_admits(
    bws: Workspace, banking_org: DevOrg
) -> None:
    ws, org = bws, banking_org
    _set_filter(ws, WIDER)
    _sync(ws)
    ws.build("--select", "account")
    before = {r["id"]: r for r in ws.main_rows("account")}
    banking = _org_ids(org, "\"Industry\" = 'Banking'")
    wider = _org_ids(org, '"Industry" is not null')
    assert banking and set(before) == wider

    _set_filter(ws, BANKING)
    narrowed = _sync(ws)
    assert narrowed["filter_changed"] is True and narrowed["rows_extracted"] == len(banking)
    ws.build("--select", "account")
    main = {r["id"]: r for r in ws.main_rows("account")}
    assert set(main) == wider, (
        "records that left the filter still exist: they are kept, not deleted"
    )
    assert {i for i, r in main.items() if r["_lht_in_filter"]} == banking
    assert {i: r["_lht_is_deleted"] for i, r in main.items()} == {
        i: r["_lht_is_deleted"] for i, r in before.items()
    }

    later = _sync(ws)
    assert (later["filter_changed"], later["rows_extracted"], later["rows_written"]) == (
        False,
        0,
        0,
    )


def test_the_run_table_says_the_filter_changed(ws: Workspace) -> None:
    _set_filter(ws, BANKING)
    _sync(ws)
    _set_filter(ws, WIDER)
    run = ws.run(
        "lht", "sync", "--project-dir", str(ws.project), "--profiles-dir", str(ws.profiles), OBJ
    )
    assert run.returncode == 0, run.stderr
    assert re.search(
        r"Account: filter changed: re-read \d+ records matching the new filter",
        run.stdout + run.stderr,
    )
