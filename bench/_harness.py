"""Shared pieces of the benchmark scripts (not a test helper, not part of the package).

* :func:`running_org` seeds a local org once and serves it for the whole script; the
  ``lht sync`` runs are separate processes, so the org's threads never share a GIL with
  the loader being measured, and the bench process only waits while one runs.
* :class:`BenchWorkspace` is a copy of the dbt project with its own DuckDB file;
  :meth:`BenchWorkspace.sync` runs the real ``lht sync --json`` and returns its report,
  wall time and the peak RSS of that one process (sampled with psutil).
* :func:`bulk_csv_pages` downloads a Bulk 2.0 job's CSV pages as the org serves them,
  for floor measurements on the exact bytes ``lht`` reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

from lht_devorg import DevOrg

REPO = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO / "dbt_project"
BIN = Path(sys.executable).parent
API = "v59.0"
#: Field types neither the loader's Bulk path nor a CSV floor reads.
NOT_IN_CSV = {"address", "location", "base64", "json", "complexvalue"}


@contextmanager
def running_org(counts: dict[str, int], root: Path) -> Iterator[tuple[DevOrg, float]]:
    """A local org seeded with ``counts`` (its DuckDB file under ``root``); yields (org, seed s)."""
    started = time.perf_counter()
    with DevOrg(
        counts=counts, db_path=root / "org.duckdb", state_dir=root / "org", bulk_job_seconds=0.1
    ) as org:
        yield org, time.perf_counter() - started


@dataclass
class SyncRun:
    """One finished ``lht sync``: its JSON report, wall seconds and peak RSS in MB."""

    report: dict[str, Any]
    seconds: float
    peak_rss_mb: float

    def result(self, name: str) -> dict[str, Any]:
        """The report line of object ``name``."""
        return next(r for r in self.report["results"] if r["object_name"].lower() == name.lower())

    @property
    def calls(self) -> int:
        """API calls the whole run spent."""
        return int(self.report["api_calls"])


def run_measured(
    argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 3600
) -> tuple[int, str, str, float, float]:
    """Run ``argv``; (exit code, stdout, stderr, wall s, peak RSS MB of that process).

    RSS is sampled with psutil every 20 ms (rusage's ru_maxrss would count the bench's
    own memory, which the child carries between fork and exec).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=err)
        watched = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                if argv[0] in watched.cmdline():  # exec'd: no longer a copy of the bench
                    peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                pass
            if time.perf_counter() - started > timeout:
                proc.kill()
                raise SystemExit(f"{' '.join(argv)} did not finish in {timeout:.0f}s")
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), seconds, peak / 2**20


class BenchWorkspace:
    """A dbt project copy and DuckDB file bound to ``org`` (token flow)."""

    def __init__(self, org: DevOrg, root: Path, name: str = "ws") -> None:
        self.root = root / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.project = self.root / "dbt_project"
        shutil.copytree(
            PROJECT_DIR,
            self.project,
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*"),
        )
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SF_", "SNOWFLAKE_", "DBT_ENV_SECRET", "LHT_"))
        }
        self.database = self.root / "lht.duckdb"
        self.env = {
            **base,
            **org.env("token"),
            "LHT_DUCKDB_PATH": str(self.database),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_TARGET_PATH": str(self.root / "target"),
            "DBT_LOG_PATH": str(self.root / "logs"),
        }

    def sync(self, *args: str, extra_env: dict[str, str] | None = None) -> SyncRun:
        """``lht sync --json ARGS``; SystemExit with its output if it fails."""
        argv = [
            str(BIN / "lht"),
            "sync",
            "--json",
            "--project-dir",
            str(self.project),
            "--profiles-dir",
            str(self.project),
            *args,
        ]
        code, out, err, seconds, rss = run_measured(
            argv, {**self.env, **(extra_env or {})}, self.root
        )
        if code != 0:
            raise SystemExit(
                f"lht sync {' '.join(args)} exited {code}:\n{out[-3000:]}\n{err[-3000:]}"
            )
        return SyncRun(json.loads(out), seconds, rss)

    def run(self, *args: str) -> None:
        """``lht ARGS`` on this workspace's project (e.g. ``add``); SystemExit if it fails."""
        argv = [str(BIN / "lht"), *args, "--project-dir", str(self.project)]
        proc = subprocess.run(argv, env=self.env, cwd=self.root, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(
                f"lht {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            )

    def dbt(self, *args: str) -> float:
        """Run ``dbt ARGS`` on this workspace; wall seconds."""
        argv = [
            str(BIN / "dbt"),
            *args,
            "--project-dir",
            str(self.project),
            "--profiles-dir",
            str(self.project),
        ]
        started = time.perf_counter()
        proc = subprocess.run(argv, env=self.env, cwd=self.root, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"dbt {' '.join(args)} failed:\n{proc.stdout[-3000:]}")
        return time.perf_counter() - started


def http_session(org: DevOrg) -> requests.Session:
    """A session trusting the org's CA, authorised as its user."""
    session = requests.Session()
    session.verify, session.trust_env = org.ca_path, False
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    return session


def csv_fields(org: DevOrg, obj: str) -> list[dict[str, Any]]:
    """The describe entries of ``obj`` that a Bulk CSV carries (what lht selects)."""
    return [f for f in org.engine.describe(obj)["fields"] if f["type"] not in NOT_IN_CSV]


def bulk_csv_pages(org: DevOrg, soql: str) -> tuple[list[bytes], float]:
    """Every results page of a Bulk 2.0 queryAll job on ``soql`` (as the org pages it by
    default); also the seconds from job creation to JobComplete (the org's preparation)."""
    http = http_session(org)
    base = f"{org.instance_url}/services/data/{API}/jobs/query"
    started = time.perf_counter()
    job = http.post(base, json={"operation": "queryAll", "query": soql}).json()
    while http.get(f"{base}/{job['id']}").json()["state"] != "JobComplete":
        time.sleep(0.05)
    prepared = time.perf_counter() - started
    pages, locator = [], ""
    while True:
        response = http.get(
            f"{base}/{job['id']}/results", params={"locator": locator} if locator else {}
        )
        response.raise_for_status()
        pages.append(response.content)
        locator = response.headers.get("Sforce-Locator") or ""
        if locator in ("", "null"):
            break
    http.delete(f"{base}/{job['id']}")
    return pages, prepared


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A small fixed-width table on stdout."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def touch_percent(org, obj: str, percent: float) -> int:
    """Move SystemModstamp (and LastModifiedDate) of ~``percent`` % of ``obj``'s live records
    to now, as an update would; returns how many."""
    table = org.engine.table(obj)
    now = org.engine.now()
    modulo = max(1, round(100 / percent))
    alive = (
        ' AND NOT "IsDeleted"'
        if any(f["name"] == "IsDeleted" for f in org.engine.describe(obj)["fields"])
        else ""
    )
    with org.engine._lock:  # noqa: SLF001 - a bulk edit the org has no API for
        cur = org.engine.cursor()
        cur.execute(
            f'UPDATE {table} SET "SystemModstamp" = ?, "LastModifiedDate" = ? '
            f'WHERE hash("Id") % {modulo} = 0{alive}',
            [now, now],
        )
        return int(
            cur.execute(
                f'SELECT count(*) FROM {table} WHERE "SystemModstamp" = ?', [now]
            ).fetchone()[0]
        )
