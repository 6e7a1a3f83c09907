"""Benchmark: API calls and parallelism over the seven starter objects.

Seeds a local org with ROWS records of each starter object (User, Account, Contact, Lead,
Opportunity, Case, Task), then runs the real ``lht sync`` CLI:

1. a full load of the seven objects with ``--threads 1`` and, into a second database,
   with ``--threads 4`` (wall time of each);
2. an incremental run with nothing changed (getDeleted checked every run: the default);
3. the same with hard-delete checks spaced out (``LHT_DELETED_CHECK_EVERY=3600``);
4. an incremental run after PERCENT % of every object's records changed.

Prints the API calls of each run, per object and in total.

    python bench/api_calls.py [--rows 30000] [--percent 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _harness import BenchWorkspace, SyncRun, print_table, running_org, touch_percent

STARTER = ("User", "Account", "Contact", "Lead", "Opportunity", "Case", "Task")


def calls_row(label: str, run: SyncRun) -> list[str]:
    per = [str(run.result(o)["api_calls"]) for o in STARTER]
    rows = sum(r["rows_written"] for r in run.report["results"])
    return [label, *per, str(run.calls), f"{rows:,}", f"{run.seconds:.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="records per starter object")
    parser.add_argument("--percent", type=float, default=1.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
        root = Path(tmp)
        with running_org({o: args.rows for o in STARTER}, root) as (org, seeded):
            serial = BenchWorkspace(org, root, "threads1").sync("--threads", "1")
            ws = BenchWorkspace(org, root, "threads4")
            parallel = ws.sync("--threads", "4")
            unchanged = ws.sync()
            spaced = ws.sync(extra_env={"LHT_DELETED_CHECK_EVERY": "3600"})
            touched = {o: touch_percent(org, o, args.percent) for o in STARTER}
            changed = ws.sync()
    for run in (serial, parallel, unchanged, spaced, changed):
        failed = [r for r in run.report["results"] if r["status"] != "ok"]
        if failed:
            raise SystemExit(f"a run failed: {failed}")
    if sum(r["rows_written"] for r in changed.report["results"]) < sum(touched.values()):
        raise SystemExit(f"the 1 % run wrote fewer rows than were changed ({touched})")

    print(f"{len(STARTER)} starter objects x {args.rows:,} records (org seeded in {seeded:.0f} s); "
          f"{args.percent:g} % changed = {sum(touched.values()):,} records")
    print_table("API calls per run (one run each)", ["run", *STARTER, "total", "rows", "seconds"], [
        calls_row("full, --threads 1", serial),
        calls_row("full, --threads 4", parallel),
        calls_row("incremental, nothing changed", unchanged),
        calls_row("  same, deleted checks spaced", spaced),
        calls_row(f"incremental, {args.percent:g} % changed", changed),
    ])
    n = len(STARTER)
    print_table("Figures", ["figure", "value", "target"], [
        ["nothing changed: calls", f"{unchanged.calls}", f"<= {2 * n + 1} (2 per object + 1)"],
        ["nothing changed, checks spaced: calls", f"{spaced.calls}", f"fewer ({n + 1} = 1 per object + 1)"],
        [f"{args.percent:g} % changed: calls", f"{changed.calls}", ""],
        ["full load, --threads 1 / --threads 4", f"{serial.seconds / parallel.seconds:.2f}x "
         f"({serial.seconds:.1f} s / {parallel.seconds:.1f} s)", "> 1"],
    ])


if __name__ == "__main__":
    main()
