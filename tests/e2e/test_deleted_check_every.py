"""`deleted_check_every` per object in dbt_project.yml: an object's getDeleted check is skipped
until that long has passed since its last one (on Salesforce's clock), while the other objects
are checked every run; once due, the hard deletes missed meanwhile are all found."""

from __future__ import annotations

from pathlib import Path

import yaml

from lht_devorg import DevOrg

from .conftest import Workspace, make_workspace

#: separate calls, so each object's getDeleted shows in the org's request log
SEPARATE = {"LHT_COMPOSITE": "0"}


def _sync(ws: Workspace) -> tuple[dict[str, dict], list[str]]:
    """Per object results of `lht sync Account Contact`, and the getDeleted calls it made."""
    before = len(ws.org.faults.requests())
    report = ws.sync("Account", "Contact", extra_env=SEPARATE).report
    assert report["ok"] is True, report
    deleted = [path for _, path in ws.org.faults.requests()[before:] if "/deleted/" in path]
    return {r["object_name"]: r for r in report["results"]}, deleted


def _purge_one(org: DevOrg, obj: str) -> str:
    victim = (
        org.engine.cursor()
        .execute(
            f'select "Id" from {org.engine.table(obj)} where not "IsDeleted" order by "Id" limit 1'
        )
        .fetchone()[0]
    )
    org.engine.purge(obj, [victim])
    return victim


def test_an_objects_deleted_check_waits_for_its_own_interval(org: DevOrg, tmp_path: Path) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    config_path = ws.project / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text())
    config["vars"]["lht_objects"] = {
        **(config["vars"].get("lht_objects") or {}),
        "Account": {"deleted_check_every": "1h"},
    }
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    _sync(ws)  # full loads: both checks are recorded as done now

    gone_account, gone_contact = _purge_one(org, "Account"), _purge_one(org, "Contact")
    org.clock.advance(120)  # getDeleted covers whole minutes: let the purges' minute end
    results, calls = _sync(ws)
    assert [c for c in calls if "/Contact/" in c] and not [c for c in calls if "/Account/" in c], (
        calls
    )
    assert (results["Contact"]["delete_markers"], results["Account"]["delete_markers"]) == (1, 0)

    org.clock.advance(3600)  # Account's hour has passed
    results, calls = _sync(ws)
    assert [c for c in calls if "/Account/" in c], calls
    assert results["Account"]["delete_markers"] == 1
    _, staged = ws.query("select Id from salesforce_staging.account where _lht_kind = 'deleted'")
    assert {r[0] for r in staged} == {gone_account}
    _, staged = ws.query("select Id from salesforce_staging.contact where _lht_kind = 'deleted'")
    assert {r[0] for r in staged} == {gone_contact}
