"""Benchmark: the fixed cost of a run, before and after, side by side in one run.

"before" is the loader as it was before the fixed-cost work: the package source of commit
``--before-ref`` (default :data:`BEFORE_REF`) extracted with ``git archive`` and put first on
PYTHONPATH, nothing else changed; "after" is this checkout. Both run as fresh processes
(``python -c "from lht.cli import main; ..."``, what the console script does), interleaved,
so the machine's noise falls on both alike; each figure is the median of ``--repeat`` runs.
Both versions are byte-compiled first, as an installed package is.

1. No-change run: the 8 objects of the demo project (its 7 plus ``Invoice__c``, the local
   org's default data) synced once, then ``lht sync --json`` with nothing changed, against
   ``python -c "import duckdb, requests"`` timed in the same rounds (target: <= 2x).
2. The same no-change run on the Snowflake dialect (a fakesnow server in this process):
   the statements the loader sends, counted through the connector
   (``SnowflakeConnection.cmd_query``, see ``_snowflake_latency.py``; no latency added).
   Target: <= 5 plus 1 per changed object (none changed here).
3. A full Bulk sync of ``--rows`` Accounts (default 100,000) into a fresh DuckDB file,
   against its floor: pyarrow parsing the same CSV pages (the describe's schema) plus one
   DuckDB insert, as in ``sync_floor.py`` (target: <= 1.5x). ``--million`` adds one round at
   1,000,000 rows (nothing may be slower there).

    python bench/fixed_costs.py [--repeat 3] [--rows 100000] [--million] [--before-ref REF]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import (
    BenchWorkspace,
    bulk_csv_pages,
    csv_fields,
    print_table,
    run_measured,
    running_org,
)
from snowflake_roundtrips import before_source
from snowflake_roundtrips import workspace as snowflake_workspace
from sync_floor import floor_seconds

BENCH = Path(__file__).resolve().parent
#: The last commit before the fixed-cost work (lazy imports, one state read and write).
BEFORE_REF = "1e75530"
EIGHTH = "Invoice__c"
LAUNCH = "import sys; from lht.cli import main; sys.argv = ['lht', *sys.argv[1:]]; sys.exit(main())"
COUNTING = (
    "import sys; sys.path.insert(0, {bench!r}); import _snowflake_latency as latency; latency.install(); "
    "from lht.cli import main; sys.argv = ['lht', *sys.argv[1:]]; sys.exit(main())"
)
FLOOR_ARGV = [sys.executable, "-c", "import duckdb, requests"]


class Loader:
    """One version of the loader: runs ``lht`` commands in fresh processes."""

    def __init__(self, label: str, pythonpath: Path | None) -> None:
        self.label = label
        self.pythonpath = pythonpath

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        if self.pythonpath is not None:
            env["PYTHONPATH"] = str(self.pythonpath)
        return env

    def sync(self, ws: BenchWorkspace, *args: str) -> tuple[dict, float, float]:
        """``lht sync --json ARGS`` on ``ws``: (report, wall s, peak RSS MB)."""
        argv = [
            sys.executable,
            "-c",
            LAUNCH,
            "sync",
            "--json",
            "--project-dir",
            str(ws.project),
            "--profiles-dir",
            str(ws.project),
            *args,
        ]
        code, out, err, seconds, rss = run_measured(argv, self.env(ws.env), ws.root)
        if code != 0:
            raise SystemExit(
                f"{self.label}: lht sync {' '.join(args)} exited {code}:\n{out[-3000:]}\n{err[-3000:]}"
            )
        return json.loads(out), seconds, rss


def median(values: list[float]) -> float:
    return statistics.median(values)


def no_change(org, root: Path, loaders: list[Loader], repeat: int) -> list[list[str]]:
    """Rounds of (floor, before, after) no-change runs; their medians and ratios."""
    spaces = {}
    for loader in loaders:
        ws = BenchWorkspace(org, root, f"nochange-{loader.label}")
        ws.run("add", EIGHTH, "--offline")
        loader.sync(ws)  # the first, full load
        loader.sync(ws)  # settles the watermarks and delete checks
        spaces[loader.label] = ws
    floors: list[float] = []
    runs: dict[str, list[tuple[float, float, int]]] = {loader.label: [] for loader in loaders}
    for _ in range(repeat):
        floors.append(run_measured(FLOOR_ARGV, dict(os.environ), root)[3])
        for loader in loaders:
            report, seconds, rss = loader.sync(spaces[loader.label])
            if report["rows_written"] or len(report["results"]) != 8:
                raise SystemExit(f"{loader.label}: not a no-change run over 8 objects: {report}")
            runs[loader.label].append((seconds, rss, int(report["api_calls"])))
    floor = median(floors)
    rows = [["python -c 'import duckdb, requests'", f"{floor:.2f}", "1.00", "", ""]]
    for label, found in runs.items():
        wall = median([s for s, _, _ in found])
        rows.append(
            [
                f"lht sync, nothing changed ({label})",
                f"{wall:.2f}",
                f"{wall / floor:.2f}",
                f"{median([r for _, r, _ in found]):.0f}",
                str(found[-1][2]),
            ]
        )
    return rows


def snowflake_statements(org, root: Path, loaders: list[Loader]) -> list[list[str]]:
    """Statements of a no-change run on the Snowflake dialect, per loader."""
    sys.path.insert(0, str(BENCH.parent / "tests"))
    import fakesnow
    import pytest
    from fakesnow_compat import fix_fakesnow_server

    rows = []
    mp = pytest.MonkeyPatch()
    fix_fakesnow_server(mp)
    try:
        with fakesnow.server() as server:
            for loader in loaders:
                run_root = root / f"snowflake-{loader.label}"
                run_root.mkdir()
                project, profiles, env = snowflake_workspace(run_root, server, org.env("token"))
                subprocess.run(
                    [
                        str(Path(sys.executable).parent / "lht"),
                        "add",
                        EIGHTH,
                        "--offline",
                        "--project-dir",
                        str(project),
                    ],
                    env=env,
                    cwd=run_root,
                    capture_output=True,
                    check=True,
                )
                env = {**loader.env(env), "LHT_BENCH_LATENCY": "0,0,0"}
                counts = []
                for n in range(3):  # full load, settling run, the measured no-change run
                    out = run_root / f"count{n}.json"
                    argv = [
                        sys.executable,
                        "-c",
                        COUNTING.format(bench=str(BENCH)),
                        "sync",
                        "--json",
                        "--project-dir",
                        str(project),
                        "--profiles-dir",
                        str(profiles),
                    ]
                    code, stdout, stderr, seconds, _ = run_measured(
                        argv, {**env, "LHT_BENCH_ROUNDTRIPS_OUT": str(out)}, run_root
                    )
                    if code != 0:
                        raise SystemExit(
                            f"{loader.label}: Snowflake sync exited {code}:\n{stdout[-3000:]}\n{stderr[-3000:]}"
                        )
                    counts.append((json.loads(out.read_text()), json.loads(stdout), seconds))
                c, report, seconds = counts[-1]
                changed = sum(
                    1 for r in report["results"] if r["rows_written"] or r["delete_markers"]
                )
                rows.append(
                    [
                        loader.label,
                        str(sum(c.values())),
                        str(changed),
                        f"<= {5 + changed}",
                        f"{seconds:.2f}",
                    ]
                )
    finally:
        mp.undo()
    return rows


def full_load(rows_wanted: int, root: Path, loaders: list[Loader], repeat: int) -> list[list[str]]:
    """Rounds of (floor, before, after) full Bulk loads of Account; medians and ratios."""
    with running_org({"Account": rows_wanted}, root / f"org{rows_wanted}") as (org, _):
        fields = csv_fields(org, "Account")
        soql = f"SELECT {', '.join(f['name'] for f in fields)} FROM Account"
        from lht.typemap import FieldSpec, arrow_schema

        schema = arrow_schema([FieldSpec.from_describe(f) for f in fields])
        pages, prepared = bulk_csv_pages(org, soql)
        floors: list[float] = []
        runs: dict[str, list[tuple[float, float]]] = {loader.label: [] for loader in loaders}
        for n in range(repeat):
            database = root / f"floor{rows_wanted}-{n}.duckdb"
            parse_s, insert_s, parsed = floor_seconds(pages, schema, database)
            floors.append(parse_s + insert_s)
            database.unlink()
            for loader in loaders:
                ws = BenchWorkspace(org, root, f"full{rows_wanted}-{loader.label}-{n}")
                report, seconds, rss = loader.sync(ws, "Account")
                if report["rows_written"] != parsed:
                    raise SystemExit(
                        f"{loader.label}: wrote {report['rows_written']} rows, the floor parsed {parsed}"
                    )
                runs[loader.label].append((seconds, rss))
                ws.database.unlink()
        del pages
    floor = median(floors)
    table = [
        [
            f"floor: pyarrow parse + DuckDB insert ({rows_wanted:,} rows)",
            f"{floor:.2f}",
            "1.00",
            "",
            "",
        ],
        [
            "org: Bulk job preparation (inside lht's time, not the floor's)",
            f"{prepared:.2f}",
            "",
            "",
            "",
        ],
    ]
    for label, found in runs.items():
        wall = median([s for s, _ in found])
        table.append(
            [
                f"lht sync Account, full ({label})",
                f"{wall:.2f}",
                f"{wall / floor:.2f}",
                f"{(wall - prepared) / floor:.2f}",
                f"{median([r for _, r in found]):.0f}",
            ]
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also one round at 1,000,000 rows")
    parser.add_argument("--before-ref", default=BEFORE_REF)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp:
        root = Path(tmp)
        loaders = [
            Loader("before", before_source(args.before_ref, root / "before-src")),
            Loader("after", None),
        ]
        for source in (root / "before-src", BENCH.parent / "loader"):
            # as an installed package is: byte-compiled (a PYTHONDONTWRITEBYTECODE environment
            # would otherwise compile every module from source on every run, both versions alike)
            compileall.compile_dir(source, quiet=1)
        with running_org({}, root / "org") as (org, _):
            quiet = no_change(org, root, loaders, args.repeat)
            statements = snowflake_statements(org, root, loaders)
        full = full_load(args.rows, root, loaders, args.repeat)
        million = full_load(1_000_000, root, loaders, 1) if args.million else None
    print(
        f"before = commit {args.before_ref}, after = this checkout; medians of {args.repeat} interleaved rounds "
        f"({time.perf_counter() - started:.0f} s in all)"
    )
    print_table(
        "No-change run over 8 objects (DuckDB), target <= 2.00x the floor",
        ["what", "wall s", "x floor", "peak RSS MB", "API calls"],
        quiet,
    )
    print_table(
        "No-change run on the Snowflake dialect (fakesnow): statements through the connector",
        ["loader", "statements", "changed objects", "target", "wall s"],
        statements,
    )
    columns = ["what", "wall s", "x floor", "x floor without the org's preparation", "peak RSS MB"]
    print_table(
        f"Full Bulk sync of {args.rows:,} Accounts, target <= 1.50x the floor", columns, full
    )
    if million:
        print_table(
            "Full Bulk sync of 1,000,000 Accounts (one round): nothing slower", columns, million
        )


if __name__ == "__main__":
    main()
