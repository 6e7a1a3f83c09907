"""Fixtures for the dbt project's tests: a private copy of the project, a warehouse with
staging tables written the loader's way, and `dbt` run against it as a process of its own
(forked from one that has imported dbt, see :mod:`forkrun`).

Two engines: a DuckDB file (target type duckdb) and the fakesnow server through
dbt-snowflake (target type snowflake).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from dbtparse import copy_project, one_thread, seed_partial_parse
from forkrun import run_dbt

from lht.typemap import FieldSpec, arrow_type, timestamp_sql_type
from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.target import Target
from lht.warehouse.writer import ensure_table, new_batch_id, write_batch

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))


@dataclass
class DbtResult:
    """One finished dbt command."""

    args: list[str]
    returncode: int
    output: str
    target_dir: Path

    def check(self) -> DbtResult:
        """Fail the test with dbt's output unless the command succeeded."""
        assert self.returncode == 0, f"dbt {' '.join(self.args)} failed:\n{self.output[-6000:]}"
        return self

    def results(self, name: str = "run_results.json") -> list[dict[str, Any]]:
        """The per-node results dbt wrote (``run_results.json`` or ``sources.json``)."""
        return json.loads((self.target_dir / name).read_text())["results"]


@dataclass
class DbtEnv:
    """A copy of the dbt project plus a profile pointing at one test warehouse."""

    engine: str
    project: Path
    profiles: Path
    target: Target
    staging_schema: str = "salesforce_staging"
    schema: str = "salesforce"
    _fields: dict[str, list[FieldSpec]] = field(default_factory=dict)

    # -- dbt ---------------------------------------------------------------------------
    def dbt(
        self, *args: str, vars: dict[str, Any] | None = None, project: Path | None = None
    ) -> DbtResult:
        """Run ``dbt ARGS`` on the copy of the project, or on ``project`` (another dbt project
        using the same profiles); no check of the outcome."""
        project = project or self.project
        cmd = [*args, "--project-dir", str(project), "--profiles-dir", str(self.profiles)]
        if args[0] == "build":
            # the unit tests read only their fixtures; they run in the tests that select them:
            # the merge's and main tables' on DuckDB (test_unit_tests_of_the_merge_pass), the
            # push models' on both dialects (test_unit_tests_of_the_push_models_pass;
            # fakesnow_compat makes dbt's qualified temporary table a plain one)
            cmd += ["--exclude-resource-type", "unit_test"]
        if vars:
            cmd += ["--vars", json.dumps(vars)]
        proc = run_dbt([DBT, *cmd], env=os.environ, cwd=project, timeout=300)
        return DbtResult(list(args), proc.returncode, proc.stdout + proc.stderr, project / "target")

    def add_model(self, name: str, sql: str) -> None:
        """Add a model file to the copy of the project (e.g. an opt-in history model)."""
        (self.project / "models" / "salesforce" / f"{name}.sql").write_text(sql + "\n")

    # -- warehouse ---------------------------------------------------------------------
    def warehouse(self) -> Warehouse:
        """A fresh connection (DuckDB allows one process per file: close it before dbt runs)."""
        return connect(self.target, staging_schema=self.staging_schema)

    def query(self, sql: str) -> list[tuple]:
        """Rows of one query on the test warehouse."""
        wh = self.warehouse()
        try:
            return wh.execute(sql)
        finally:
            wh.close()

    def write(
        self,
        object_name: str,
        rows: Sequence[dict[str, Any]],
        *,
        kind: str = "record",
        fields: Sequence[FieldSpec] | None = None,
        extracted_at: datetime | None = None,
    ) -> str:
        """Append ``rows`` to the staging table as one batch of ``kind``; return its batch id.

        ``fields`` (kept per object, new ones add columns) types the staging table the way
        the loader does. DuckDB goes through ``lht.warehouse.writer.write_batch``; on fakesnow the
        writer's DDL is used and the rows are inserted with bind parameters.
        """
        known = self._fields.setdefault(object_name, [])
        for spec in fields or ():
            if spec.name not in {f.name for f in known}:
                known.append(spec)
        extracted_at = extracted_at or datetime.now(timezone.utc)
        wh = self.warehouse()
        try:
            wh.ensure_schema()
            if self.engine == "duckdb":
                columns = {
                    name: [row.get(name) for row in rows] for name in {k for r in rows for k in r}
                }
                data = pa.table(
                    {
                        spec.name: pa.array(columns[spec.name], arrow_type(spec))
                        for spec in known
                        if spec.name in columns
                    }
                )
                return write_batch(
                    wh, object_name, data, known, kind=kind, extracted_at=extracted_at
                ).batch_id
            table = ensure_table(wh, object_name, known)
            batch_id = new_batch_id()
            names = [spec.name for spec in known] + [
                "_lht_batch_id",
                "_lht_extracted_at",
                "_lht_kind",
            ]
            timestamp = timestamp_sql_type("snowflake")
            binds = [
                f"cast(? as {timestamp})" if spec.kind == "datetime" else "?" for spec in known
            ]
            sql = (
                f"insert into {table} ({', '.join(wh.quote(n) for n in names)}) "
                f"values ({', '.join(binds)}, ?, cast(? as {timestamp}), ?)"
            )
            for row in rows:
                values = [row.get(spec.name) for spec in known] + [batch_id, extracted_at, kind]
                wh.execute(sql, [_bind(value) for value in values])
            return batch_id
        finally:
            wh.close()


