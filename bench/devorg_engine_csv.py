"""Benchmark: seed N Accounts, then prepare a Bulk job's results as the local org does.

A Bulk query streams from the object's table as CSV text (``OrgEngine.stream_csv``) into a
result spool (``ResultSpool.fill``): the work between a job's creation and JobComplete.

Usage: python bench/devorg_engine_csv.py [N]   (default 1000000)
Prints seed time, the spool's rows/s and MB/s, and peak RSS.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from lht_devorg.bulk.spool import DEFAULT_CHUNK_ROWS, ResultSpool
from lht_devorg.core.engine import OrgEngine

FIELDS = (
    "Id, Name, Type, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry, "
    "Phone, Website, AnnualRevenue, NumberOfEmployees, Description, OwnerId, CreatedDate, "
    "LastModifiedDate, SystemModstamp, IsDeleted"
)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    engine = OrgEngine()
    try:
        t0 = time.perf_counter()
        engine.seed({"Account": n, "Contact": 0, "Task": 0})
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
            spool = ResultSpool(Path(tmp) / "job.csv", ",", "\n")
            with engine.stream_csv(
                f"SELECT {FIELDS} FROM Account", include_deleted=True, chunk_rows=DEFAULT_CHUNK_ROWS
            ) as rows:
                spool.fill(rows.columns, rows.tables)
            t2 = time.perf_counter()
            size = spool.path.stat().st_size
            spool.close()
        print(f"seed {n:,} Accounts: {t1 - t0:.1f}s")
        print(
            f"Bulk job results spooled: {spool.total:,} rows in {t2 - t1:.1f}s = "
            f"{spool.total / (t2 - t1):,.0f} rows/s, {size / (t2 - t1) / 1e6:.1f} MB/s ({size / 1e6:.0f} MB)"
        )
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        engine.close()


if __name__ == "__main__":
    main()
