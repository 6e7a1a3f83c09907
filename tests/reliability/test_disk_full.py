"""A disk with no room: lht says "disk full", naming the path and the free space, instead of
DuckDB's advice about memory limits; the object fails (exit 1), nothing is half-written, and
the next run with room loads it.

The full disk is real to the process: ``lht`` runs with a file-size limit (``RLIMIT_FSIZE``,
what ``ulimit -f`` sets), so the kernel refuses the write that would pass it with ``EFBIG``
("File too large"), the error a write past a quota or a full small filesystem gives in the
same place. ``/dev/full`` gives a real ``ENOSPC``. DuckDB's own limit on its temporary
directory (``max_temp_directory_size``, which defaults to the free space of that disk) is
what a nearly full disk looks like when DuckDB spills.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from e2e.conftest import BIN, Run, Workspace

from lht.errors import DiskFullError, no_room
from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.target import Target
from lht_devorg import DevOrg

from .conftest import SMALL_COUNTS, assert_clean_failure, staged_count, staging_tables

ROWS = 5000


@pytest.fixture
def mid_org() -> DevOrg:
    with DevOrg(counts={**SMALL_COUNTS, "Account": ROWS}, bulk_job_seconds=0.1) as org:
        yield org


def limited(max_bytes: int):  # type: ignore[no-untyped-def]
    """A ``preexec_fn``: no file of the process may grow past ``max_bytes``."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))

    return apply


def sync_limited(
    ws: Workspace, max_bytes: int, *args: str, extra_env: dict[str, str] | None = None
) -> Run:
    argv = [
        str(BIN / "lht"),
        "sync",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        *args,
    ]
    proc = subprocess.run(
        argv,
        env={**ws.env, **(extra_env or {})},
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limited(max_bytes),
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


def account_error(run: Run) -> str:
    return next(r["error"] for r in run.report["results"] if r["object_name"] == "Account")


@pytest.mark.parametrize(
    "engine_name", ["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)]
)
def test_a_full_disk_fails_the_object_saying_disk_full_and_the_next_run_loads_it(
    make_ws, mid_org: DevOrg, tmp_path: Path, engine_name: str
) -> None:
    ws = make_ws(mid_org)
    ws.sync("User")  # the warehouse exists (DuckDB: a file of about 1 MB)
    temp = tmp_path / "tmp"
    temp.mkdir()
    rest = {"LHT_REST_MAX_ROWS": "100000", "TMPDIR": str(temp)}  # REST pages: no spooled page files
    if engine_name == "duckdb":
        database = ws.duckdb_path
        run = sync_limited(ws, database.stat().st_size + 64 * 1024, "Account", extra_env=rest)
        where = str(database)
    else:
        run = sync_limited(
            ws, 256 * 1024, "Account", extra_env=rest
        )  # the Parquet load file grows past it
        where = str(temp / "lht-load-")
    assert run.returncode == 1, run.stderr[-3000:]
    error = account_error(run)
    assert error.startswith("Disk full") and where in error and "free on its filesystem" in error, (
        error
    )
    assert "memory" not in error.lower()
    assert_clean_failure(run, "disk full")
    assert list(temp.iterdir()) == []  # the load's files went with the failed load
    assert (
        "account" not in staging_tables(ws) or staged_count(ws, "account") == 0
    )  # nothing half-written
    ws.sync("Account", extra_env=rest)
    assert staged_count(ws, "account") == ROWS


def test_a_full_disk_while_saving_bulk_pages_names_the_temporary_directory(
    make_ws, mid_org: DevOrg, tmp_path: Path
) -> None:
    ws = make_ws(mid_org)
    ws.sync("User")
    temp = tmp_path / "tmp"
    temp.mkdir()
    database = ws.duckdb_path if ws.engine == "duckdb" else tmp_path / "none"
    room = (
        database.stat().st_size if database.exists() else 0
    ) + 512 * 1024  # a page of 5,000 rows is ~3 MB
    run = sync_limited(
        ws, room, "Account", extra_env={"LHT_REST_MAX_ROWS": "1", "TMPDIR": str(temp)}
    )
    assert run.returncode == 1, run.stderr[-3000:]
    error = account_error(run)
    assert error.startswith("Disk full") and "Bulk results page" in error and str(temp) in error, (
        error
    )
    assert_clean_failure(run, "disk full")


def test_a_real_enospc_is_recognised_and_the_message_names_the_free_space() -> None:
    with pytest.raises(OSError) as caught, open("/dev/full", "wb", buffering=0) as full:
        full.write(b"x")
    assert no_room(caught.value) == "No space left on device"
    message = str(DiskFullError.at("/dev/full", "Writing a test file", no_room(caught.value) or ""))
    assert message.startswith(
        "Disk full: Writing a test file failed at /dev/full (No space left on device);"
    )
    assert "free on its filesystem" in message


def test_duckdb_spilling_into_a_full_temporary_directory_is_disk_full_not_memory_advice(
    tmp_path: Path,
) -> None:
    target = Target(
        kind="duckdb",
        name="dev",
        profile="lht",
        profiles_file=tmp_path / "profiles.yml",
        path=tmp_path / "lht.duckdb",
        database="lht",
    )
    wh: Warehouse = connect(target, staging_schema="salesforce_staging")
    try:
        wh.execute("SET memory_limit = '8MB'")
        wh.execute("SET max_temp_directory_size = '1MB'")  # what a nearly full disk leaves DuckDB
        with pytest.raises(DiskFullError) as caught:
            wh.execute(
                "CREATE TABLE t AS SELECT md5(range::varchar) AS x FROM range(1000000) ORDER BY x"
            )
    finally:
        wh.close()
    message = str(caught.value)
    assert f"{tmp_path / 'lht.duckdb'}.tmp" in message and "temporary directory" in message, message
    assert "memory_limit" not in message
