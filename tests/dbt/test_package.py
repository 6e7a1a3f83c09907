"""lht's dbt project installed as a package in another dbt project (`packages.yml` with
`local:`): the consumer's own configuration wins, its models call `lht.lht_main_table`,
a `dispatch` config overrides an lht macro, and `dbt docs generate` finds a description on
every column of the main tables (from the cached describe, written as column comments), on
DuckDB and on the Snowflake dialect (fakesnow)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from docs_coverage import docs_coverage

from lht.typemap import FieldSpec
from lht.warehouse.state import StateStore

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
OBJECTS = ["Account", "Contact", "Opportunity", "Lead", "Case", "User", "Task"]
FIELDS = [
    FieldSpec("Id", "id"),
    FieldSpec("Name", "string"),
    FieldSpec("SystemModstamp", "datetime"),
    FieldSpec("IsDeleted", "boolean"),
    FieldSpec("OwnerId", "reference"),
    FieldSpec("Note__c", "string"),
]
HELP = "What the account team agreed with the customer."


def describe(object_name: str) -> dict:
    """A describe of the staged fields, as Salesforce shapes it (labels, types, help text)."""
    fields = [
        {"name": "Id", "label": f"{object_name} ID", "type": "id"},
        {"name": "Name", "label": f"{object_name} Name", "type": "string"},
        {"name": "SystemModstamp", "label": "System Modstamp", "type": "datetime"},
        {"name": "IsDeleted", "label": "Deleted", "type": "boolean"},
        {"name": "OwnerId", "label": "Owner ID", "type": "reference", "referenceTo": ["User"]},
        {"name": "Note__c", "label": "Note", "type": "string", "inlineHelpText": HELP},
    ]
    return {"name": object_name, "fields": fields}


def seed(env: DbtEnv) -> None:
    """One record per object in staging, and its describe in the cache."""
    when = datetime(2024, 1, 1, 10, tzinfo=timezone.utc)
    for name in OBJECTS:
        env.write(
            name,
            [
                {
                    "Id": f"{name[:3]}1",
                    "Name": f"{name} one",
                    "SystemModstamp": when,
                    "IsDeleted": False,
                    "OwnerId": "005A",
                    "Note__c": "n",
                }
            ],
            fields=FIELDS,
        )
    wh = env.warehouse()
    try:
        store = StateStore(wh)
        for name in OBJECTS:
            store.put_describe(name, describe(name))
    finally:
        wh.close()


def consumer_project(env: DbtEnv, tmp_path: Path) -> Path:
    """A project of its own (`acme`) that installs lht from `env.project` with `local:`."""
    root = tmp_path / "acme"
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(env.project)}]}))
    (root / "dbt_project.yml").write_text(
        yaml.safe_dump(
            {
                "name": "acme",
                "version": "1.0.0",
                "config-version": 2,
                "profile": "lht",
                "dispatch": [{"macro_namespace": "lht", "search_order": ["acme", "lht"]}],
                # its own schema and materialization for one of lht's models
                "models": {
                    "lht": {"salesforce": {"contact": {"+materialized": "table", "+schema": "crm"}}}
                },
            }
        )
    )
    (root / "models" / "crm_account.sql").write_text(
        "{{ config(materialized='incremental', unique_key='Id', on_schema_change='append_new_columns') }}\n"
        "{{ lht.lht_main_table('Account') }}\n"
    )
    (root / "models" / "crm_account.yml").write_text(
        yaml.safe_dump(
            {
                "version": 2,
                "models": [
                    {
                        "name": "crm_account",
                        "description": "Accounts, in our own schema.",
                        "columns": [
                            {"name": "Name", "description": "What sales calls the account."},
                            {"name": "Id", "data_tests": ["unique", "not_null"]},
                        ],
                    }
                ],
            }
        )
    )
    # the project's own wording of field descriptions, through `dispatch`
    (root / "macros" / "field_description.sql").write_text(
        "{% macro default__lht_field_description(object_name, field) %}\n"
        "  {{ return('ACME: ' ~ lht.default__lht_field_description(object_name, field)) }}\n"
        "{% endmacro %}\n"
    )
    return root


def test_consumer_project_builds_lht_models_with_its_own_config_and_documents_every_column(
    env: DbtEnv, tmp_path: Path
) -> None:
    seed(env)
    acme = consumer_project(env, tmp_path)
    env.dbt("deps", project=acme).check()
    env.dbt("build", project=acme).check()

    nodes = json.loads((acme / "target" / "manifest.json").read_text())["nodes"]
    contact, account, own = (
        nodes["model.lht.contact"],
        nodes["model.lht.account"],
        nodes["model.acme.crm_account"],
    )
    assert (contact["config"]["materialized"], contact["schema"]) == ("table", "crm"), (
        "the consumer's config must win"
    )
    assert (account["config"]["materialized"], account["config"]["unique_key"]) == (
        "incremental",
        "Id",
    )
    assert account["schema"] == "salesforce", (
        "lht's default schema, named by lht's generate_schema_name"
    )
    assert own["schema"] == (
        "main" if env.engine == "duckdb" else "salesforce"
    )  # the profile's schema
    assert env.query("select Id, Name from crm.contact") == [("Con1", "Contact one")]
    assert env.query(f"select Id, Name, _lht_is_deleted from {own['schema']}.crm_account") == [
        ("Acc1", "Account one", False)
    ]

    env.dbt("docs", "generate", project=acme).check()
    catalog = json.loads((acme / "target" / "catalog.json").read_text())["nodes"]
    main_tables = [f"model.lht.{name.lower()}" for name in OBJECTS] + ["model.acme.crm_account"]
    for unique_id in main_tables:
        columns = catalog[unique_id]["columns"]
        assert len(columns) == len(FIELDS) + 5, unique_id  # + the five _lht_ columns
        missing = [
            name for name, column in columns.items() if not (column.get("comment") or "").strip()
        ]
        assert not missing, f"{unique_id}: columns without a description: {missing}"
    account_columns = {
        name.lower(): c["comment"] for name, c in catalog["model.lht.account"]["columns"].items()
    }
    assert account_columns["note__c"] == f"ACME: Note (Account.Note__c: string). {HELP}"
    assert account_columns["ownerid"] == "ACME: Owner ID (Account.OwnerId: reference to User)."
    assert account_columns["_lht_is_deleted"].startswith("lht: true when the record is deleted")
    own_columns = {
        name.lower(): c["comment"]
        for name, c in catalog["model.acme.crm_account"]["columns"].items()
    }
    assert own_columns["name"] == "What sales calls the account.", (
        "a description in the project's YAML wins"
    )

    # a field is added in Salesforce and another relabelled: the next sync and build follow
    changed = describe("Account")
    changed["fields"][1]["label"] = "Company"
    changed["fields"].append(
        {"name": "Tier__c", "label": "Tier", "type": "picklist", "inlineHelpText": "Gold first."}
    )
    env.write(
        "Account",
        [
            {
                "Id": "Acc2",
                "Name": "two",
                "SystemModstamp": datetime.now(timezone.utc),
                "Tier__c": "Gold",
            }
        ],
        fields=[*FIELDS, FieldSpec("Tier__c", "picklist")],
    )
    wh = env.warehouse()
    try:
        StateStore(wh).put_describe("Account", changed)
    finally:
        wh.close()
    env.dbt("build", "--select", "account", project=acme).check()
    env.dbt("docs", "generate", project=acme).check()
    catalog = json.loads((acme / "target" / "catalog.json").read_text())["nodes"]
    account_columns = {
        name.lower(): c["comment"] for name, c in catalog["model.lht.account"]["columns"].items()
    }
    assert account_columns["tier__c"] == "ACME: Tier (Account.Tier__c: picklist). Gold first."
    assert account_columns["name"] == "ACME: Company (Account.Name: string)."


def test_an_incremental_model_not_keyed_on_id_is_refused_with_what_to_set(
    duckdb_env: DbtEnv,
) -> None:
    env = duckdb_env
    env.write(
        "Account",
        [{"Id": "Acc1", "Name": "one", "SystemModstamp": datetime.now(timezone.utc)}],
        fields=FIELDS[:3],
    )
    # outside models/salesforce, so lht's dbt_project.yml defaults (unique_key: Id) do not apply
    (env.project / "models" / "appended_account.sql").write_text(
        "{{ config(materialized='incremental') }}\n{{ lht.lht_main_table('Account') }}\n"
    )
    run = env.dbt("run", "--select", "appended_account")
    assert run.returncode != 0
    assert "need unique_key 'Id'" in run.output, run.output[-3000:]


def test_a_push_in_the_consumer_project_uses_lhts_macro_and_lht_push_reads_its_view(
    duckdb_env: DbtEnv, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    env = duckdb_env
    seed(env)
    wh = env.warehouse()
    try:  # a describe in which Name is updateable: the dry run then needs no Salesforce call
        fields = describe("Account")["fields"]
        for field in fields:
            field["updateable"] = field["createable"] = field["name"] == "Name"
        StateStore(wh).put_describe("Account", {"name": "Account", "fields": fields})
    finally:
        wh.close()
    acme = consumer_project(env, tmp_path)
    (acme / "models" / "acme_account_names.sql").write_text(
        "{{ config(materialized='table', meta={'lht_push': {'object': 'Account', 'operation': 'update', "
        "'key': 'Id'}}) }}\nselect Id, upper(Name) as Name from {{ ref('account') }}\n"
    )
    lht = Path(sys.executable).with_name("lht")
    added = subprocess.run(
        [str(lht), "add", "--push", "acme_account_names", "--project-dir", "acme"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    assert (
        acme / "models" / "acme_account_names__lht_changes.sql"
    ).read_text() == "{{ lht.lht_push_changes('acme_account_names') }}\n"
    env.dbt("deps", project=acme).check()
    env.dbt("build", project=acme).check()

    nodes = json.loads((acme / "target" / "manifest.json").read_text())["nodes"]
    view = nodes["model.acme.acme_account_names__lht_changes"]
    assert (
        view["config"]["materialized"] == "view"
        and "macro.lht.lht_push_changes" in view["depends_on"]["macros"]
    )
    assert "model.acme.acme_account_names" in view["depends_on"]["nodes"]
    shipped = [n["name"] for uid, n in nodes.items() if uid.startswith("model.lht.")]
    assert all(name.startswith("lht_") or n_is_object_model(nodes, name) for name in shipped), (
        shipped
    )

    user_env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "DBT_TARGET_PATH"))}
    run = subprocess.run(
        [
            str(lht),
            "push",
            "--dry-run",
            "--json",
            "--project-dir",
            ".",
            "--profiles-dir",
            os.path.relpath(env.profiles, acme),
        ],
        # where dbt ran: the profile's DuckDB path is relative, as dbt-duckdb resolves it
        cwd=acme,
        env=user_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(run.stdout)["results"][0]
    assert (result["name"], result["would"]["update"], result["api_calls"]) == (
        "acme_account_names",
        1,
        0,
    )


def n_is_object_model(nodes: dict, name: str) -> bool:
    """lht's main-table models are named after their Salesforce object (models/salesforce/)."""
    node = nodes[f"model.lht.{name}"]
    return node["original_file_path"].startswith("models/salesforce/")


def test_lht_docs_gives_a_consumer_projects_docs_page_a_description_for_every_column(
    duckdb_env: DbtEnv, tmp_path: Path
) -> None:
    env = duckdb_env
    seed(env)
    acme = consumer_project(env, tmp_path)

    def docs_page() -> tuple[int, int, list[str]]:
        env.dbt("deps", project=acme).check()
        env.dbt("build", project=acme).check()
        env.dbt("docs", "generate", project=acme).check()
        return docs_coverage(acme / "target")

    described, total, missing = docs_page()
    assert described / total < 0.95, "the fields of this org are not in the shipped YAML yet"
    # the user documents their copy of lht's project as they sync it: from its parent, as written
    run = subprocess.run(
        [str(BIN / "lht"), "docs", "--project-dir", "dbt_project", "--profiles-dir", "profiles"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    described, total, missing = docs_page()
    assert total >= len(OBJECTS) * (len(FIELDS) + 5) and described / total >= 0.95, missing
    manifest = json.loads((acme / "target" / "manifest.json").read_text())["nodes"]
    assert (
        manifest["model.lht.account"]["columns"]["Note__c"]["description"]
        == f"Note (Account.Note__c: string). {HELP}"
    )
