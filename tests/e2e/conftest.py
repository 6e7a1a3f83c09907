"""End-to-end fixtures: the local org over HTTPS, `lht` and `dbt` run as processes of their
own as a user or scheduler runs them (`dbt` forked from a process that has imported it, see
:mod:`forkrun`), on DuckDB and on the Snowflake dialect (fakesnow server).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbtparse import copy_project, one_thread, seed_partial_parse
from forkrun import run_dbt

from lht_devorg import DevOrg, ShiftedClock

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"
BIN = Path(sys.executable).parent
METADATA = {"_lht_batch_id", "_lht_extracted_at", "_lht_synced_at", "_lht_is_deleted", "_lht_kind"}


@dataclass
class Run:
    """A finished `lht` or `dbt` command."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """The JSON run report of `lht sync --json`."""
        return json.loads(self.stdout)

    def check(self) -> Run:
        assert self.returncode == 0, (
            f"{' '.join(self.argv)} exited {self.returncode}:\n{self.stdout[-5000:]}\n{self.stderr[-5000:]}"
        )
        return self


@dataclass
class Workspace:
    """A copy of the dbt project, a warehouse (DuckDB file or fakesnow database) and the org."""

    engine: str
    root: Path
    org: DevOrg
    project: Path
    profiles: Path
    env: dict[str, str]
    snowflake: dict[str, Any] = field(default_factory=dict)

    def run(
        self, tool: str, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 600
    ) -> Run:
        """Run ``tool ARGS`` (``lht`` or ``dbt``) with the workspace's environment."""
        argv = [str(BIN / tool), *args]
        env = {**self.env, **(extra_env or {})}
        if tool == "dbt":  # forked from a process that has imported dbt: see forkrun
            proc = run_dbt(argv, env=env, cwd=self.root, timeout=timeout)
        else:
            proc = subprocess.run(
                argv, env=env, cwd=self.root, capture_output=True, text=True, timeout=timeout
            )
        return Run(argv, proc.returncode, proc.stdout, proc.stderr)

    def sync(self, *args: str, extra_env: dict[str, str] | None = None, check: bool = True) -> Run:
        """``lht sync --json ARGS`` on this workspace's project and profile."""
        run = self.run(
            "lht",
            "sync",
            "--json",
            "--project-dir",
            str(self.project),
            "--profiles-dir",
            str(self.profiles),
            *args,
            extra_env=extra_env,
        )
        return run.check() if check else run

    def build(self, *args: str, check: bool = True) -> Run:
        """``dbt build`` on this workspace, without dbt's unit tests: they read only their
        fixtures, so tests/dbt runs them once (test_unit_tests_of_the_merge_pass,
        test_unit_tests_of_the_push_models_pass) and the README test and the demo run them as a
        user's `dbt build` does, instead of every end-to-end build repeating them."""
        run = self.run(
            "dbt",
            "build",
            "--project-dir",
            str(self.project),
            "--profiles-dir",
            str(self.profiles),
            "--exclude-resource-type",
            "unit_test",
            *args,
        )
        return run.check() if check else run

    @property
    def duckdb_path(self) -> Path:
        """The DuckDB file of a DuckDB workspace: the profile's ``lht.duckdb`` in the root,
        where `lht` and `dbt` run (or LHT_DUCKDB_PATH, when a test sets it)."""
        return self.root / self.env.get("LHT_DUCKDB_PATH", "lht.duckdb")

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Column names (lower-case) and rows of one query on the warehouse."""
        if self.engine == "duckdb":
            import duckdb

            con = duckdb.connect(str(self.duckdb_path), read_only=True)
            try:
                cur = con.execute(sql)
                return [d[0].lower() for d in cur.description], cur.fetchall()
            finally:
                con.close()
        import snowflake.connector

        with snowflake.connector.connect(**self.snowflake) as conn:
            cur = conn.cursor()
            cur.execute(sql)
            return [d[0].lower() for d in cur.description], cur.fetchall()

    def main_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``salesforce.<table>`` as dicts keyed by lower-case column name."""
        names, rows = self.query(f"select * from salesforce.{table}")
        return [dict(zip(names, row, strict=True)) for row in rows]


