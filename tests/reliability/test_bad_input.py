"""Bad input: each mistake ends `lht sync` non-zero with a one-paragraph message on stderr
that says what to fix, no traceback, nothing written to the warehouse (no staging table,
no state row), and no secret in the output (at -vv), the JSON report or any URL.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from e2e.conftest import BIN, Run, Workspace

from .conftest import (
    assert_clean_failure,
    assert_no_secret_leaked,
    staging_tables,
    state_rows,
    sync_vv,
)


@pytest.fixture
def engine_name() -> str:
    """Bad input is refused before the warehouse is touched (lht logs in to Salesforce
    before it connects to the warehouse), so the dialect does not matter: DuckDB only."""
    return "duckdb"


def _assert_nothing_written(ws: Workspace) -> None:
    """No staging table of an object, no state row, no push result, no Bulk job (lht's empty bookkeeping
    tables may exist, and the run history records the failed run)."""
    tables = staging_tables(ws) - {
        "_lht_lock",
        "_lht_state",
        "_lht_describe",
        "_lht_runs",
        "_lht_push_results",
        "_lht_bulk_jobs",
    }
    assert not tables, f"a failed run wrote to the warehouse: {sorted(tables)}"
    assert not state_rows(ws), "a failed run saved state"
    for empty in ("_lht_push_results", "_lht_bulk_jobs"):
        if empty in staging_tables(ws):
            assert ws.query(f"select count(*) from salesforce_staging.{empty}")[1][0][0] == 0


@pytest.mark.parametrize(
    "name",
    [
        "Account; DROP TABLE x",
        "Acc'ount",
        "../Account",
        "Account--",
        "1Account",
        "Account\nContact",
        "Account__c; DELETE FROM salesforce_staging._lht_state",
    ],
)
def test_malformed_object_names_are_rejected_before_any_sql_or_soql(
    ws: Workspace, name: str
) -> None:
    run = sync_vv(ws, name)
    assert_clean_failure(run, "not a valid salesforce object api name")
    _assert_nothing_written(ws)
    assert not ws.org.faults.requests(), "a malformed name reached Salesforce"


def test_an_unregistered_object_is_named_with_how_to_register_it(ws: Workspace) -> None:
    run = sync_vv(ws, "Invoice__c")
    assert_clean_failure(run, "Invoice__c is not registered", "lht add Invoice__c")
    _assert_nothing_written(ws)


@pytest.mark.parametrize(
    "where",
    [
        "Name = 'x') OR (Name != null",
        "Name = 'x'; DELETE FROM Account",
        "Name = 'x' -- and the rest",
        "Name = 'unterminated",
        "Name = 'x' /* comment */",
    ],
)
def test_an_injection_in_a_where_filter_is_refused_before_anything_is_read(
    ws: Workspace, where: str
) -> None:
    config_path = ws.project / "dbt_project.yml"
    config = yaml.safe_load(config_path.read_text())
    config["vars"]["lht_objects"] = {"Account": {"where": where}}
    config_path.write_text(yaml.safe_dump(config))
    run = sync_vv(ws, "Account")
    assert_clean_failure(run, "filter", "lht_objects")
    _assert_nothing_written(ws)
    assert not ws.org.faults.requests(), "an unsafe filter reached Salesforce"


@pytest.mark.parametrize("case", ["missing", "conflicting", "not-https", "bad-budget"])
def test_missing_conflicting_or_invalid_settings_say_which_variable_to_fix(
    ws: Workspace, case: str
) -> None:
    sf_vars = tuple(k for k in ws.env if k.startswith("SF_"))
    if case == "missing":
        run, needle = sync_vv(ws, "Account", drop_env=sf_vars), "SF_ACCESS_TOKEN"
    elif case == "conflicting":
        run = sync_vv(ws, "Account", extra_env=ws.org.env("password"))
        needle = "Conflicting"
    elif case == "not-https":
        run, needle = (
            sync_vv(ws, "Account", extra_env={"SF_INSTANCE_URL": "http://127.0.0.1:1"}),
            "https",
        )
    else:
        run, needle = sync_vv(ws, "Account", extra_env={"LHT_API_BUDGET": "lots"}), "LHT_API_BUDGET"
    assert_clean_failure(run, needle)
    _assert_nothing_written(ws)
    assert_no_secret_leaked(run, ws.org, ws)


#: flow -> what Salesforce answers a wrong credential of that flow (lht passes it on)
REFUSALS = {
    "password": "Invalid username, password, security token; or user locked out",
    "client_credentials": "invalid client credentials",
    "jwt": "invalid assertion",
}


@pytest.mark.parametrize("flow", sorted(REFUSALS))
def test_wrong_credentials_fail_the_login_without_echoing_them(
    make_ws, small_org, tmp_path: Path, flow: str
) -> None:
    ws = make_ws(small_org, flow=flow)
    if flow == "password":
        wrong = {"SF_PASSWORD": "Wr0ng-" + small_org.password[::-1]}
    elif flow == "client_credentials":
        wrong = {"SF_CLIENT_SECRET": "Wr0ng-" + small_org.client_secret[::-1]}
    else:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key = tmp_path / "other.pem"
        key.write_bytes(
            other.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        wrong = {"SF_PRIVATE_KEY_FILE": str(key)}
    run = sync_vv(ws, "Account", extra_env=wrong)
    assert_clean_failure(
        run, "Salesforce refused the login", f"at {small_org.login_url}", REFUSALS[flow]
    )
    _assert_nothing_written(ws)
    assert_no_secret_leaked(run, ws.org, ws)
    for value in wrong.values():
        assert value not in run.stdout + run.stderr


def test_an_unreachable_host_fails_after_retrying_and_names_the_host(ws: Workspace) -> None:
    started = time.monotonic()
    run = sync_vv(ws, "Account", extra_env={"SF_INSTANCE_URL": "https://127.0.0.1:9"})
    assert_clean_failure(run, "could not reach https://127.0.0.1:9", "SF_INSTANCE_URL")
    assert time.monotonic() - started < 120
    _assert_nothing_written(ws)
    assert_no_secret_leaked(run, ws.org, ws)


@pytest.mark.parametrize(
    "case", ["bad-yaml", "unknown-target", "unsupported-adapter", "missing-env-var"]
)
def test_a_broken_profile_says_what_is_wrong_with_it(ws: Workspace, case: str) -> None:
    profiles = ws.profiles / "profiles.yml"
    args: list[str] = ["Account"]
    if case == "bad-yaml":
        profiles.write_text("lht:\n  target: [unclosed\n  outputs: {\n")
        needle = "not valid YAML"
    elif case == "unknown-target":
        args = ["--target", "nope", "Account"]
        needle = "nope"
    elif case == "unsupported-adapter":
        profiles.write_text(
            yaml.safe_dump(
                {
                    "lht": {
                        "target": "pg",
                        "outputs": {
                            "pg": {
                                "type": "postgres",
                                "host": "localhost",
                                "user": "u",
                                "password": "pw-not-shown",
                                "dbname": "d",
                                "schema": "s",
                                "port": 5432,
                            }
                        },
                    }
                }
            )
        )
        needle = "not supported"
    else:
        profiles.write_text(
            yaml.safe_dump(
                {
                    "lht": {
                        "target": "sf",
                        "outputs": {
                            "sf": {
                                "type": "snowflake",
                                "account": "{{ env_var('LHT_TEST_UNSET_ACCOUNT') }}",
                                "user": "u",
                                "password": "pw-not-shown",
                                "database": "d",
                                "schema": "s",
                                "warehouse": "w",
                            }
                        },
                    }
                }
            )
        )
        needle = "LHT_TEST_UNSET_ACCOUNT"
    run = sync_vv(ws, *args)
    assert_clean_failure(run, needle)
    assert "pw-not-shown" not in run.stdout + run.stderr
    assert not ws.org.faults.requests(), "lht called Salesforce before its profile was valid"


def test_files_holding_credentials_are_readable_by_their_owner_only(
    small_org, tmp_path: Path
) -> None:
    assert stat.S_IMODE(os.stat(small_org.private_key_path).st_mode) == 0o600
    state = tmp_path / "devorg"
    proc = subprocess.Popen(
        [str(BIN / "lht"), "devorg", "--state-dir", str(state), "--counts", "Account=1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (state / "env.sh").exists():
            assert proc.poll() is None and time.monotonic() < deadline, (
                "lht devorg did not write env.sh"
            )
            time.sleep(0.1)
        secret_files = [state / "env.sh", *state.glob("*key*.pem")]
        assert len(secret_files) >= 2
        for path in secret_files:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, (
                f"{path.name} is readable by others"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_lht_add_of_a_name_with_a_trailing_newline_is_refused_and_the_project_still_parses(
    ws: Workspace,
) -> None:
    """``lht add $'Foo__c\\n'`` once wrote ``foo__c\\n.sql``, and ``dbt parse`` of the whole
    project failed; the name is refused whole (exit 2) before anything is written or asked."""
    models = ws.project / "models" / "salesforce"
    before = sorted(p.name for p in models.iterdir())
    argv = [str(BIN / "lht"), "add", "Foo__c\n", "--project-dir", "dbt_project"]
    proc = subprocess.run(
        argv, env=ws.env, cwd=ws.root, capture_output=True, text=True, timeout=300, check=False
    )
    run = Run(argv, proc.returncode, proc.stdout, proc.stderr)
    assert run.returncode == 2, run.stdout + run.stderr
    assert_clean_failure(run, "'Foo__c\\n'", "not a valid salesforce object api name")
    assert sorted(p.name for p in models.iterdir()) == before
    assert not ws.org.faults.requests(), "a malformed name reached Salesforce"
    ws.run(
        "dbt", "parse", "--project-dir", str(ws.project), "--profiles-dir", str(ws.profiles)
    ).check()
