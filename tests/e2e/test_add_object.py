"""`lht add OBJECT`: the loader loads it and dbt builds its main table, for a custom object
(lookup, formula, location, time, multipicklist, long text) and for an object whose base64
field only REST can read."""

from __future__ import annotations

from .conftest import Workspace, assert_main_table_matches_org


def test_added_custom_and_base64_objects_are_loaded_and_built(workspace: Workspace) -> None:
    ws = workspace
    added = ws.run(
        "lht", "add", "Invoice__c", "Attachment", "--project-dir", str(ws.project)
    ).check()
    assert "invoice__c.sql" in added.stdout
    assert (
        ws.project / "models" / "salesforce" / "attachment.sql"
    ).read_text().strip() == "{{ lht.lht_main_table('Attachment') }}"

    report = ws.sync("Invoice__c", "Attachment").report
    engines = {r["object_name"]: r["engine"] for r in report["results"]}
    assert engines["Attachment"] == "rest", "a base64 field must be read through REST"
    assert report["ok"] is True
    ws.build("--select", "invoice__c", "attachment")

    invoices = assert_main_table_matches_org(ws, "Invoice__c")
    assert any(row["site__latitude__s"] is not None for row in invoices.values()), (
        "location components missing"
    )
    attachments = assert_main_table_matches_org(ws, "Attachment")
    body = next(iter(attachments.values()))["body"]
    assert body.endswith("/Body"), "base64 fields hold the blob URL REST returns"


def test_syncing_an_unregistered_object_says_how_to_register_it(workspace: Workspace) -> None:
    run = workspace.sync("Invoice__c", check=False)
    assert run.returncode != 0
    assert "lht add Invoice__c" in run.stderr
    assert "Traceback" not in run.stderr
