"""A newcomer's first hour (issue 27): each stumble, replayed as the user typed it.

Commands run through a shell, as written, from the directory the user was in: the
workspace root holding ``dbt_project/`` (where the README runs everything), or inside the
project (:mod:`e2e.typed`).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from .conftest import Workspace, make_workspace, org_records
from .typed import BIN, PROJECT, ok, project_files, refused, typed


@pytest.fixture
def ws(org, tmp_path: Path) -> Workspace:
    """A DuckDB workspace whose warehouse is the profile's default, ``./lht.duckdb``."""
    return make_workspace("duckdb", tmp_path, org)


# -- 1 -----------------------------------------------------------------------------------------
def test_the_local_orgs_env_file_works_as_sourced_and_shows_the_other_flows(tmp_path: Path) -> None:
    root = tmp_path
    import shutil

    from .conftest import PROJECT_DIR

    shutil.copytree(
        PROJECT_DIR,
        root / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"),
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SF_", "LHT_", "REQUESTS_CA_BUNDLE"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", DBT_SEND_ANONYMOUS_USAGE_STATS="false"
    )
    org = subprocess.Popen(
        ["lht", "devorg", "--state-dir", "org", "--counts", "Account=5,Contact=0"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (root / "org" / "env.sh").exists():
            assert org.poll() is None and time.monotonic() < deadline, (
                "lht devorg did not write env.sh"
            )
            time.sleep(0.1)
        sync = f"lht sync Account {PROJECT} --json"
        first = subprocess.run(
            f"source org/env.sh && {sync}",
            shell=True,
            executable="/bin/bash",
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["results"][0]["rows_written"] == 5
        # switching to the password flow is: unset the token, uncomment the password lines
        switch = (
            "source org/env.sh && unset SF_INSTANCE_URL SF_ACCESS_TOKEN && "
            "eval \"$(sed -n '/^# password flow/,/^# client/s/^#   export/export/p' org/env.sh)\" && "
            f"{sync}"
        )
        second = subprocess.run(
            switch,
            shell=True,
            executable="/bin/bash",
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert second.returncode == 0, second.stderr
    finally:
        org.terminate()
        org.wait(timeout=30)


# -- 2 -----------------------------------------------------------------------------------------
def test_prune_refuses_a_bare_number_and_suggests_days(ws: Workspace) -> None:
    ok(typed(ws, f"lht sync Account {PROJECT}"))
    ok(typed(ws, f"dbt build {PROJECT} --select account"))
    ok(typed(ws, f"lht sync Account --full-refresh {PROJECT}"))  # a second version of every row
    ok(typed(ws, f"dbt build {PROJECT} --select account"))
    before = ws.query("select count(*) from salesforce_staging.account")[1]
    message = refused(typed(ws, f"lht prune --older-than 30 {PROJECT}"))
    assert "--older-than 30d" in message and "Nothing was pruned" in message
    assert ws.query("select count(*) from salesforce_staging.account")[1] == before
    assert "rows deleted" in ok(typed(ws, f"lht prune --older-than 30d {PROJECT}")).stdout


# -- 3 -----------------------------------------------------------------------------------------
def test_status_while_a_sync_runs_shows_the_sync_and_the_last_known_state(ws: Workspace) -> None:
    ok(typed(ws, f"lht sync {PROJECT}"))
    ok(typed(ws, f"dbt build {PROJECT} --select salesforce"))
    contacts = len(org_records(ws.org, "Contact"))
    ws.org.faults.add("bulk_stuck")  # the next Bulk job never completes
    env = {k: v for k, v in ws.env.items() if k != "LHT_DUCKDB_PATH"}
    sync = subprocess.Popen(
        shlex.split(f"{BIN / 'lht'} sync Account --full-refresh {PROJECT}"),
        cwd=ws.root,
        env={**env, "LHT_REST_MAX_ROWS": "10"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    snapshot = ws.root / "lht.duckdb.lht.status.json"
    try:
        deadline = time.monotonic() + 120

        def activity() -> str:
            data = json.loads(snapshot.read_text()) if snapshot.is_file() else {}
            return data.get("activity", {}).get("account", "")

        while "Bulk job" not in activity():
            assert sync.poll() is None and time.monotonic() < deadline, (
                sync.stderr.read() if sync.stderr else ""
            )
            time.sleep(0.2)
        table = ok(typed(ws, f"lht status {PROJECT}"))
        assert "lht sync is running" in table.stdout and f"pid {sync.pid}" in table.stdout
        assert "Bulk job InProgress" in table.stdout
        assert "memory_limit" not in table.stdout + table.stderr
        report = json.loads(ok(typed(ws, f"lht status --json {PROJECT}")).stdout)
        assert report["running"]["pid"] == sync.pid and report["as_of"] is not None
        by_name = {o["object_name"]: o for o in report["objects"]}
        assert (
            by_name["Contact"]["main_rows"] == contacts
            and by_name["Contact"]["freshness"] == "pass"
        )
        assert "Bulk job" in by_name["Account"]["activity"]
    finally:
        sync.send_signal(signal.SIGKILL)
        sync.wait(timeout=30)
    after = json.loads(ok(typed(ws, f"lht status --json {PROJECT}")).stdout)
    assert after["running"] is None and after["as_of"] is None, (
        "the warehouse is read again once it is free"
    )


# -- 4 -----------------------------------------------------------------------------------------
def test_status_from_inside_the_project_reads_the_warehouse_beside_it_and_creates_nothing(
    ws: Workspace,
) -> None:
    message = refused(typed(ws, f"lht status {PROJECT}"))
    assert "No warehouse at" in message and "lht sync" in message
    assert not list(ws.root.rglob("*.duckdb")), "a command that only reads created a warehouse file"
    ok(typed(ws, f"lht sync Account {PROJECT}"))
    inside = ok(typed(ws, "lht status --json", cwd=ws.project))
    account = {o["object_name"]: o for o in json.loads(inside.stdout)["objects"]}["Account"]
    assert account["freshness"] == "pass" and account["unmerged_rows"] > 0
    assert str(ws.root / "lht.duckdb") in " ".join(inside.stderr.split())
    assert not (ws.project / "lht.duckdb").exists()
    elsewhere = ws.root / "elsewhere"
    elsewhere.mkdir()
    assert "not an lht project" in refused(typed(ws, "lht status", cwd=elsewhere))


# -- 5 -----------------------------------------------------------------------------------------
def test_a_mistyped_object_gets_did_you_mean_and_no_call(ws: Workspace) -> None:
    message = refused(typed(ws, f"lht sync Acount {PROJECT}"))
    assert "did you mean Account?" in message
    assert not ws.org.faults.requests(), "the name was refused before any Salesforce call"


# -- 6 -----------------------------------------------------------------------------------------
def test_add_checks_the_name_against_the_org_and_writes_nothing_when_it_is_not_there(
    ws: Workspace,
) -> None:
    before = project_files(ws)
    message = refused(typed(ws, "lht add Invoices__c --project-dir dbt_project"))
    assert (
        "Invoices__c is not an object of the org" in message
        and "did you mean Invoice__c" in message
    )
    assert "Nothing was written" in message and project_files(ws) == before
    calls = [path for _, path in ws.org.faults.requests()]
    assert len(calls) == 1 and calls[0].rstrip("/").endswith("/sobjects"), (
        calls
    )  # one describeGlobal

    no_credentials = {k: v for k, v in ws.env.items() if not k.startswith("SF_")}
    message = refused(typed(ws, "lht add Invoice__c --project-dir dbt_project", env=no_credentials))
    assert "--offline" in message and project_files(ws) == before
    ok(typed(ws, "lht add Invoice__c --offline --project-dir dbt_project", env=no_credentials))
    assert (ws.project / "models" / "salesforce" / "invoice__c.sql").is_file()


def test_add_spells_the_object_as_the_org_does_and_documents_its_columns(ws: Workspace) -> None:
    ok(typed(ws, "lht add invoice__c --project-dir dbt_project"))
    assert (
        "lht_main_table('Invoice__c')"
        in (ws.project / "models" / "salesforce" / "invoice__c.sql").read_text()
    )
    models = yaml.safe_load(
        (ws.project / "models" / "salesforce" / "_salesforce__models.yml").read_text()
    )
    entry = next(m for m in models["models"] if m["name"] == "invoice__c")
    columns = {c["name"]: c for c in entry["columns"]}
    assert entry["description"].startswith("Invoice: Salesforce Invoice__c records")
    assert columns["Total__c"]["description"] == "Total (Invoice__c.Total__c: currency, formula)."
    assert columns["Total__c"]["config"]["meta"]["lht_generated"] is True
    assert columns["Id"]["data_tests"] == ["unique", "not_null"]
    assert (
        "_lht_is_deleted" in columns and "Site__c" not in columns
    )  # a compound location is not a column


# -- 7 -----------------------------------------------------------------------------------------
def test_remove_undoes_add_and_says_what_it_left(ws: Workspace) -> None:
    config = ws.project / "dbt_project.yml"
    before = project_files(ws)
    ok(typed(ws, "lht add Invoice__c --history --project-dir dbt_project"))
    config.write_text(
        config.read_text().replace(
            "  lht_formula_columns: {}",
            "  lht_formula_columns: {Invoice__c: [Total__c]}\n"
            "  lht_objects:\n    Invoice__c:\n      where: \"Status__c != 'Draft'\"",
        )
    )
    ok(typed(ws, f"lht sync Invoice__c {PROJECT}"))
    ok(typed(ws, f"dbt build {PROJECT} --select invoice__c invoice__c_history"))

    removed = ok(typed(ws, "lht remove Invoice__c --project-dir dbt_project")).stdout
    after = project_files(ws)
    assert set(after) == set(before)
    changed = [name for name in after if after[name] != before[name]]
    assert changed == ["dbt_project.yml"], changed  # every file lht add wrote is as it was
    assert yaml.safe_load(config.read_text())["vars"]["lht_formula_columns"] == {}
    assert "Invoice__c" not in (yaml.safe_load(config.read_text())["vars"].get("lht_objects") or {})
    said = " ".join(removed.split())
    for statement in (
        "drop table if exists salesforce.invoice__c;",
        "drop table if exists salesforce.invoice__c_history;",
        "drop table if exists salesforce_staging.invoice__c;",
        "_lht_state",
    ):
        assert statement in said
    assert ws.query("select count(*) from salesforce.invoice__c")[1][0][0] > 0, "the data stays"
    ok(typed(ws, f"dbt build {PROJECT} --select salesforce --exclude-resource-type unit_test"))

    message = refused(typed(ws, "lht remove Account --project-dir dbt_project"))
    assert "lht_demo_account_scores" in message and "Nothing was changed" in message


# -- 8 -----------------------------------------------------------------------------------------
def test_objects_lists_what_the_org_has_from_one_call(ws: Workspace) -> None:
    listed = json.loads(ok(typed(ws, "lht objects --json --project-dir dbt_project")).stdout)[
        "objects"
    ]
    by_name = {o["name"]: o for o in listed}
    assert by_name["Account"]["registered"] is True and by_name["Invoice__c"]["registered"] is False
    assert (
        by_name["Invoice__c"]["label"] == "Invoice" and by_name["Invoice__c"]["queryable"] is True
    )
    assert set(by_name["Account"]) >= {"name", "label", "registered", "queryable", "replicateable"}
    assert len(ws.org.faults.requests()) == 1
    table = ok(typed(ws, "lht objects 'Inv*' --project-dir dbt_project")).stdout
    assert "Invoice__c" in table and "Account" not in table


# -- 9 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["wrong password", "unreachable org"])
def test_json_runs_print_a_json_error_when_they_cannot_start(ws: Workspace, case: str) -> None:
    base = {k: v for k, v in ws.env.items() if not k.startswith("SF_")}
    env = {
        **base,
        **ws.org.env("password"),
        "SF_PASSWORD": "not-the-password",
        "LHT_MAX_RETRIES": "0",
    }
    if case == "unreachable org":
        env["SF_LOGIN_URL"] = "https://127.0.0.1:9"  # nothing listens there
    code = 2 if case == "wrong password" else 1  # a refused login is configuration to fix
    for command in (f"lht sync --json {PROJECT}", "lht objects --json --project-dir dbt_project"):
        proc = typed(ws, command, env=env)
        assert proc.returncode == code, proc.stderr
        error = json.loads(proc.stdout)
        assert error["ok"] is False and error["exit_code"] == code and error["error"]
        assert "not-the-password" not in proc.stdout + proc.stderr
    merge = typed(ws, f"lht merge --json {PROJECT}", env=env)  # no manifest yet: refused
    assert merge.returncode == 2 and json.loads(merge.stdout)["error_type"] == "ConfigError"
    push = typed(ws, f"lht push --json {PROJECT}", env=env)
    assert push.returncode == 2 and json.loads(push.stdout)["command"] == "push"


def test_json_sync_against_an_unreachable_instance_reports_each_object_failing(
    ws: Workspace,
) -> None:
    env = {k: v for k, v in ws.env.items() if not k.startswith("SF_")}
    env.update(SF_INSTANCE_URL="https://127.0.0.1:9", SF_ACCESS_TOKEN="x", LHT_MAX_RETRIES="0")
    proc = typed(ws, f"lht sync Account Contact --json {PROJECT}", env=env)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False and all("127.0.0.1" in r["error"] for r in report["results"]), (
        report
    )


# -- 12 ----------------------------------------------------------------------------------------
def test_global_options_work_after_and_before_the_command(ws: Workspace) -> None:
    quiet = ok(typed(ws, f"lht sync Account {PROJECT}"))
    assert "Connected to" not in quiet.stderr
    loud = ok(typed(ws, f"lht sync Account -v {PROJECT}"))
    assert "Connected to" in loud.stderr
    before = json.loads(ok(typed(ws, f"lht --json {PROJECT} status Account")).stdout)
    assert before["objects"][0]["object_name"] == "Account"


# -- 18 ----------------------------------------------------------------------------------------
def test_a_build_after_syncing_one_object_builds_the_others_empty_then_fills_them(
    workspace: Workspace,
) -> None:
    ws = workspace
    project = f"--project-dir dbt_project --profiles-dir {ws.profiles.relative_to(ws.root)}"
    ok(typed(ws, f"lht sync Account {project}"))
    build = ok(typed(ws, f"dbt build {project} --exclude-resource-type unit_test"))
    assert "Contact has no staging table yet" in build.stdout
    assert ws.main_rows("contact") == []
    _, columns = ws.query(
        "select column_name from information_schema.columns "
        "where lower(table_schema) = 'salesforce' and lower(table_name) = 'contact'"
    )
    assert {c[0].lower() for c in columns} >= {
        "id",
        "_lht_is_deleted",
        "_lht_batch_id",
        "_lht_synced_at",
    }
    ok(typed(ws, f"lht sync {project}"))
    ok(typed(ws, f"dbt build {project} --exclude-resource-type unit_test"))
    contacts = {r["id"]: r for r in ws.main_rows("contact")}
    expected = org_records(ws.org, "Contact")
    assert set(contacts) == set(expected) and all(
        r["lastname"] == expected[i]["lastname"] for i, r in contacts.items()
    )
