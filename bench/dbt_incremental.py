"""Benchmark: does an incremental dbt build cost the change, not the table? (DuckDB)

Seeds a local org with ROWS Accounts (the real 69-column shape), loads them with the real
``lht sync Account`` and times the first (full) ``dbt run`` of the account main table.
Then PERCENT % of the Accounts change in the org (SystemModstamp moves, as an update
would), ``lht sync`` stages them and the incremental ``dbt run`` is timed. Prints wall time
and dbt's own model time of both builds, and checks the main table followed the change.

    python bench/dbt_incremental.py [--rows 1000000] [--percent 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import timezone
from pathlib import Path

import duckdb
from _harness import BenchWorkspace, print_table, running_org, touch_percent


def dbt_run(ws: BenchWorkspace) -> tuple[float, float]:
    """Run the account model; (wall seconds, dbt's execution seconds of the model)."""
    wall = ws.dbt("run", "--select", "account")
    results = json.loads((ws.root / "target" / "run_results.json").read_text())["results"]
    return wall, float(results[0]["execution_time"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--percent", type=float, default=1.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
        root = Path(tmp)
        with running_org({"Account": args.rows}, root) as (org, _):
            ws = BenchWorkspace(org, root)
            ws.sync("Account")
            full = dbt_run(ws)
            touched_at = org.engine.now().replace(tzinfo=timezone.utc)
            changed = touch_percent(org, "Account", args.percent)
            staged = ws.sync("Account").result("Account")["rows_written"]
            incremental = dbt_run(ws)
            total = org.engine.count("Account", include_deleted=True)
        with duckdb.connect(str(ws.database), read_only=True) as con:
            rows, moved = con.execute(
                'select count(*), count(*) filter (where "SystemModstamp" >= ?) from salesforce.account',
                [touched_at],
            ).fetchall()[0]
    if rows != total or moved < changed or staged < changed:
        raise SystemExit(
            f"unexpected: main table {rows:,} rows ({total:,} in the org), {moved:,} moved "
            f"of {changed:,} changed, {staged:,} staged"
        )
    print(
        f"account: {rows:,} rows x 69 columns loaded by lht; {changed:,} changed in the org "
        f"({args.percent:g} %), {staged:,} staged by the incremental sync"
    )
    print_table(
        "dbt run of the account main table, one run each",
        ["build", "wall s", "model s"],
        [
            ["full", f"{full[0]:.2f}", f"{full[1]:.2f}"],
            ["incremental", f"{incremental[0]:.2f}", f"{incremental[1]:.2f}"],
        ],
    )
    print_table(
        "Figures",
        ["figure", "value", "target"],
        [
            ["incremental / full (model time)", f"{incremental[1] / full[1]:.0%}", "<= 20%"],
        ],
    )


if __name__ == "__main__":
    main()
