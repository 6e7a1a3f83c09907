"""Benchmark: a full Bulk load of a large Account into DuckDB staging, against its floor
and against the naive way.

1. Seeds a local org with ROWS Accounts (one org for the whole script).
2. Floor: downloads the Bulk 2.0 CSV pages of the query lht runs (every CSV-readable
   field) once, then times pyarrow parsing exactly those bytes with the describe's
   explicit schema plus DuckDB inserting the Arrow table into a fresh database file.
3. Times ``lht sync Account`` (the real CLI, a fresh process: wall time, peak RSS, API
   calls). Ratio = lht's wall time / floor. The org's own job preparation (rendering the
   result set before JobComplete, measured on the floor's job) is inside lht's wall time
   but not in the floor, so the ratio is also shown without it.
4. The naive way on NAIVE_ROWS rows (REST query_all is slow; rows/s are compared):
   simple-salesforce ``query_all`` -> pandas DataFrame -> DuckDB table insert.

    python bench/sync_floor.py [--rows 1000000] [--naive-rows 100000]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from _harness import (
    BenchWorkspace,
    bulk_csv_pages,
    csv_fields,
    http_session,
    print_table,
    running_org,
)
from simple_salesforce import Salesforce

from lht.typemap import FieldSpec, arrow_schema


def floor_seconds(
    pages: list[bytes], schema: pa.Schema, database: Path
) -> tuple[float, float, int]:
    """(parse s, insert s, rows): pyarrow's CSV reader on the pages, then one DuckDB insert."""
    types = {f.name: (pa.string() if pa.types.is_time(f.type) else f.type) for f in schema}
    started = time.perf_counter()
    tables = [
        pacsv.read_csv(
            io.BytesIO(page),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        for page in pages
    ]
    arrow = pa.concat_tables(tables)
    parsed = time.perf_counter()
    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE account AS SELECT * FROM arrow LIMIT 0")
    con.execute("INSERT INTO account SELECT * FROM arrow")
    con.close()
    return parsed - started, time.perf_counter() - parsed, arrow.num_rows


def naive_seconds(org, soql: str, database: Path) -> tuple[float, int]:
    """simple-salesforce query_all -> pandas -> DuckDB, as hand-written loaders do it."""
    started = time.perf_counter()
    sf = Salesforce(
        session_id=org.access_token,
        instance_url=org.instance_url,
        session=http_session(org),
        version="59.0",
    )
    records = sf.query_all(soql, include_deleted=True)["records"]
    frame = pd.DataFrame(records).drop(columns="attributes")
    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE account AS SELECT * FROM frame")
    con.close()
    return time.perf_counter() - started, len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
        root = Path(tmp)
        with running_org({"Account": args.rows}, root) as (org, seeded):
            fields = csv_fields(org, "Account")
            names = [f["name"] for f in fields]
            soql = f"SELECT {', '.join(names)} FROM Account"
            pages, prepared = bulk_csv_pages(org, soql)
            size_mb, n_pages = sum(len(p) for p in pages) / 1e6, len(pages)
            schema = arrow_schema([FieldSpec.from_describe(f) for f in fields])
            parse_s, insert_s, rows = floor_seconds(pages, schema, root / "floor.duckdb")
            del pages
            floor = parse_s + insert_s

            ws = BenchWorkspace(org, root)
            run = ws.sync("Account")
            line = run.result("Account")
            if line["rows_written"] != rows:
                raise SystemExit(f"lht wrote {line['rows_written']} rows, the floor parsed {rows}")

            naive_s, naive_rows = naive_seconds(
                org, f"{soql} LIMIT {args.naive_rows}", root / "naive.duckdb"
            )

    lht_rate = rows / run.seconds
    naive_rate = naive_rows / naive_s
    print(
        f"Account: {rows:,} rows x {len(names)} columns, {size_mb:,.0f} MB of CSV in {n_pages} "
        f"pages as the org serves them; org seeded in {seeded:.0f} s"
    )
    print_table(
        "Full load to DuckDB staging, one run each",
        ["what", "seconds", "rows/s"],
        [
            ["floor: pyarrow parse", f"{parse_s:.1f}", f"{rows / parse_s:,.0f}"],
            ["floor: DuckDB insert", f"{insert_s:.1f}", f"{rows / insert_s:,.0f}"],
            ["floor: total", f"{floor:.1f}", f"{rows / floor:,.0f}"],
            ["org: Bulk job preparation", f"{prepared:.1f}", ""],
            ["lht sync (wall)", f"{run.seconds:.1f}", f"{lht_rate:,.0f}"],
            [
                f"naive query_all->pandas->DuckDB ({naive_rows:,} rows)",
                f"{naive_s:.1f}",
                f"{naive_rate:,.0f}",
            ],
        ],
    )
    print_table(
        "Figures",
        ["figure", "value", "target"],
        [
            ["lht / floor", f"{run.seconds / floor:.2f}", "<= 1.5"],
            ["(lht - org preparation) / floor", f"{(run.seconds - prepared) / floor:.2f}", ""],
            ["lht rows/s / naive rows/s", f"{lht_rate / naive_rate:.1f}x", ">= 10x"],
            ["lht peak RSS", f"{run.peak_rss_mb:.0f} MB", "<= 400 MB"],
            ["API calls of the full load", f"{line['api_calls']} (run: {run.calls})", "a handful"],
        ],
    )


if __name__ == "__main__":
    main()
