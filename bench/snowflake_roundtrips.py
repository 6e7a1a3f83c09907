"""Benchmark: `lht sync Account` on the Snowflake dialect with a simulated round-trip latency,
before (one ``write_pandas`` per parsed batch) and after (one COPY per extract).

1. Seeds a local org with ROWS Accounts and starts a fakesnow server (Snowflake's wire
   protocol on DuckDB, with the test suite's fakesnow fixes) in this process.
2. Runs the real ``lht sync Account`` (a full Bulk load) in a fresh process whose Snowflake
   connector sleeps after every round trip: 0.3 s per statement, 0.5 s per PUT, 1 s per
   COPY INTO (``bench/_snowflake_latency.py`` says where the figures come from).
3. "before" is the loader as it was before the one-load-per-extract change: the package
   source of commit ``--before-ref`` (default :data:`BEFORE_REF`) extracted with
   ``git archive`` and put first on PYTHONPATH, nothing else changed; "after" is this
   checkout.
4. Prints, per size and version, the round trips by kind, the simulated wall time, rows/s
   and the speed-up.

    python bench/snowflake_roundtrips.py [--rows 300000,1000000] [--before-ref REF]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml
from _harness import PROJECT_DIR, REPO, print_table, run_measured, running_org

BENCH = Path(__file__).resolve().parent
#: The last commit whose Snowflake writer called write_pandas once per batch.
BEFORE_REF = "8a075eb"
COUNTS = {
    "User": 5,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}
LAUNCH = (
    "import sys; sys.path.insert(0, {bench!r}); import _snowflake_latency as latency; latency.install(); "
    "from lht.cli import main; sys.argv = ['lht', *sys.argv[1:]]; sys.exit(main())"
)


def before_source(ref: str, root: Path) -> Path:
    """The ``loader/`` package source of commit ``ref``, extracted under ``root``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "loader"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return root / "loader"


def workspace(
    root: Path, server: dict, org_env: dict[str, str]
) -> tuple[Path, Path, dict[str, str]]:
    """A project copy and a profile on a fresh fakesnow database; (project, profiles dir, env)."""
    import snowflake.connector

    project = root / "dbt_project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*"),
    )
    database = f"LHT_BENCH_{os.urandom(4).hex().upper()}"
    with snowflake.connector.connect(**server) as conn:
        conn.cursor().execute(f"create database if not exists {database}")
    output = {
        "type": "snowflake",
        "account": server["account"],
        "user": server["user"],
        "password": server["password"],
        "host": server["host"],
        "port": server["port"],
        "protocol": server["protocol"],
        "database": database,
        "schema": "salesforce",
        "warehouse": "bench",
        "threads": 1,
    }
    profiles = root / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"lht": {"target": "fakesnow", "outputs": {"fakesnow": output}}})
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SF_", "SNOWFLAKE_", "DBT_ENV_SECRET", "LHT_"))
    }
    return project, profiles, {**base, **org_env}


def sync(root: Path, server: dict, org_env: dict[str, str], pythonpath: Path | None) -> dict:
    """One ``lht sync Account`` with latency; its counts, wall seconds and report line."""
    project, profiles, env = workspace(root, server, org_env)
    out = root / "roundtrips.json"
    env["LHT_BENCH_ROUNDTRIPS_OUT"] = str(out)
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
        "counts": json.loads(out.read_text()),
        "seconds": seconds,
        "rows": line["rows_written"],
        "rss": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="300000,1000000", help="comma-separated Account counts")
    parser.add_argument(
        "--before-ref", default=BEFORE_REF, help="commit of the per-batch write_pandas loader"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    import fakesnow
    import pytest
    from fakesnow_compat import fix_fakesnow_server

    table = []
    mp = pytest.MonkeyPatch()
    fix_fakesnow_server(mp)
    try:
        with tempfile.TemporaryDirectory(prefix="lht-bench-") as tmp, fakesnow.server() as server:
            root = Path(tmp)
            old = before_source(args.before_ref, root / "before-src")
            for size in [int(s) for s in args.rows.split(",")]:
                with running_org({**COUNTS, "Account": size}, root / f"org{size}") as (org, _):
                    runs = {}
                    for version, path in (("before", old), ("after", None)):
                        run_root = root / f"{version}{size}"
                        run_root.mkdir()
                        runs[version] = sync(run_root, server, org.env("token"), path)
                        if runs[version]["rows"] != size:
                            raise SystemExit(
                                f"{version}: {runs[version]['rows']} of {size} rows written"
                            )
                for version, run in runs.items():
                    c = run["counts"]
                    trips = c.get("statement", 0) + c.get("put", 0) + c.get("copy", 0)
                    table.append(
                        [
                            f"{size:,}",
                            version,
                            trips,
                            c.get("statement", 0),
                            c.get("put", 0),
                            c.get("copy", 0),
                            f"{run['seconds']:.1f}",
                            f"{size / run['seconds']:,.0f}",
                            f"{run['rss']:.0f}",
                        ]
                    )
                b, a = runs["before"], runs["after"]
                tb = sum(b["counts"].get(k, 0) for k in ("statement", "put", "copy"))
                ta = sum(a["counts"].get(k, 0) for k in ("statement", "put", "copy"))
                table.append(
                    [
                        f"{size:,}",
                        "before/after",
                        f"{tb / ta:.1f}x",
                        "",
                        "",
                        "",
                        f"{b['seconds'] / a['seconds']:.1f}x",
                        "",
                        "",
                    ]
                )
    finally:
        mp.undo()
    print_table(
        "lht sync Account on the Snowflake dialect (fakesnow) with 0.3 s/statement, 0.5 s/PUT, 1 s/COPY",
        [
            "rows",
            "loader",
            "round trips",
            "statements",
            "PUTs",
            "COPYs",
            "wall s",
            "rows/s",
            "peak RSS MB",
        ],
        table,
    )
    print("target at 1,000,000 rows: >= 10x fewer round trips and >= 5x less simulated wall time")


if __name__ == "__main__":
    main()