def make_workspace(
    engine: str, root: Path, org: DevOrg, fakesnow: dict | None = None, flow: str = "token"
) -> Workspace:
    """A workspace on ``engine`` ("duckdb" or "snowflake") against ``org``.

    On DuckDB the project's own profile is used as shipped (but for dbt's ``threads: 1``): its
    file is ``lht.duckdb`` in the workspace root, where `lht` and `dbt` run
    (``Workspace.duckdb_path``; LHT_DUCKDB_PATH is not set). Every DuckDB workspace then has the same profile, so dbt starts from the
    partial parse of the shipped project (:mod:`dbtparse`) instead of parsing it again.
    """
    project = copy_project(root / "dbt_project")
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SF_", "SNOWFLAKE_", "DBT_ENV_SECRET", "LHT_"))
    }
    env = {
        **base,
        **org.env(flow),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
    }
    if engine == "duckdb":
        profile = project / "profiles.yml"
        text = one_thread(
            profile.read_text()
        )  # dbt's threads: 1, as in the Snowflake profile below
        profile.write_text(text)
        seed_partial_parse(root / "target", env=env, profiles_text=text)
        return Workspace(engine, root, org, project, project, env)
    assert fakesnow is not None
    import snowflake.connector

    database = f"LHT_E2E_{os.urandom(5).hex().upper()}"
    with snowflake.connector.connect(**fakesnow) as conn:
        conn.cursor().execute(f"create database if not exists {database}")
    output = {
        "type": "snowflake",
        "account": fakesnow["account"],
        "user": fakesnow["user"],
        "password": fakesnow["password"],
        "host": fakesnow["host"],
        "port": fakesnow["port"],
        "protocol": fakesnow["protocol"],
        "database": database,
        "schema": "salesforce",
        "warehouse": "test",
        "threads": 1,
    }
    profiles = root / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"lht": {"target": "fakesnow", "outputs": {"fakesnow": output}}})
    )
    connect_kwargs = {**fakesnow, "database": database}
    return Workspace(engine, root, org, project, profiles, env, snowflake=connect_kwargs)


@pytest.fixture
def org() -> Iterator[DevOrg]:
    """A fresh local org (default seed) for one test, on a clock tests can move forward
    (``org.clock.advance``): getDeleted covers whole minutes, and a test need not sleep."""
    with DevOrg(bulk_job_seconds=0.1, clock=ShiftedClock()) as running:
        yield running


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def workspace(request: pytest.FixtureRequest, org: DevOrg, tmp_path: Path) -> Workspace:
    """The same test on DuckDB and on the Snowflake dialect."""
    fakesnow = request.getfixturevalue("fakesnow_server") if request.param == "snowflake" else None
    return make_workspace(request.param, tmp_path, org, fakesnow)


# -- comparing main tables with the org ---------------------------------------------------------
def org_records(org: DevOrg, obj: str) -> dict[str, dict[str, Any]]:
    """Every record the org holds for ``obj`` (recycle bin included), keyed by Id."""
    cur = org.engine.cursor().execute(f"select * from {org.engine.table(obj)}")
    names = [d[0].lower() for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def normalize(value: Any) -> Any:
    """One comparable form for values read from the org store and from either warehouse.

    Salesforce keeps number fields as IEEE doubles (its REST API sends them as such), so
    non-integer numbers compare at double precision; integers compare exactly.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        if value == int(value) and abs(value) < 2**53:
            return int(value)
        return float(value)
    return value


def assert_main_table_matches_org(
    ws: Workspace, obj: str, *, gone: set[str] = frozenset(), kept_columns: set[str] = frozenset()
) -> dict[str, dict]:
    """The main table equals the org, value for value; ``gone`` Ids (hard-deleted/purged) are
    present and marked deleted; no Id appears twice. Its columns are exactly the fields the
    API user can see, lht's metadata and ``kept_columns`` (lower-case: fields that left the
    describe, whose last values the table keeps). Returns the main rows by Id."""
    rows = ws.main_rows(obj.lower())
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"{obj}: an Id appears twice in the main table"
    main = {r["id"]: r for r in rows}
    expected = org_records(ws.org, obj)
    assert set(expected) <= set(main), (
        f"{obj}: missing from the main table: {sorted(set(expected) - set(main))[:5]}"
    )
    for record_id in set(main) - set(expected):
        assert record_id in gone, f"{obj}: {record_id} is in the main table but not in the org"
        assert main[record_id]["_lht_is_deleted"] is True, (
            f"{obj}: {record_id} is gone from the org but not marked deleted"
        )
    assert rows and expected, (
        f"{obj}: nothing to compare (main rows: {len(rows)}, org records: {len(expected)})"
    )
    from lht.constants import API_VERSION

    visible = {f["name"].lower() for f in ws.org.engine.describe(obj, API_VERSION)["fields"]}
    columns = set(next(iter(expected.values()))) & visible
    main_columns = set(rows[0]) - METADATA - {"_lht_in_filter"}
    assert main_columns - columns == set(kept_columns), (
        f"{obj}: columns the org does not have: {sorted(main_columns - columns)}"
    )
    assert columns <= main_columns, (
        f"{obj}: fields missing from the main table: {sorted(columns - main_columns)}"
    )
    blobs = {
        f["name"].lower(): f["name"]
        for f in ws.org.engine.describe(obj)["fields"]
        if f["type"] == "base64"
    }
    mismatches = []
    for record_id, record in expected.items():
        for (
            column,
            name,
        ) in blobs.items():  # lht keeps the blob's URL, as Salesforce's REST query returns it
            record[column] = f"/services/data/v{API_VERSION}/sobjects/{obj}/{record_id}/{name}"
        got = main[record_id]
        if got["_lht_is_deleted"] is not bool(record.get("isdeleted")):
            mismatches.append(
                (record_id, "_lht_is_deleted", record.get("isdeleted"), got["_lht_is_deleted"])
            )
        for column in columns:
            if normalize(record[column]) != normalize(got[column]):
                mismatches.append((record_id, column, record[column], got[column]))
    assert not mismatches, f"{obj}: {len(mismatches)} value(s) differ, e.g. {mismatches[:5]}"
    return main
