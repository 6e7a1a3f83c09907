"""The local org's Bulk API 2.0 ingest processing alone: rows/s of one job, in-process.

An org seeded with ~100,000 Accounts; three uploads of 20 columns as ``lht push`` writes them
(pyarrow CSV, strings quoted): ``update`` by Id of every Account (Id + the 19 fields of
bench/push_bulk.py), ``upsert`` on External_Id__c of every Account (External_Id__c + 19
fields), and ``insert`` of as many new Accounts (19 fields + a new External_Id__c). Each job
is processed once, in-process (no HTTP), timed from the first row read to the last result
written, and the time to its first progress (``numberRecordsProcessed`` > 0, watched every
5 ms from this thread). A 10-row update runs first, untimed, so one-time imports are not
counted. Prints rows/s, the first progress and the failed count of each.

    python bench/org_ingest.py [ROWS]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import pyarrow.csv as pcsv  # noqa: E402
from _harness import print_table, running_org  # noqa: E402
from push_bulk import _expression, _fields  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 105_000
COUNTS = {
    "User": 5,
    "Account": ROWS,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}


def _upload(org, fields: list[dict], operation: str, path: Path) -> int:
    """Write the job's CSV to ``path``; its row count."""
    rows = (
        org.engine.cursor()
        .execute(
            f'select "Id", "External_Id__c" from {org.engine.table("Account")} where not "IsDeleted" '
            'order by "Id"'
        )
        .fetchall()
    )
    con = duckdb.connect()
    con.execute(
        "create table keys as select * from (select unnest(?) as Id, unnest(?) as ext)",
        [[r[0] for r in rows], [r[1] or f"NONE-{n}" for n, r in enumerate(rows)]],
    )
    columns = ", ".join(f'{_expression(f, operation)} as "{f["name"]}"' for f in fields)
    key = {
        "update": "Id",
        "upsert": "ext as External_Id__c",
        "insert": "'NEW-' || i as External_Id__c",
    }[operation]
    table = con.sql(
        f"select {key}, {columns} from (select *, row_number() over (order by Id) as i from keys)"
    ).arrow()
    if hasattr(table, "read_all"):
        table = table.read_all()
    pcsv.write_csv(table, path)
    return table.num_rows


def _run(org, spec: dict, path: Path) -> tuple[float, float, int, int]:
    """(seconds, seconds to the first progress, processed, failed) of one job processed in-process."""
    job = org.ingest.create(spec, "59.0")
    org.ingest.upload(job["id"], path.read_bytes())
    j = org.ingest.get(job["id"])
    j.closed_at, j.started = time.monotonic(), True
    worker = threading.Thread(target=org.ingest._run, args=(j,))
    started = time.perf_counter()
    worker.start()
    first = None
    while worker.is_alive():
        if first is None and j.processed:
            first = time.perf_counter() - started
        worker.join(0.005)
    seconds = time.perf_counter() - started
    if j.fail_message:
        raise SystemExit(f"{spec['operation']} job failed: {j.fail_message}")
    return seconds, seconds if first is None else first, j.processed, j.failed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lht-bench-org-ingest-") as tmp:
        root = Path(tmp)
        with running_org(COUNTS, root) as (org, seeded):
            fields = _fields(org)
            warm = root / "warm.csv"
            _upload(org, fields, "update", warm)
            warm.write_text("".join(warm.read_text().splitlines(True)[:11]))
            _run(org, {"object": "Account", "operation": "update", "lineEnding": "LF"}, warm)
            lines = []
            for operation in ("update", "upsert", "insert"):
                path = root / f"{operation}.csv"
                _upload(org, fields, operation, path)
                spec = {"object": "Account", "operation": operation, "lineEnding": "LF"}
                if operation == "upsert":
                    spec["externalIdFieldName"] = "External_Id__c"
                seconds, first, processed, failed = _run(org, spec, path)
                lines.append(
                    [
                        operation,
                        f"{processed:,}",
                        f"{failed:,}",
                        f"{seconds:.2f}",
                        f"{processed / seconds:,.0f}",
                        f"{first:.2f}",
                    ]
                )
            print_table(
                f"local org ingest, 20 columns ({ROWS:,} Accounts seeded in {seeded:.1f} s)",
                ["operation", "rows", "failed", "seconds", "rows/s", "first progress s"],
                lines,
            )


if __name__ == "__main__":
    main()