def _bind(value: Any) -> Any:
    """Datetimes travel as UTC ISO text (cast in SQL): the connector's own binding of
    timezone-aware datetimes is not what fakesnow expects."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(sep=" ", timespec="milliseconds")
    return value


@pytest.fixture
def duckdb_env(tmp_path: Path) -> DbtEnv:
    """The project on a fresh DuckDB file, through the project's own `local` target.

    The profile names the file relative to where dbt runs (the project, or a consumer project
    beside it), so every test has the same profile and starts from the seeded partial parse
    of the shipped project (:mod:`dbtparse`)."""
    project = copy_project(tmp_path / "dbt_project")
    path = tmp_path / "warehouse" / "lht.duckdb"
    path.parent.mkdir()
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = one_thread((PROJECT_DIR / "profiles.yml").read_text()).replace(
        "'lht.duckdb'", repr("../warehouse/lht.duckdb")
    )
    (profiles / "profiles.yml").write_text(text)
    seed_partial_parse(project / "target", env=os.environ, profiles_text=text)
    target = Target(
        kind="duckdb",
        name="local",
        profile="lht",
        profiles_file=profiles / "profiles.yml",
        path=path,
        database="lht",
    )
    return DbtEnv("duckdb", project, profiles, target)


@pytest.fixture
def snowflake_env(fakesnow_server: dict, snowflake_database: str, tmp_path: Path) -> DbtEnv:
    """The project on the fakesnow server through dbt-snowflake, in a fresh database."""
    import snowflake.connector

    with snowflake.connector.connect(**fakesnow_server) as conn:
        conn.cursor().execute(f"create database if not exists {snowflake_database}")
    project = copy_project(tmp_path / "dbt_project")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    output = {
        "type": "snowflake",
        "account": fakesnow_server["account"],
        "user": fakesnow_server["user"],
        "password": fakesnow_server["password"],
        "host": fakesnow_server["host"],
        "port": fakesnow_server["port"],
        "protocol": fakesnow_server["protocol"],
        "database": snowflake_database,
        "schema": "salesforce",
        "warehouse": "test",
        "threads": 1,
    }
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"lht": {"target": "fakesnow", "outputs": {"fakesnow": output}}})
    )
    target = Target(
        kind="snowflake",
        name="fakesnow",
        profile="lht",
        profiles_file=profiles / "profiles.yml",
        account=output["account"],
        user=output["user"],
        password=output["password"],
        host=output["host"],
        port=output["port"],
        protocol=output["protocol"],
        database=snowflake_database,
        schema="PUBLIC",
    )
    return DbtEnv("snowflake", project, profiles, target)


@pytest.fixture(
    params=[pytest.param("duckdb"), pytest.param("snowflake", marks=pytest.mark.snowflake)]
)
def env(request: pytest.FixtureRequest) -> DbtEnv:
    """The same test on DuckDB and on the Snowflake dialect (fakesnow)."""
    return request.getfixturevalue(f"{request.param}_env")
