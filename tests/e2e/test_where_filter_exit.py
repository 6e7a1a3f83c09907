"""A record that stops matching the object's `where` filter: it still exists, so it is not
deleted; its main row says `_lht_in_filter = false` and keeps the last values read while it
matched, the same after an incremental run and after `--full-refresh`; a record that comes
back into the filter is in again with its new values."""

from __future__ import annotations

from pathlib import Path

import yaml

from .conftest import Workspace

OBJ = "Account"
WHERE = "Name != 'Left the filter'"


def _sync_and_build(ws: Workspace, *args: str) -> dict[str, dict]:
    report = ws.sync(OBJ, *args).report
    assert report["ok"] is True, report
    ws.build("--select", "account")
    return {r["id"]: r for r in ws.main_rows("account")}


def test_a_record_leaving_the_where_filter_is_flagged_not_deleted_in_incremental_and_full_runs(
    org, tmp_path: Path
) -> None:
    from .conftest import make_workspace

    ws = make_workspace("duckdb", tmp_path, org)
    config_path = Path(ws.project) / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text())
    config["vars"]["lht_objects"] = {OBJ: {"where": WHERE}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    first = _sync_and_build(ws)
    leaving, purged = sorted(first)[:2]
    old_name = first[leaving]["name"]
    assert all(r["_lht_in_filter"] is True for r in first.values())

    org.engine.update(OBJ, leaving, {"Name": "Left the filter"})
    org.engine.purge(OBJ, [purged])
    main = _sync_and_build(ws)
    assert main[leaving]["_lht_in_filter"] is False
    assert main[leaving]["_lht_is_deleted"] is False
    assert main[leaving]["name"] == old_name, "the last values read while it matched stay"

    main = _sync_and_build(ws, "--full-refresh")
    assert (main[leaving]["_lht_in_filter"], main[leaving]["_lht_is_deleted"]) == (False, False)
    assert main[purged]["_lht_is_deleted"] is True and main[purged]["_lht_in_filter"] is True
    others = set(main) - {leaving, purged}
    assert all(main[i]["_lht_in_filter"] for i in others)
    assert {i: main[i]["_lht_is_deleted"] for i in others} == {
        i: first[i]["_lht_is_deleted"] for i in others
    }

    org.engine.update(OBJ, leaving, {"Name": "Back in"})
    main = _sync_and_build(ws)
    assert (main[leaving]["_lht_in_filter"], main[leaving]["name"]) == (True, "Back in")
