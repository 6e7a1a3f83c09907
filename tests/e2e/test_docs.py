"""`dbt docs` shows every column of lht's models: the label, type and help text of each
Salesforce field and each table's object label reach the manifest through the models' YAML
(`lht docs`, `lht add`), kept up to date as fields change, a user's own words left alone.
Run as written, from the workspace root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from docs_coverage import docs_coverage

from .conftest import Workspace, make_workspace
from .typed import PROJECT, ok, typed


@pytest.fixture
def ws(org, tmp_path: Path) -> Workspace:
    """A DuckDB workspace whose warehouse is the profile's default, ``./lht.duckdb``."""
    return make_workspace("duckdb", tmp_path, org)


MODELS_YAML = "models/salesforce/_salesforce__models.yml"


def test_the_shipped_project_documents_every_column_on_the_docs_page(ws: Workspace) -> None:
    ok(typed(ws, f"lht sync {PROJECT}"))
    ok(
        typed(ws, f"lht docs --check {PROJECT}")
    )  # the shipped YAML is what lht docs writes for this org
    ok(typed(ws, f"dbt build {PROJECT} --exclude-resource-type unit_test"))
    ok(typed(ws, f"dbt docs generate {PROJECT}"))
    described, total, missing = docs_coverage(ws.root / "target")
    assert total > 300 and described / total >= 0.95, missing[:20]
    manifest = json.loads((ws.root / "target" / "manifest.json").read_text())["nodes"]
    assert manifest["model.lht.account"]["description"].startswith(
        "Account: Salesforce Account records"
    )
    assert (
        manifest["model.lht.account"]["columns"]["BillingCity"]["description"]
        == "Billing City (Account.BillingCity: string)."
    )


def test_lht_docs_follows_field_changes_and_keeps_what_the_user_wrote(ws: Workspace) -> None:
    path = ws.project / MODELS_YAML
    text = path.read_text()
    # the user describes Name in their own words, and rewords Phone keeping lht's mark
    text = text.replace(
        'description: "Account Name (Account.Name: string)."\n        config: {meta: {lht_generated: true}}\n',
        'description: "What sales calls the account."\n',
        1,
    )
    text = text.replace(
        'description: "Account Phone (Account.Phone: phone)."',
        'description: "The switchboard, never a mobile."',
        1,
    )
    path.write_text(text)
    ok(typed(ws, f"lht sync Account {PROJECT}"))
    ok(typed(ws, f"lht docs --check {PROJECT}"))  # nothing lht wrote is stale
    ws.org.engine.add_field(
        "Account",
        {
            "name": "Segment__c",
            "label": "Segment",
            "type": "picklist",
            "inlineHelpText": "Gold first.",
        },
    )
    ws.org.engine.change_field_type("Account", "Site", {"type": "textarea"})
    ok(typed(ws, f"lht sync Account {PROJECT}"))
    stale = typed(ws, f"lht docs --check {PROJECT}")
    assert stale.returncode == 1 and MODELS_YAML in stale.stdout.replace("\n", "")
    ok(typed(ws, f"lht docs {PROJECT}"))
    account = next(m for m in yaml.safe_load(path.read_text())["models"] if m["name"] == "account")
    columns = {c["name"]: c for c in account["columns"]}
    assert (
        columns["Segment__c"]["description"]
        == "Segment (Account.Segment__c: picklist). Gold first."
    )
    assert columns["Site"]["description"] == "Account Site (Account.Site: textarea)."
    assert (
        columns["Name"]["description"] == "What sales calls the account."
        and "config" not in columns["Name"]
    )
    assert columns["Phone"]["description"] == "The switchboard, never a mobile."
    assert list(columns).index("Segment__c") < list(columns).index("_lht_batch_id"), (
        "new fields go before lht's columns"
    )
