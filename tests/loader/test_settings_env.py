"""``env=`` reaches every consumer: a run whose settings come only from the mapping it is
given (credentials, LHT_* tunables, the staging schema, DBT_PROFILES_DIR and the profile's
``env_var()`` calls) behaves by that mapping, whatever the process environment says."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from lht.commands.status import collect_status
from lht.sync.run import SyncRequest, run_sync

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        PROJECT_DIR,
        copy,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*"),
    )
    return copy


def test_a_sync_and_a_status_read_their_settings_from_env_not_from_the_process(
    org, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_profiles = tmp_path / "wrong_profiles"
    wrong_profiles.mkdir()
    (wrong_profiles / "profiles.yml").write_text("lht:\n  target: nope\n  outputs: {}\n")
    process = {
        "SF_INSTANCE_URL": "https://127.0.0.1:9",
        "SF_ACCESS_TOKEN": "not-a-token",
        "LHT_DUCKDB_PATH": str(tmp_path / "process.duckdb"),
        "LHT_STAGING_SCHEMA": "process_staging",
        "LHT_REST_MAX_ROWS": "1",
        "DBT_PROFILES_DIR": str(wrong_profiles),
        "LHT_SCHEMA": "process_main",
    }
    for name, value in process.items():
        monkeypatch.setenv(name, value)
    env = {
        **org.env("token"),
        "LHT_DUCKDB_PATH": str(tmp_path / "env.duckdb"),
        "LHT_STAGING_SCHEMA": "env_staging",
        "LHT_REST_MAX_ROWS": "100000",
        "DBT_PROFILES_DIR": str(project),
    }

    report = run_sync(SyncRequest(objects=("Account",), project_dir=project), env=env)

    assert report.ok, report.to_dict()
    (account,) = report.results
    assert account.engine == "rest"  # LHT_REST_MAX_ROWS of env, not the process's 1 (Bulk)
    assert not (tmp_path / "process.duckdb").exists()
    with duckdb.connect(str(tmp_path / "env.duckdb"), read_only=True) as con:
        staged = con.execute("select count(*) from env_staging.account").fetchone()[0]
        schemas = {
            r[0]
            for r in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert staged == account.rows_written == org.engine.count("Account", include_deleted=True)
    assert "process_staging" not in schemas

    status = collect_status(("Account",), project_dir=project, env=env)
    (line,) = status.objects
    assert line.last_success_at is not None and line.last_run_rows == staged
