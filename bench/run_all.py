"""Run every benchmark script in bench/ (``make bench``) and print their tables.

Each script runs in its own process, one after the other (the machine's cores are
shared by the org, the loader and the measurements), with its default sizes; pass
script names to run only those. Their output is printed as each one finishes.

    python bench/run_all.py [sync_floor api_calls ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: In this order: the loader's figures first, then dbt, then the local org's own speed.
SCRIPTS = (
    "sync_floor",
    "sync_memory",
    "fixed_costs",
    "api_calls",
    "snowflake_roundtrips",
    "snowflake_memory",
    "dbt_incremental",
    "devorg_bulk_download",
    "devorg_engine_csv",
)


def main() -> int:
    chosen = sys.argv[1:] or [s for s in SCRIPTS if (HERE / f"{s}.py").exists()]
    failed = []
    for name in chosen:
        print(f"\n=== bench/{name}.py ===", flush=True)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(HERE / f"{name}.py")], cwd=HERE, capture_output=True, text=True
        )
        print(proc.stdout.rstrip())
        if proc.returncode != 0:
            failed.append(name)
            print(proc.stderr[-3000:].rstrip())
        print(
            f"--- {name}: {'FAILED' if proc.returncode else 'done'} in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
