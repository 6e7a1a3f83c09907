"""load_target (dbt profiles, rendered by dbt) and the Warehouse connection on each engine."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lht.errors import ConfigError, InvalidNameError, WarehouseError
from lht.warehouse.connection import Warehouse, connect, load_target

PROJECT = "name: lht_test\nversion: '1.0'\nprofile: lht\n"


def project(tmp_path: Path, profiles: str, *, profiles_in_project: bool = True) -> Path:
    """A dbt project directory with ``profiles.yml`` beside it (or in ./profiles)."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "dbt_project.yml").write_text(PROJECT)
    where = proj if profiles_in_project else tmp_path / "profiles"
    where.mkdir(exist_ok=True)
    (where / "profiles.yml").write_text(profiles)
    return proj


@pytest.fixture(autouse=True)
def _no_outside_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("LHT_STAGING_SCHEMA", raising=False)


DUCK_PROFILES = """
lht:
  target: "{{ env_var('LHT_TEST_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('LHT_TEST_DB', 'data/lht.duckdb') }}"
      threads: 4
    other:
      type: duckdb
      path: /nonexistent/other.duckdb
"""


def test_duckdb_target_renders_env_var_defaults_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(tmp_path, DUCK_PROFILES)
    monkeypatch.chdir(tmp_path)  # dbt-duckdb opens a relative path from where dbt runs
    target = load_target(proj)
    assert (target.kind, target.name, target.profile) == ("duckdb", "dev", "lht")
    assert target.path == tmp_path / "data" / "lht.duckdb"
    assert target.database == "lht"
    with connect(target) as wh:
        assert wh.execute("SELECT 42") == [(42,)]
    assert target.path.exists()


def test_env_vars_choose_the_target_and_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(tmp_path, DUCK_PROFILES)
    monkeypatch.setenv("LHT_TEST_DB", str(tmp_path / "abs.duckdb"))
    assert load_target(proj).path == tmp_path / "abs.duckdb"
    monkeypatch.setenv("LHT_TEST_TARGET", "other")
    assert load_target(proj).name == "other"
    assert load_target(proj, target="dev").name == "dev"


def test_profiles_dir_comes_from_the_argument_then_dbt_profiles_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project(tmp_path, DUCK_PROFILES, profiles_in_project=False)
    with pytest.raises(ConfigError, match="profiles.yml"):
        load_target(proj, profiles_dir=tmp_path / "nowhere")
    assert load_target(proj, profiles_dir=tmp_path / "profiles").name == "dev"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / "profiles"))
    assert load_target(proj).profiles_file == tmp_path / "profiles" / "profiles.yml"


def test_a_missing_env_var_names_the_variable_file_profile_and_target(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        """
lht:
  target: prod
  outputs:
    prod:
      type: snowflake
      account: "{{ env_var('LHT_TEST_MISSING_ACCOUNT') }}"
      user: u
      password: "{{ env_var('DBT_ENV_SECRET_LHT_TEST_PW') }}"
""",
    )
    with pytest.raises(ConfigError) as err:
        load_target(proj)
    msg = str(err.value)
    assert (
        "LHT_TEST_MISSING_ACCOUNT" in msg
        and "'lht'" in msg
        and "prod" in msg
        and "profiles.yml" in msg
    )


def test_an_unsupported_adapter_is_refused(tmp_path: Path) -> None:
    proj = project(
        tmp_path, "lht:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: x\n"
    )
    with pytest.raises(ConfigError, match="postgres.*not supported"):
        load_target(proj)


def test_missing_files_profiles_and_targets_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dbt_project.yml"):
        load_target(tmp_path)
    proj = project(
        tmp_path, "someone_else:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
    )
    with pytest.raises(ConfigError, match="Profile 'lht'.*not defined"):
        load_target(proj)
    (proj / "profiles.yml").write_text(DUCK_PROFILES)
    with pytest.raises(ConfigError, match="(?s)'nope'.*dev.*other"):
        load_target(proj, target="nope")


