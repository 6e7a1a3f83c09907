"""Benchmark: download a 1M-row Bulk 2.0 query job from the local org.

Starts ``lht devorg`` in a subprocess (so its memory is measured alone), creates a
Bulk 2.0 query job over every Bulk-readable Account field, downloads the result
pages (in sequence through ``Sforce-Locator``, or in parallel through
``resultPages``) and parses each page with pyarrow. Prints rows/s, MB/s and the
server's peak RSS.

    python bench/devorg_bulk_download.py --rows 1000000 [--parallel 4] [--max-records N]
"""

from __future__ import annotations

import argparse
import io
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pyarrow.csv as pacsv
import requests

LAUNCH = (
    "import sys; from lht_devorg.cli import devorg_command; "
    "sys.exit(devorg_command.main(prog_name='lht devorg'))"
)
SKIP_TYPES = {"address", "location", "base64"}


class PeakRss:
    """Samples a process's resident memory every 50 ms; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start_org(rows: int, state: Path) -> tuple[subprocess.Popen, dict[str, str], float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCH,
            "--counts",
            f"Account={rows}",
            "--state-dir",
            str(state),
            "--bulk-job-seconds",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    env: dict[str, str] = {}
    for line in proc.stdout:  # type: ignore[union-attr]
        line = line.rpartition("\r")[2]  # after any progress-bar output
        if not line.startswith("export "):
            continue
        key, _, value = shlex.split(line)[1].partition("=")
        env[key] = value
        if key == "LHT_DEVORG_ADMIN_TOKEN":
            break
    if "LHT_DEVORG_ADMIN_TOKEN" not in env:
        raise SystemExit("lht devorg exited before it was ready")
    return proc, env, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--parallel", type=int, default=0, help="download resultPages with N threads"
    )
    parser.add_argument("--max-records", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        proc, env, seed_seconds = start_org(args.rows, Path(tmp))
        try:
            http = requests.Session()
            http.verify, http.trust_env = env["REQUESTS_CA_BUNDLE"], False
            http.headers["Authorization"] = f"Bearer {env['SF_ACCESS_TOKEN']}"
            base = f"{env['SF_INSTANCE_URL']}/services/data/v59.0"
            fields = [
                f["name"]
                for f in http.get(f"{base}/sobjects/Account/describe").json()["fields"]
                if f["type"] not in SKIP_TYPES
            ]
            with PeakRss(proc.pid) as rss:
                t0 = time.perf_counter()
                job = http.post(
                    f"{base}/jobs/query",
                    json={
                        "operation": "query",
                        "query": f"SELECT {', '.join(fields)} FROM Account",
                    },
                ).json()
                if "id" not in job:
                    raise SystemExit(f"job creation failed: {job}")
                while http.get(f"{base}/jobs/query/{job['id']}").json()["state"] != "JobComplete":
                    time.sleep(0.05)
                t_ready = time.perf_counter()
                total_rows, total_bytes, fetch_s, parse_s = 0, 0, 0.0, 0.0
                lock = threading.Lock()

                def fetch(url: str, params: dict) -> requests.Response:
                    nonlocal total_rows, total_bytes, fetch_s, parse_s
                    t_fetch = time.perf_counter()
                    response = http.get(url, params=params)
                    response.raise_for_status()
                    t_parse = time.perf_counter()
                    table = pacsv.read_csv(io.BytesIO(response.content))
                    with lock:
                        total_rows += table.num_rows
                        total_bytes += len(response.content)
                        fetch_s += t_parse - t_fetch
                        parse_s += time.perf_counter() - t_parse
                    return response

                if args.parallel:
                    urls, next_url = [], f"/services/data/v59.0/jobs/query/{job['id']}/resultPages"
                    while next_url:
                        body = http.get(env["SF_INSTANCE_URL"] + next_url).json()
                        urls += [p["resultUrl"] for p in body["resultPages"]]
                        next_url = body["nextRecordsUrl"]
                    with ThreadPoolExecutor(args.parallel) as pool:
                        list(pool.map(lambda u: fetch(env["SF_INSTANCE_URL"] + u, {}), urls))
                else:
                    locator = ""
                    while True:
                        params = {"locator": locator} if locator else {}
                        if args.max_records:
                            params["maxRecords"] = args.max_records
                        response = fetch(f"{base}/jobs/query/{job['id']}/results", params)
                        locator = response.headers.get("Sforce-Locator", "")
                        if locator in ("", "null"):
                            break
                t_done = time.perf_counter()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    download = t_done - t_ready
    print(f"rows seeded: {args.rows:,} ({seed_seconds:.1f} s to start and seed)")
    print(f"columns: {len(fields)}; job create+complete: {t_ready - t0:.2f} s")
    print(
        f"rows downloaded and parsed: {total_rows:,} in {download:.2f} s "
        f"= {total_rows / download:,.0f} rows/s, {total_bytes / download / 1e6:.1f} MB/s "
        f"({total_bytes / 1e6:.0f} MB)"
    )
    print(
        f"time in HTTP GETs: {fetch_s:.2f} s ({total_bytes / fetch_s / 1e6:.0f} MB/s); "
        f"in pyarrow parsing: {parse_s:.2f} s ({total_bytes / parse_s / 1e6:.0f} MB/s)"
    )
    print(f"server peak RSS: {rss.peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
