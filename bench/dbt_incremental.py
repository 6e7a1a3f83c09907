"""Benchmark: does an incremental build cost the change, not the table? (DuckDB)

Builds a staging table of ROWS Account versions in a scratch DuckDB file, times the first
(full) `dbt run` of the account model, appends one batch changing PERCENT % of the Ids,
and times the incremental run. Prints wall time and dbt's own model time for both.

    python bench/dbt_incremental.py [--rows 1000000] [--percent 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))

STAGING_DDL = """
create schema if not exists salesforce_staging;
create table salesforce_staging.account (
    "Id" varchar, "Name" varchar, "Industry" varchar, "BillingCity" varchar,
    "BillingCountry" varchar, "AnnualRevenue" decimal(18, 2), "NumberOfEmployees" bigint,
    "Description" varchar, "CreatedDate" timestamptz, "LastModifiedDate" timestamptz,
    "SystemModstamp" timestamptz, "IsDeleted" boolean,
    "_lht_batch_id" varchar, "_lht_extracted_at" timestamptz, "_lht_kind" varchar
);
"""

BATCH = """
insert into salesforce_staging.account
select
    '001' || lpad(cast(i as varchar), 15, '0') as "Id",
    'Account ' || i || ?,
    ['Energy', 'Retail', 'Media', 'Banking'][1 + i % 4],
    'City ' || (i % 997),
    'Country ' || (i % 31),
    cast(i % 100000 as decimal(18, 2)) * 3,
    i % 5000,
    repeat('x', 40),
    timestamptz '2020-01-01 00:00:00+00' + to_seconds(i),
    cast(? as timestamptz) + to_seconds(i % 3600),
    cast(? as timestamptz) + to_seconds(i % 3600),
    false,
    ?,
    cast(? as timestamptz),
    'record'
from range(0, ?, ?) as r(i)
"""


def dbt_run(project: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run the account model; return (wall seconds, dbt's execution seconds of the model)."""
    start = time.perf_counter()
    subprocess.run([DBT, "run", "--select", "account", "--project-dir", str(project),
                    "--profiles-dir", str(project)], cwd=project, env=env, check=True,
                   capture_output=True, text=True)
    wall = time.perf_counter() - start
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return wall, results[0]["execution_time"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--percent", type=float, default=1.0)
    args = parser.parse_args()
    step = max(1, round(100 / args.percent))

    with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
        project = Path(tmp) / "dbt_project"
        shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
        db = Path(tmp) / "bench.duckdb"
        env = {**os.environ, "LHT_DUCKDB_PATH": str(db), "LHT_TARGET": "local"}

        with duckdb.connect(str(db)) as con:
            con.execute(STAGING_DDL)
            con.execute(BATCH, ["", "2024-01-01 00:00:00+00", "2024-01-01 00:00:00+00",
                                "20240101T000000000000Z-00000001", "2024-01-01 00:00:00+00", args.rows, 1])
        full = dbt_run(project, env)

        with duckdb.connect(str(db)) as con:
            con.execute(BATCH, [" changed", "2024-02-01 00:00:00+00", "2024-02-01 00:00:00+00",
                                "20240201T000000000000Z-00000002", "2024-02-01 00:00:00+00", args.rows, step])
            changed = con.execute("select count(*) from salesforce_staging.account "
                                  "where _lht_batch_id = '20240201T000000000000Z-00000002'").fetchone()[0]
        incremental = dbt_run(project, env)

        with duckdb.connect(str(db)) as con:
            rows, updated = con.execute("select count(*), count(*) filter (where \"Name\" like '% changed') "
                                        "from salesforce.account").fetchone()
        if rows != args.rows or updated != changed:
            raise SystemExit(f"unexpected result: {rows} rows, {updated} changed (expected {args.rows}, {changed})")

    print(f"account: {args.rows:,} rows, incremental batch changes {changed:,} Ids ({args.percent:g} %)")
    print(f"{'build':<12} {'wall s':>8} {'model s':>8}")
    print(f"{'full':<12} {full[0]:>8.2f} {full[1]:>8.2f}")
    print(f"{'incremental':<12} {incremental[0]:>8.2f} {incremental[1]:>8.2f}")
    print(f"incremental / full (model time): {incremental[1] / full[1]:.0%}")


if __name__ == "__main__":
    main()
