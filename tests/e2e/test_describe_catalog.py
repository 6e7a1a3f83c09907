"""The describe catalog (``lht.catalog``): an incremental run reads the describe cache of all
its objects in one query, whatever their number, and applies one freshness rule to all of
them; counted on the statements the warehouse (the fakesnow server) receives."""

from __future__ import annotations

from pathlib import Path

import pytest

from lht_devorg import DevOrg

from .conftest import make_workspace

pytestmark = pytest.mark.snowflake


def describe_reads(statements: list[str]) -> list[str]:
    """The statements that read the describe cache."""
    return [
        s for s in statements if s.upper().startswith("SELECT") and "_LHT_DESCRIBE" in s.upper()
    ]


def describe_calls(org: DevOrg, since: int) -> list[str]:
    """The object describes Salesforce answered after request ``since``."""
    return [
        path for _, path in org.faults.requests()[since:] if path.rstrip("/").endswith("/describe")
    ]


def test_an_incremental_run_reads_the_describe_cache_once_for_all_its_objects(
    fakesnow_server: dict, org: DevOrg, tmp_path: Path, statements: list[str]
) -> None:
    ws = make_workspace("snowflake", tmp_path, org, fakesnow_server)
    first = ws.sync()
    objects = [r["object_name"] for r in first.report["results"]]
    assert len(objects) > 3
    assert len(describe_reads(statements)) == 1  # the first run too: one batch, nothing cached yet

    before, requests_before = len(statements), len(org.faults.requests())
    report = ws.sync().report
    assert {r["mode"] for r in report["results"]} == {"incremental"}
    assert len(describe_reads(statements[before:])) == 1, describe_reads(statements[before:])
    assert describe_calls(org, requests_before) == []  # every cached describe was fresh


def test_one_freshness_rule_re_describes_every_object_once_when_the_cache_is_too_old(
    fakesnow_server: dict, org: DevOrg, tmp_path: Path, statements: list[str]
) -> None:
    ws = make_workspace("snowflake", tmp_path, org, fakesnow_server)
    ws.sync()
    before, requests_before = len(statements), len(org.faults.requests())
    report = ws.sync(extra_env={"LHT_DESCRIBE_MAX_AGE": "0"}).report
    objects = [r["object_name"] for r in report["results"]]
    assert len(describe_reads(statements[before:])) == 1
    # no cached describe is fresh: every object is described once, and no change check was
    # grouped ahead of it from a describe that is too old
    assert len(describe_calls(org, requests_before)) == len(objects)
    assert not any("/composite" in path for _, path in org.faults.requests()[requests_before:])
