"""Benchmark: API calls and parallelism over the seven starter objects.

Seeds a local org with ROWS records of each starter object (User, Account, Contact, Lead,
Opportunity, Case, Task), then runs the real ``lht sync`` CLI:

1. a full load of the seven objects with ``--threads 1`` and, into a second database,
   with ``--threads 4`` (wall time of each);
2. an incremental run with nothing changed (getDeleted checked every run: the default);
3. the same with hard-delete checks spaced out (``LHT_DELETED_CHECK_EVERY=3600``);
4. an incremental run after PERCENT % of every object's records changed;
5. the same incremental runs over 30 objects (the starters and 23 small custom objects).

Runs 2 to 5 are made twice, side by side: with the change checks grouped into REST
Composite requests (the default) and with separate calls (``LHT_COMPOSITE=0``). Prints the
API calls of each run, per object and in total (a shared Composite call is split among its
objects).

    python bench/api_calls.py [--rows 30000] [--percent 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _harness import BenchWorkspace, SyncRun, print_table, running_org, touch_percent

STARTER = ("User", "Account", "Contact", "Lead", "Opportunity", "Case", "Task")


SEPARATE = {"LHT_COMPOSITE": "0"}
SPACED = {"LHT_DELETED_CHECK_EVERY": "3600"}
EXTRA = tuple(f"Bench_{n:02d}__c" for n in range(23))


def calls_row(label: str, run: SyncRun) -> list[str]:
    per = [f"{run.result(o)['api_calls']:g}" for o in STARTER]
    rows = sum(r["rows_written"] for r in run.report["results"])
    return [label, *per, str(run.calls), f"{rows:,}", f"{run.seconds:.1f}"]


def _checked(*runs: SyncRun) -> None:
    for run in runs:
        failed = [r for r in run.report["results"] if r["status"] != "ok"]
        if failed:
            raise SystemExit(f"a run failed: {failed}")


def _thirty(org, root: Path) -> tuple[SyncRun, SyncRun]:
    """Unchanged incremental runs over 30 objects: grouped, then separate."""
    org.engine.add_objects(
        [(name, f"a3{'0123456789ABCDEFGHIJKLMN'[n]}") for n, name in enumerate(EXTRA)]
    )
    for name in EXTRA:
        org.engine.create(name, {"Name": f"{name} record"})
    ws = BenchWorkspace(org, root, "thirty")
    ws.run("add", *EXTRA)
    ws.sync()
    return ws.sync(), ws.sync(extra_env=SEPARATE)


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
            unchanged, unchanged_sep = ws.sync(), ws.sync(extra_env=SEPARATE)
            spaced, spaced_sep = (
                ws.sync(extra_env=SPACED),
                ws.sync(extra_env={**SPACED, **SEPARATE}),
            )
            touched = {o: touch_percent(org, o, args.percent) for o in STARTER}
            twin = BenchWorkspace(org, root, "twin")
            twin.database.write_bytes(ws.database.read_bytes())  # the same state for both
            changed, changed_sep = ws.sync(), twin.sync(extra_env=SEPARATE)
            thirty, thirty_sep = _thirty(org, root)
    _checked(
        serial,
        parallel,
        unchanged,
        unchanged_sep,
        spaced,
        spaced_sep,
        changed,
        changed_sep,
        thirty,
        thirty_sep,
    )
    if sum(r["rows_written"] for r in changed.report["results"]) < sum(touched.values()):
        raise SystemExit(f"the 1 % run wrote fewer rows than were changed ({touched})")
    if {r["object_name"]: r["rows_written"] for r in changed.report["results"]} != {
        r["object_name"]: r["rows_written"] for r in changed_sep.report["results"]
    }:
        raise SystemExit("grouped and separate change checks loaded different rows")

    print(
        f"{len(STARTER)} starter objects x {args.rows:,} records (org seeded in {seeded:.0f} s); "
        f"{args.percent:g} % changed = {sum(touched.values()):,} records"
    )
    print_table(
        "API calls per run (one run each)",
        ["run", *STARTER, "total", "rows", "seconds"],
        [
            calls_row("full, --threads 1", serial),
            calls_row("full, --threads 4", parallel),
            calls_row("incremental, nothing changed", unchanged),
            calls_row("  same, LHT_COMPOSITE=0", unchanged_sep),
            calls_row("  deleted checks spaced", spaced),
            calls_row("  same, LHT_COMPOSITE=0", spaced_sep),
            calls_row(f"incremental, {args.percent:g} % changed", changed),
            calls_row("  same, LHT_COMPOSITE=0", changed_sep),
        ],
    )
    n = len(STARTER)
    print_table(
        "Figures: grouped (Composite) vs separate calls",
        ["figure", "grouped", "separate", "target"],
        [
            [
                "7 objects, nothing changed: calls",
                f"{unchanged.calls}",
                f"{unchanged_sep.calls}",
                "<= 3 (describeGlobal + 2 Composite)",
            ],
            [
                "7 objects, checks spaced: calls",
                f"{spaced.calls}",
                f"{spaced_sep.calls}",
                f"< {n + 1}",
            ],
            [
                f"7 objects, {args.percent:g} % changed: calls",
                f"{changed.calls}",
                f"{changed_sep.calls}",
                "",
            ],
            [
                "30 objects, nothing changed: calls",
                f"{thirty.calls}",
                f"{thirty_sep.calls}",
                "<= 7",
            ],
            [
                "full load, --threads 1 / --threads 4",
                f"{serial.seconds / parallel.seconds:.2f}x "
                f"({serial.seconds:.1f} s / {parallel.seconds:.1f} s)",
                "",
                "> 1",
            ],
        ],
    )


if __name__ == "__main__":
    main()
