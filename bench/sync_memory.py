"""Benchmark: peak RSS of ``lht sync`` as an object grows (a full Bulk load into DuckDB).

For each size, seeds a local org with that many Accounts and runs the real ``lht sync
Account`` in a fresh process; its peak RSS is sampled (psutil, every 20 ms) on that
process alone. Streaming means the peak should stay flat as rows grow.

    python bench/sync_memory.py [--sizes 1000000,3000000]      (about 2 minutes)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import BenchWorkspace, print_table, running_org


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,3000000", help="comma-separated Account counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
            root = Path(tmp)
            started = time.perf_counter()
            with running_org({"Account": size}, root) as (org, seeded):
                run = BenchWorkspace(org, root).sync("Account")
            line = run.result("Account")
            if line["status"] != "ok" or line["rows_written"] != size:
                raise SystemExit(f"{size:,} rows: the sync did not load them all: {line}")
            rows.append(
                [
                    f"{size:,}",
                    f"{run.peak_rss_mb:.0f}",
                    f"{run.seconds:.1f}",
                    str(line["api_calls"]),
                    f"{seeded:.0f}",
                    f"{time.perf_counter() - started:.0f}",
                ]
            )
    print_table(
        "lht sync Account, full Bulk load into DuckDB (one run per size)",
        ["rows", "peak RSS MB", "sync s", "API calls", "org seed s", "total s"],
        rows,
    )
    print("target: peak RSS <= 400 MB and flat as rows grow")


if __name__ == "__main__":
    main()
