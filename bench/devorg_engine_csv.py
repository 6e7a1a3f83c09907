"""Benchmark: seed N Accounts, materialize a Bulk query and render every CSV page.

Usage: python bench/devorg_engine_csv.py [N] [PAGE]   (defaults 1000000, 100000)
Prints seed time, materialization time, and page_csv throughput (rows/s, MB/s).
"""

from __future__ import annotations

import resource
import sys
import time

from lht_devorg.engine import OrgEngine

FIELDS = ("Id, Name, Type, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry, "
          "Phone, Website, AnnualRevenue, NumberOfEmployees, Description, OwnerId, CreatedDate, "
          "LastModifiedDate, SystemModstamp, IsDeleted")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    page = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    engine = OrgEngine()
    try:
        t0 = time.perf_counter()
        engine.seed({"Account": n, "Contact": 0, "Task": 0})
        t1 = time.perf_counter()
        rs = engine.execute(f"SELECT {FIELDS} FROM Account", include_deleted=True, bulk=True)
        t2 = time.perf_counter()
        size = 0
        for offset in range(0, rs.total_size, page):
            size += len(engine.page_csv(rs, offset, page))
        t3 = time.perf_counter()
        print(f"seed {n:,} Accounts: {t1 - t0:.1f}s")
        print(f"materialize {rs.total_size:,} rows: {t2 - t1:.1f}s")
        print(f"page_csv: {rs.total_size / (t3 - t2):,.0f} rows/s, {size / (t3 - t2) / 1e6:.1f} MB/s "
              f"({size / 1e6:.0f} MB in pages of {page:,})")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        engine.close()


if __name__ == "__main__":
    main()
