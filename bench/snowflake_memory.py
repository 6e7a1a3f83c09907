"""Benchmark: peak RSS of a 1M-row `lht sync Account` on the Snowflake dialect, before and after
the memory fix, and the DuckDB path's for reference, side by side in one run.

1. Seeds a local org with ROWS Accounts and starts a fakesnow server (Snowflake's wire
   protocol on DuckDB, with the test suite's fakesnow fixes) in this process: neither is
   measured.
2. Runs the real ``lht sync Account`` (a full Bulk load) in a fresh process per case, its RSS
   sampled every 20 ms from outside (psutil: the peak) and from inside
   (``bench/_memprobe.py``: the peak of each stage: start-up until the first batch is
   written, the extract, and on Snowflake the load at its end, i.e. the last PUT and the
   COPY INTO; also pyarrow's memory pool and the peak of Arrow's live allocations).
3. "before" is the loader of commit ``--before-ref`` (default :data:`BEFORE_REF`, the code
   of main before the change), its ``loader/`` extracted with ``git archive`` and put first
   on PYTHONPATH; "after" is this checkout; "duckdb" is this checkout on the DuckDB profile.
4. Each case runs in two environments (``--envs``):
   - ``inherited``: ``ARROW_DEFAULT_MEMORY_POOL=system``, what every process started by one
     that imported snowflake-connector-python with pandas installed inherits (the connector
     sets it in its own environment: a scheduler, a notebook, this bench), so pyarrow
     allocates with glibc's malloc. The issue's 529 MB was measured so.
   - ``clean``: the variable unset, pyarrow's default pool (mimalloc).

    python bench/snowflake_memory.py [--rows 1000000] [--before-ref REF] [--envs inherited,clean]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _harness import BenchWorkspace, print_table, run_measured, running_org
from snowflake_roundtrips import COUNTS, before_source, workspace

BENCH = Path(__file__).resolve().parent
#: main before the change: load files of 128 MB, the Arrow pool never released.
BEFORE_REF = "34c2aaa"
LAUNCH = (
    "import sys; sys.path.insert(0, {bench!r}); import _memprobe; _memprobe.install(); "
    "from lht.cli import main; sys.argv = ['lht', *sys.argv[1:]]; sys.exit(main())"
)
ENVIRONMENTS = {"inherited": {"ARROW_DEFAULT_MEMORY_POOL": "system"}, "clean": {}}


def sync(
    root: Path, project: Path, profiles: Path, env: dict[str, str], pythonpath: Path | None
) -> dict:
    """One measured ``lht sync Account``: its figures and report line."""
    probe = root / "memprobe.json"
    env = {**env, "LHT_BENCH_MEMPROBE_OUT": str(probe)}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    argv = [
        sys.executable,
        "-c",
        LAUNCH.format(bench=str(BENCH)),
        "sync",
        "--json",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(profiles),
        "Account",
    ]
    code, stdout, stderr, seconds, rss = run_measured(argv, env, root)
    if code != 0:
        raise SystemExit(f"lht sync exited {code}:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    line = next(r for r in json.loads(stdout)["results"] if r["object_name"].lower() == "account")
    return {
        "rss": rss,
        "seconds": seconds,
        "rows": line["rows_written"],
        **json.loads(probe.read_text()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Accounts in the org")
    parser.add_argument(
        "--before-ref", default=BEFORE_REF, help="commit of the loader before the change"
    )
    parser.add_argument(
        "--envs", default="inherited,clean", help=f"comma-separated, of {', '.join(ENVIRONMENTS)}"
    )
    args = parser.parse_args()
    envs = [e.strip() for e in args.envs.split(",") if e.strip()]
    sys.path.insert(0, str(BENCH.parent / "tests"))
    import fakesnow
    import pytest
    from fakesnow_compat import fix_fakesnow_server

    table, peaks = [], {}
    mp = pytest.MonkeyPatch()
    fix_fakesnow_server(mp)
    try:
        with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp, fakesnow.server() as server:
            root = Path(tmp)
            old = before_source(args.before_ref, root / "before-src")
            with running_org({**COUNTS, "Account": args.rows}, root / "org") as (org, _):
                for env_name in envs:
                    for case, path in (("before", old), ("after", None), ("duckdb", None)):
                        run_root = root / f"{env_name}-{case}"
                        run_root.mkdir()
                        if case == "duckdb":
                            ws = BenchWorkspace(org, run_root)
                            project, profiles, env = ws.project, ws.project, ws.env
                        else:
                            project, profiles, env = workspace(run_root, server, org.env("token"))
                        env = {k: v for k, v in env.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
                        run = sync(
                            run_root, project, profiles, {**env, **ENVIRONMENTS[env_name]}, path
                        )
                        if run["rows"] != args.rows:
                            raise SystemExit(
                                f"{env_name} {case}: {run['rows']} of {args.rows} rows written"
                            )
                        stages = run["peaks"]
                        peaks[env_name, case] = run["rss"]
                        table.append(
                            [
                                env_name,
                                case,
                                "duckdb" if case == "duckdb" else "snowflake",
                                f"{run['rss']:.0f}",
                                f"{stages.get('start-up', 0):.0f}",
                                f"{stages.get('extract', 0):.0f}",
                                f"{stages['load']:.0f}" if "load" in stages else "-",
                                run["pool"],
                                f"{run['arrow_peak_mb']:.0f}",
                                f"{run['seconds']:.0f}",
                            ]
                        )
    finally:
        mp.undo()
    print_table(
        f"lht sync Account, {args.rows:,} rows, full Bulk load: peak RSS (MB) of the lht process",
        [
            "environment",
            "loader",
            "warehouse",
            "peak RSS",
            "start-up",
            "extract",
            "load (PUT+COPY)",
            "Arrow pool",
            "Arrow live peak",
            "wall s",
        ],
        table,
    )
    summary = [
        [
            env_name,
            f"{peaks[env_name, 'before']:.0f}",
            f"{peaks[env_name, 'after']:.0f}",
            f"{peaks[env_name, 'duckdb']:.0f}",
            f"{peaks[env_name, 'after'] - peaks[env_name, 'duckdb']:+.0f}",
        ]
        for env_name in envs
    ]
    print_table(
        "Snowflake peak RSS (MB), before and after, against the DuckDB path",
        ["environment", "before", "after", "duckdb", "after - duckdb"],
        summary,
    )
    print("target: after <= 400 MB and at the DuckDB path's level")


if __name__ == "__main__":
    main()
