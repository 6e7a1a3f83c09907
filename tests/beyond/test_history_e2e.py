"""History, opted in with `lht add Account --history`: every version a record went through,
with deletes closing the last version and an undelete opening a new one, built incrementally."""

from __future__ import annotations

from itertools import pairwise

from e2e.conftest import Workspace

from lht.project import load_project


def _cycle(ws: Workspace) -> None:
    assert ws.sync("Account").report["ok"] is True
    ws.build("--select", "account", "account_history")


def _versions(ws: Workspace, record_id: str) -> list[tuple]:
    _, rows = ws.query(
        "select Name, valid_from, valid_to is null, is_current, _lht_is_deleted, valid_to "
        f"from salesforce.account_history where Id = '{record_id}' order by valid_from"
    )
    return rows


def test_history_model_records_versions_a_delete_and_an_undelete(workspace_any: Workspace) -> None:
    ws = workspace_any
    added = ws.run("lht", "add", "Account", "--history", "--project-dir", str(ws.project)).check()
    assert "account_history.sql" in added.stdout
    assert load_project(ws.project).objects["Account"].history is True
    assert (
        ws.project / "models" / "salesforce" / "account_history.sql"
    ).read_text().strip() == "{{ lht.lht_history_table('Account') }}"

    engine = ws.org.engine
    record_id = engine.create("Account", {"Name": "History v1"})
    _cycle(ws)
    engine.update("Account", record_id, {"Name": "History v2"})
    _cycle(ws)
    engine.update("Account", record_id, {"Name": "History v3"})
    _cycle(ws)
    engine.delete("Account", record_id)
    _cycle(ws)
    engine.undelete("Account", record_id)
    _cycle(ws)
    _cycle(ws)  # nothing changed: re-extracted versions add nothing

    rows = _versions(ws, record_id)
    assert [(name, deleted) for name, _, _, _, deleted, _ in rows] == [
        ("History v1", False),
        ("History v2", False),
        ("History v3", False),
        ("History v3", True),
        ("History v3", False),
    ]
    assert [current for _, _, _, current, _, _ in rows] == [False, False, False, False, True]
    assert [open_ for _, _, open_, _, _, _ in rows] == [False, False, False, False, True]
    for (_, _, _, _, _, valid_to), (_, next_from, _, _, _, _) in pairwise(rows):
        assert valid_to == next_from, "a version must end where the next one starts"

    _, current = ws.query(
        "select count(*), count(distinct Id) from salesforce.account_history where is_current"
    )
    _, main = ws.query("select count(*) from salesforce.account")
    assert current[0] == (main[0][0], main[0][0]), "every Id has exactly one current version"


def test_add_history_to_an_already_registered_object_only_adds_the_history_model(
    workspace: Workspace,
) -> None:
    ws = workspace
    models = ws.project / "models" / "salesforce" / "_salesforce__models.yml"
    before = models.read_text()
    ws.run("lht", "add", "Contact", "--history", "--project-dir", str(ws.project)).check()
    after = models.read_text()
    assert (
        after.count("- name: contact_history") == 1
        and after.count("- name: contact\n") == before.count("- name: contact\n") == 1
    )
    again = ws.run("lht", "add", "Contact", "--history", "--project-dir", str(ws.project)).check()
    assert "wrote" not in again.stdout