def snowflake_profiles(server: dict, database: str, auth: str) -> str:
    return f"""
lht:
  target: snow
  outputs:
    snow:
      type: snowflake
      account: "{{{{ env_var('LHT_TEST_SF_ACCOUNT') }}}}"
      user: "{{{{ env_var('LHT_TEST_SF_USER') }}}}"
{auth}
      role: TRANSFORMER
      warehouse: WH
      database: {database}
      schema: analytics
      host: {server["host"]}
      port: "{{{{ env_var('LHT_TEST_SF_PORT') }}}}"
      protocol: {server["protocol"]}
      threads: 2
"""


@pytest.fixture
def sf_env(monkeypatch: pytest.MonkeyPatch, fakesnow_server: dict) -> dict:
    monkeypatch.setenv("LHT_TEST_SF_ACCOUNT", fakesnow_server["account"])
    monkeypatch.setenv("LHT_TEST_SF_USER", fakesnow_server["user"])
    monkeypatch.setenv("LHT_TEST_SF_PORT", str(fakesnow_server["port"]))
    return fakesnow_server


def test_snowflake_password_target_connects(
    tmp_path: Path, sf_env: dict, snowflake_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_ENV_SECRET_LHT_TEST_PW", "s3cret-pw")
    auth = "      password: \"{{ env_var('DBT_ENV_SECRET_LHT_TEST_PW') }}\""
    target = load_target(project(tmp_path, snowflake_profiles(sf_env, snowflake_database, auth)))
    assert (target.kind, target.account, target.user, target.password) == (
        "snowflake",
        "fakesnow",
        "fake",
        "s3cret-pw",
    )
    assert (target.port, target.protocol, target.role, target.database) == (
        sf_env["port"],
        "http",
        "TRANSFORMER",
        snowflake_database,
    )
    assert "s3cret-pw" not in repr(target)
    with connect(target) as wh:
        assert wh.execute("SELECT ?", [7]) == [(7,)]
        assert wh.database == snowflake_database.upper()


def rsa_pem(passphrase: bytes | None) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def test_snowflake_key_pair_from_an_encrypted_key_file_connects(
    tmp_path: Path, sf_env: dict, snowflake_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_bytes(rsa_pem(b"key-pass"))
    monkeypatch.setenv("DBT_ENV_SECRET_LHT_TEST_KEY_PASS", "key-pass")
    auth = (
        f"      private_key_path: {key_file}\n"
        "      private_key_passphrase: \"{{ env_var('DBT_ENV_SECRET_LHT_TEST_KEY_PASS') }}\""
    )
    target = load_target(project(tmp_path, snowflake_profiles(sf_env, snowflake_database, auth)))
    assert target.private_key_path == str(key_file) and target.password is None
    with connect(target) as wh:
        assert wh.execute("SELECT 1") == [(1,)]

    monkeypatch.setenv("DBT_ENV_SECRET_LHT_TEST_KEY_PASS", "wrong-pass")
    with pytest.raises(ConfigError, match="passphrase") as err:
        connect(load_target(key_file.parent / "proj"))
    assert "wrong-pass" not in str(err.value) and "key-pass" not in str(err.value)


def test_snowflake_key_pair_from_pem_text_in_an_env_var_connects(
    tmp_path: Path, sf_env: dict, snowflake_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_ENV_SECRET_LHT_TEST_PEM", rsa_pem(None).decode())
    auth = "      private_key: \"{{ env_var('DBT_ENV_SECRET_LHT_TEST_PEM') }}\""
    target = load_target(project(tmp_path, snowflake_profiles(sf_env, snowflake_database, auth)))
    assert target.private_key and target.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert "BEGIN PRIVATE KEY" not in repr(target)
    with connect(target) as wh:
        assert wh.execute("SELECT 1") == [(1,)]


# -- the Warehouse interface ---------------------------------------------------------------


def test_identifiers_follow_each_engines_case_rule(duck_wh: Warehouse, snow_wh: Warehouse) -> None:
    assert duck_wh.column_name("BillingCity") == "BillingCity"
    assert snow_wh.column_name("BillingCity") == "BILLINGCITY"
    assert duck_wh.quote('we"ird') == '"we""ird"'
    assert duck_wh.table("account") == '"salesforce_staging"."account"'
    assert snow_wh.table("account") == f'"{snow_wh.database}"."SALESFORCE_STAGING"."ACCOUNT"'
    assert duck_wh.staging_table("ns__Thing__c") == '"salesforce_staging"."ns__thing__c"'
    with pytest.raises(InvalidNameError):
        duck_wh.staging_table("Account; DROP TABLE x")


def test_columns_of_a_missing_table_are_empty(wh: Warehouse) -> None:
    assert wh.columns("nothing_here") == {}
    wh.ensure_schema()
    wh.execute(f"CREATE TABLE {wh.table('t1')} ({wh.quote('Id')} VARCHAR, {wh.quote('N')} BIGINT)")
    assert list(wh.columns("t1")) == ["id", "n"]


def test_a_failed_transaction_rolls_back(wh: Warehouse) -> None:
    wh.ensure_schema()
    table = wh.table("t2")
    wh.execute(f"CREATE TABLE {table} ({wh.quote('Id')} VARCHAR)")
    with pytest.raises(RuntimeError), wh.transaction():
        wh.execute(f"INSERT INTO {table} VALUES (?)", ["a"])
        raise RuntimeError("boom")
    with wh.transaction():
        wh.execute(f"INSERT INTO {table} VALUES (?)", ["b"])
    assert wh.execute(f"SELECT * FROM {table}") == [("b",)]


def test_engine_errors_become_warehouse_errors_naming_the_statement(wh: Warehouse) -> None:
    with pytest.raises(WarehouseError, match="SELECT"):
        wh.execute("SELECT * FROM no_such_schema.no_such_table")


def test_a_thread_view_works_from_another_thread(wh: Warehouse) -> None:
    wh.ensure_schema()
    table = wh.table("t3")
    wh.execute(f"CREATE TABLE {table} ({wh.quote('Id')} VARCHAR)")
    view = wh.cursor_for_thread()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            view.execute(f"INSERT INTO {table} VALUES (?)", ["from-thread"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    view.close()
    assert not errors
    assert wh.execute(f"SELECT * FROM {table}") == [("from-thread",)]


REPO_DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def test_the_projects_own_profiles_read_as_the_embedded_duckdb_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("LHT_TARGET", "LHT_DUCKDB_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    target = load_target(REPO_DBT_PROJECT)
    assert target.kind == "duckdb"
    assert target.path == tmp_path / "lht.duckdb", (
        "the same file dbt-duckdb opens when run from here"
    )


def test_the_projects_own_snowflake_profile_treats_empty_settings_as_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "LHT_TARGET": "snowflake",
        "SNOWFLAKE_ACCOUNT": "acme-xy123",
        "SNOWFLAKE_USER": "loader",
        "SNOWFLAKE_WAREHOUSE": "LOAD_WH",
        "SNOWFLAKE_DATABASE": "RAW",
        "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "pw",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for var in (
        "SNOWFLAKE_ROLE",
        "SNOWFLAKE_PRIVATE_KEY_PATH",
        "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY",
        "SNOWFLAKE_AUTHENTICATOR",
        "SNOWFLAKE_HOST",
        "SNOWFLAKE_SCHEMA",
        "LHT_SCHEMA",
    ):
        monkeypatch.delenv(var, raising=False)
    target = load_target(REPO_DBT_PROJECT)
    assert (target.kind, target.account, target.user, target.password) == (
        "snowflake",
        "acme-xy123",
        "loader",
        "pw",
    )
    assert (target.role, target.private_key, target.private_key_path, target.host) == (
        None,
        None,
        None,
        None,
    )
    assert (target.database, target.schema) == ("RAW", "salesforce")
