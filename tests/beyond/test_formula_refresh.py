"""Formula freshness end to end: the org changes a formula value without moving
SystemModstamp, a plain incremental sync misses it, `lht sync --refresh-formulas` (or the
per-object cadence) re-reads Id plus the formula fields and the model merges only those."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_plus

import yaml
from e2e.conftest import METADATA, Workspace, normalize

FORMULA = "tier__c"


def _sync_and_build(ws: Workspace, *args: str, extra_env: dict[str, str] | None = None) -> dict:
    report = ws.sync("Account", *args, extra_env=extra_env).report
    assert report["ok"] is True, report
    ws.build("--select", "account")
    return next(r for r in report["results"] if r["object_name"] == "Account")


def _org_tiers(ws: Workspace) -> dict[str, str]:
    rows = (
        ws.org.engine.cursor()
        .execute(f'select "Id", "Tier__c" from {ws.org.engine.table("Account")}')
        .fetchall()
    )
    return dict(rows)


def _main(ws: Workspace) -> dict[str, dict]:
    return {r["id"]: r for r in ws.main_rows("account")}


def _bulk_queries(ws: Workspace) -> list[str]:
    return [job.query for job in ws.org.bulk.registry.created()]


def test_refresh_formulas_merges_silently_changed_formula_values_and_nothing_else(
    workspace_any: Workspace,
) -> None:
    ws = workspace_any
    _sync_and_build(ws)
    before = _main(ws)
    ws.org.engine.change_formula_silently("Account", "Tier__c")
    changed = {i for i, tier in _org_tiers(ws).items() if tier != before[i][FORMULA]}
    assert changed, "the org's silent change moved no formula value; the test would prove nothing"

    plain = _sync_and_build(ws)
    assert plain["mode"] == "incremental"
    main = _main(ws)
    # records inside the overlap window are re-read anyway; every other one is missed
    missed = {i for i in changed if main[i][FORMULA] == before[i][FORMULA]}
    assert len(missed) > len(changed) // 2, (
        "a plain incremental sync should not see silent formula changes"
    )

    requests_before = len(ws.org.faults.requests())
    _sync_and_build(ws, "--refresh-formulas", extra_env={"LHT_REST_MAX_ROWS": "10"})
    calls = ws.org.faults.requests()[requests_before:]
    # the formula step is the object's last: from its count (a full read counts first) on
    start = next(
        n
        for n, (_, path) in enumerate(calls)
        if "SELECT COUNT() FROM Account" in unquote_plus(path)
    )
    formula_calls = calls[start:]
    assert len(formula_calls) <= 8, (
        f"a formula refresh spent {len(formula_calls)} API calls: {formula_calls}"
    )
    assert [m for m, p in formula_calls if p.endswith("/jobs/query")] == ["POST"], (
        "a big object is refreshed through Bulk API 2.0"
    )
    formula_job = _bulk_queries(ws)[-1]
    selected = formula_job.split(" FROM ")[0].replace("SELECT ", "").replace(" ", "").split(",")
    assert sorted(selected) == ["Id", "SystemModstamp", "Tier__c"]

    after = _main(ws)
    org = _org_tiers(ws)
    assert {i: after[i][FORMULA] for i in after} == {i: org[i] for i in after}
    columns = set(next(iter(before.values()))) - METADATA - {FORMULA}
    assert "systemmodstamp" in columns and len(columns) > 10
    for record_id, row in before.items():
        assert {c: normalize(after[record_id][c]) for c in columns} == {
            c: normalize(row[c]) for c in columns
        }


def test_formula_refresh_cadence_in_the_project_refreshes_when_due(workspace: Workspace) -> None:
    ws = workspace
    config_path = Path(ws.project) / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text())
    config["vars"]["lht_objects"] = {"Account": {"formula_refresh_every": "1s"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    _sync_and_build(ws)
    ws.org.engine.change_formula_silently("Account", "Tier__c")
    _sync_and_build(ws)
    after = _main(ws)
    assert {i: after[i][FORMULA] for i in after} == _org_tiers(ws)
