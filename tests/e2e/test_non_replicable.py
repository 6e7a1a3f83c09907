"""Objects that are not replicateable (history, share, feed, knowledge objects: describe says
`replicateable: false`, and getDeleted answers 400 CANNOT_REPLICATE): lht picks the delete
strategy from describe's flags, Id reconciliation when the records can be deleted, none
when they cannot, says so in the run report, and the watermark advances."""

from __future__ import annotations

from pathlib import Path

from .conftest import make_workspace


def _result(report: dict, obj: str) -> dict:
    assert report["ok"] is True, report
    return next(r for r in report["results"] if r["object_name"] == obj)


def test_non_replicable_objects_sync_incrementally_with_the_delete_strategy_their_flags_allow(
    org, tmp_path: Path
) -> None:
    ws = make_workspace("duckdb", tmp_path, org)
    org.engine.set_object_flags("Account", {"replicateable": False})
    org.engine.set_object_flags("Contact", {"replicateable": False, "deletable": False})
    ws.sync("Account", "Contact")
    ws.build("--select", "account", "contact")
    victim = sorted(r["id"] for r in ws.main_rows("account"))[0]
    org.engine.purge("Account", [victim])

    report = ws.sync("Account", "Contact").report
    account, contact = _result(report, "Account"), _result(report, "Contact")
    assert account["mode"] == contact["mode"] == "incremental"
    assert account["delete_markers"] == 1
    assert any("reconciliation" in note for note in account["notes"])
    assert any("no delete check" in note for note in contact["notes"])
    assert account["watermark"] and contact["watermark"]
    ws.build("--select", "account")
    assert {r["id"]: r["_lht_is_deleted"] for r in ws.main_rows("account")}[victim] is True
