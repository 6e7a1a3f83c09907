"""The Snowflake load path of the writer on fakesnow (server and in-process): an append
session's batches become Parquet files PUT to the loader's stage and one COPY INTO; a failed
or killed load leaves no rows and, after the next load, no stage files.

Statements are counted where fakesnow receives them, so the counts are what the loader sent.
"""

from __future__ import annotations

import os
import secrets
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from lht.config import settings_from_env
from lht.errors import LhtError, WarehouseError
from lht.typemap import FieldSpec
from lht.warehouse import snowflake_load
from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.writer import append_session, write_batch

EXTRACTED = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
FIELDS = [
    FieldSpec("Id", "id", length=18),
    FieldSpec("Name", "string", length=255),
    FieldSpec("Amount__c", "currency", precision=5, scale=2),
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["snowflake", "snowflake-patch"])
def sf(request: pytest.FixtureRequest) -> Warehouse:
    """The fakesnow server and in-process fakesnow."""
    return request.getfixturevalue(
        {"snowflake": "snow_wh", "snowflake-patch": "patched_snow_wh"}[request.param]
    )


def verbs(seen: list[str], verb: str) -> list[str]:
    """The statements starting with ``verb``. A PUT counts once: fakesnow's server stages like
    GCS, where the connector asks again for each file's presigned URL (``PUT 'file://<name>'``,
    no folder); only the loader's own PUT names the local file by its absolute path."""
    found = [s for s in seen if s.upper().startswith(verb)]
    return [s for s in found if s.startswith("PUT 'file:///")] if verb.startswith("PUT") else found


def rows_batch(start: int, n: int) -> pa.Table:
    """``n`` rows of about 220 bytes that do not compress away (random hex names)."""
    return pa.table(
        {
            "Id": [f"a{i:017d}" for i in range(start, start + n)],
            "Name": [secrets.token_hex(100) for _ in range(n)],
        }
    )


def use_file_mb(wh: Warehouse, monkeypatch: pytest.MonkeyPatch, mb: float) -> None:
    """The warehouse's settings with Parquet files rolled at ``mb`` megabytes (LHT_SNOWFLAKE_FILE_MB)."""
    monkeypatch.setattr(wh, "settings", replace(wh.settings, snowflake_file_mb=mb))


def count(wh: Warehouse, object_name: str = "Account") -> int:
    return wh.execute(f"SELECT count(*) FROM {wh.staging_table(object_name)}")[0][0]


def stage_files(wh: Warehouse) -> list[str]:
    return [str(r[0]) for r in wh.execute(f"LIST {snowflake_load.stage_ref(wh)}/")]


def test_an_extract_of_thirty_batches_is_one_copy_and_puts_follow_file_size(
    sf: Warehouse, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file_mb(sf, monkeypatch, 0.5)
    with append_session(sf):
        for b in range(30):
            write_batch(sf, "Account", rows_batch(b * 1000, 1000), FIELDS, extracted_at=EXTRACTED)
    assert count(sf) == 30_000
    assert len(verbs(statements, "COPY INTO")) == 1
    puts = len(verbs(statements, "PUT "))
    assert 1 < puts < 30  # rolled by size: 30 batches of ~0.2 MB into files of 0.5 MB
    assert not verbs(statements, "REMOVE")
    assert stage_files(sf) == []  # PURGE removed the loaded files


def test_a_batch_written_outside_a_session_is_its_own_load(
    sf: Warehouse, statements: list[str]
) -> None:
    write_batch(sf, "Account", rows_batch(0, 3), FIELDS, extracted_at=EXTRACTED)
    write_batch(sf, "Account", rows_batch(3, 2), FIELDS, extracted_at=EXTRACTED)
    assert count(sf) == 5
    assert len(verbs(statements, "COPY INTO")) == 2 and len(verbs(statements, "PUT ")) == 2
    assert len(verbs(statements, "CREATE STAGE")) == 1 and len(verbs(statements, "LIST")) == 1


def test_an_error_mid_extract_leaves_no_rows_and_no_stage_files(
    sf: Warehouse, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(sf, "Account", rows_batch(0, 1), FIELDS, extracted_at=EXTRACTED)
    use_file_mb(sf, monkeypatch, 0.1)
    with pytest.raises(LhtError, match="stopped"):
        with append_session(sf):
            for b in range(5):
                write_batch(
                    sf, "Account", rows_batch(100 + b * 1000, 1000), FIELDS, extracted_at=EXTRACTED
                )
            raise LhtError("stopped mid-extract")
    assert len(verbs(statements, "PUT ")) >= 4  # files had reached the stage
    assert count(sf) == 1
    assert stage_files(sf) == []


def _narrowed_opportunity(sf: Warehouse) -> tuple[pa.Table, pa.Table, list[FieldSpec]]:
    """Opportunity staging with Amount__c narrowed to NUMBER(5,2) behind lht's back (its type
    cache still says 18,2), and two batches: one that fits, one that cannot load."""
    good = pa.table({"Id": ["o1", "o2"], "Amount__c": pa.array([1, 2], pa.decimal128(18, 2))})
    bad = pa.table(
        {"Id": ["o3"], "Amount__c": pa.array([10**10], pa.decimal128(18, 2))}
    )  # > NUMBER(5,2)
    wide = [FIELDS[0], FieldSpec("Amount__c", "currency", precision=18, scale=2)]
    write_batch(
        sf, "Opportunity", good.slice(0, 1), wide, extracted_at=EXTRACTED
    )  # creates NUMBER(18,2)
    sf.execute(
        f'alter table {sf.staging_table("Opportunity")} alter column "AMOUNT__C" set data type number(5,2)'
    )
    return good, bad, wide


def test_a_failed_copy_is_one_statement_for_every_file_then_its_files_are_removed(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch, statements: list[str]
) -> None:
    """What lht does when the COPY fails (a value too wide in the third file): it loaded the
    extract's files with one COPY, ON_ERROR = ABORT_STATEMENT; it raises saying nothing was
    written, and removes the load's files from the stage.

    That none of the files' rows land is Snowflake's guarantee, not lht's: a COPY is one
    statement, and with ABORT_STATEMENT it loads all its files or none (Snowflake's COPY INTO
    reference); fakesnow_compat gives fakesnow that guarantee, so it is not asserted here."""
    use_file_mb(sf, monkeypatch, 0.000001)  # one file per batch
    good, bad, wide = _narrowed_opportunity(sf)
    statements.clear()
    with pytest.raises(
        WarehouseError, match="(?i)COPY INTO .*opportunity.* failed, nothing was written"
    ):
        with append_session(sf):
            write_batch(sf, "Opportunity", good, wide, extracted_at=EXTRACTED)
            write_batch(sf, "Opportunity", good, wide, extracted_at=EXTRACTED)
            write_batch(sf, "Opportunity", bad, wide, extracted_at=EXTRACTED)
    puts, copies, removes = (verbs(statements, v) for v in ("PUT ", "COPY INTO", "REMOVE"))
    assert len(puts) == 3 and len(copies) == 1, (puts, copies)
    prefix = copies[0].split(" FROM ", 1)[1].split()[0]
    assert prefix.endswith("/") and "/opportunity/" in prefix.lower()
    assert "ON_ERROR = ABORT_STATEMENT" in copies[0] and "PURGE = TRUE" in copies[0]
    assert all(prefix in put for put in puts), "a file was staged outside the load's prefix"
    assert removes == [f"REMOVE {prefix}"]
    assert stage_files(sf) == []


def test_a_refused_remove_after_a_failed_load_keeps_the_loads_error_and_the_next_run_cleans_up(
    snow_wh: Warehouse, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wh = snow_wh
    use_file_mb(wh, monkeypatch, 0.000001)
    good, bad, wide = _narrowed_opportunity(wh)
    with monkeypatch.context() as refusing:
        refusing.setattr("fakesnow.cursor.FakeSnowflakeCursor.execute", _refusing_remove())
        with pytest.raises(
            WarehouseError, match="(?i)COPY INTO .*opportunity.* failed, nothing was written"
        ):
            with append_session(wh):
                write_batch(wh, "Opportunity", good, wide, extracted_at=EXTRACTED)
                write_batch(wh, "Opportunity", bad, wide, extracted_at=EXTRACTED)
    assert any(
        "Could not remove the staged files of a failed load" in r.getMessage()
        for r in caplog.records
    )
    left = stage_files(wh)  # the failed load's files stay (fakesnow purges a file it loaded even
    assert left and all("/opportunity/" in name for name in left), left  # when the COPY fails)
    fresh = connect(wh.target, staging_schema=wh.staging_schema)  # the next run: a new session
    try:
        write_batch(fresh, "Account", rows_batch(0, 2), FIELDS, extracted_at=EXTRACTED)
        assert stage_files(fresh) == []
    finally:
        fresh.close()


def _refusing_remove():  # type: ignore[no-untyped-def]
    """fakesnow's execute, refusing REMOVE as Snowflake refuses a role without the privilege."""
    import fakesnow.cursor as fs_cursor
    from snowflake.connector.errors import ProgrammingError

    original = fs_cursor.FakeSnowflakeCursor.execute

    def execute(self, command, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(command).lstrip().upper().startswith("REMOVE"):
            raise ProgrammingError(
                msg="Insufficient privileges to operate on stage 'LHT_LOAD'",
                errno=3001,
                sqlstate="42501",
            )
        return original(self, command, *args, **kwargs)

    return execute


def local_folders(root: Path) -> list[Path]:
    """The load folders lht made in ``root`` (``lht-load-<pid>-<random>``)."""
    return sorted(root.glob("lht-load-*"))


def test_local_files_are_deleted_after_a_load_and_after_a_failure(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    write_batch(sf, "Account", rows_batch(0, 10), FIELDS, extracted_at=EXTRACTED)
    assert local_folders(tmp_path) == []
    with pytest.raises(LhtError):
        with append_session(sf):
            write_batch(sf, "Account", rows_batch(10, 10), FIELDS, extracted_at=EXTRACTED)
            assert len(local_folders(tmp_path)) == 1  # the load's own folder, while it runs
            raise LhtError("failed")
    assert list(tmp_path.iterdir()) == []


def test_load_files_live_in_a_private_folder_0700_with_files_0600_whatever_the_umask(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    use_file_mb(sf, monkeypatch, 0.1)
    seen: list[tuple[Path, int, int]] = []
    original = snowflake_load.SnowflakeLoad._put

    def put(self, path, location):  # type: ignore[no-untyped-def]
        seen.append(
            (path, stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode))
        )
        return original(self, path, location)

    monkeypatch.setattr(snowflake_load.SnowflakeLoad, "_put", put)
    old_umask = os.umask(0)  # a lax umask would make a plain open() 0666 and mkdir() 0777
    try:
        with append_session(sf):
            for b in range(3):
                write_batch(
                    sf, "Account", rows_batch(b * 1000, 1000), FIELDS, extracted_at=EXTRACTED
                )
    finally:
        os.umask(old_umask)
    assert len(seen) >= 2
    for path, file_mode, folder_mode in seen:
        assert (file_mode, folder_mode) == (0o600, 0o700), path
        assert path.parent.parent == tmp_path and path.parent.name.startswith(
            f"lht-load-{os.getpid()}-"
        )
    assert len({path.parent for path, _, _ in seen}) == 1
    assert count(sf) == 3000 and local_folders(tmp_path) == []


@pytest.mark.parametrize("squatter", ["file", "symlink"])
def test_something_at_the_old_shared_path_neither_breaks_a_load_nor_is_followed(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, squatter: str
) -> None:
    shared, victim = tmp_path / "shared", tmp_path / "victim"
    shared.mkdir()
    victim.mkdir()
    (victim / "keep.txt").write_text("another user's file")
    old_path = shared / "lht-snowflake-load"  # where lht wrote load files before
    if squatter == "file":
        old_path.write_text("not a folder")
    else:
        old_path.symlink_to(victim, target_is_directory=True)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    written: list[Path] = []
    original = snowflake_load.SnowflakeLoad._put

    def put(self, path, location):  # type: ignore[no-untyped-def]
        written.append(path.resolve())
        return original(self, path, location)

    monkeypatch.setattr(snowflake_load.SnowflakeLoad, "_put", put)
    write_batch(sf, "Account", rows_batch(0, 5), FIELDS, extracted_at=EXTRACTED)
    assert count(sf) == 5
    assert written and not any(
        path.is_relative_to(victim) for path in written
    )  # not through the link
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in shared.iterdir()) == ["lht-snowflake-load"]


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_load_removes_this_users_folders_of_dead_runs_only(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.parquet").write_text("not lht's")
    dead = _dead_pid()
    killed = tmp_path / f"lht-load-{dead}-killed"  # a killed run's folder: removed
    killed.mkdir()
    (killed / "account-00001.parquet").write_text("left over")
    alive = tmp_path / f"lht-load-{os.getppid()}-running"  # a running process's folder: kept
    alive.mkdir()
    link = (
        tmp_path / f"lht-load-{dead}-link"
    )  # a symlink named like a folder: neither followed nor removed
    link.symlink_to(victim, target_is_directory=True)
    file = tmp_path / f"lht-load-{dead}-file"
    file.write_text("a file, not a folder")
    write_batch(sf, "Account", rows_batch(0, 5), FIELDS, extracted_at=EXTRACTED)
    assert not killed.exists()
    assert alive.is_dir() and link.is_symlink() and file.is_file()
    assert [p.name for p in victim.iterdir()] == ["keep.parquet"]


def test_a_dead_runs_folder_owned_by_another_user_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lht.warehouse import loadfiles

    folder = tmp_path / f"lht-load-{_dead_pid()}-other"
    folder.mkdir()
    monkeypatch.setattr(
        loadfiles.os, "getuid", lambda: folder.stat().st_uid + 1
    )  # we are someone else
    assert loadfiles.remove_dead_folders(tmp_path) == 0 and folder.is_dir()
    monkeypatch.undo()
    assert loadfiles.remove_dead_folders(tmp_path) == 1 and not folder.exists()


def _put_leftover(wh: Warehouse, load_id: str, tmp_path: Path) -> None:
    path = tmp_path / f"{load_id}.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"ID": ["left"]}), path)
    wh.execute(
        f"PUT 'file://{path}' {snowflake_load.stage_ref(wh)}/account/{load_id}/ AUTO_COMPRESS = FALSE"
    )


def test_a_load_removes_what_dead_or_expired_loads_left_and_keeps_live_ones(
    snow_wh: Warehouse, tmp_path: Path
) -> None:
    wh = snow_wh
    write_batch(
        wh, "Contact", rows_batch(0, 1), FIELDS, extracted_at=EXTRACTED
    )  # creates the stage
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    old = (now - timedelta(hours=13)).strftime("%Y%m%dT%H%M%SZ")
    host = snowflake_load._HOST
    dead = f"{stamp}-{host}-{gone.pid}-0000dead"
    alive_here = f"{stamp}-{host}-{os.getppid()}-0000live"
    other_host = f"{stamp}-ffffffff-1-00000ther"
    expired = f"{old}-ffffffff-1-000000old"
    for load_id in (dead, alive_here, other_host, expired):
        _put_leftover(wh, load_id, tmp_path)
    fresh = connect(wh.target, staging_schema=wh.staging_schema)  # a later run: a new session
    try:
        write_batch(fresh, "Account", rows_batch(0, 5), FIELDS, extracted_at=EXTRACTED)
        left = {name.split("/")[-2] for name in stage_files(fresh)}
        assert left == {alive_here, other_host}
        assert count(fresh) == 5
    finally:
        fresh.close()


KILLED_LOAD = textwrap.dedent("""
    import secrets, sys, time
    from concurrent.futures import wait
    from datetime import datetime, timezone
    import pyarrow as pa
    from lht.typemap import FieldSpec
    from lht.warehouse import snowflake_load
    from lht.warehouse.connection import connect
    from lht.warehouse.target import Target
    from lht.warehouse.writer import append_session, write_batch
    host, port, database, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    target = Target(kind="snowflake", name="t", profile="lht", profiles_file=marker + ".yml",
                    account="fakesnow", user="fake", password="snow", host=host, port=port,
                    protocol="http", database=database, schema="PUBLIC")
    wh = connect(target, staging_schema="salesforce_staging")
    fields = [FieldSpec("Id", "id"), FieldSpec("Name", "string")]
    at = datetime.now(timezone.utc)
    with append_session(wh):
        for b in range(8):
            ids = [f"k{b:02d}{i:06d}" for i in range(2000)]
            write_batch(wh, "Account", pa.table({"Id": ids, "Name": [secrets.token_hex(50) for _ in ids]}), fields, extracted_at=at)
        wait(snowflake_load._active[wh].uploads)  # the files rolled so far are on the stage
        open(marker, "w").write("staged")
        time.sleep(600)  # killed here, before the session's COPY
""")


def test_a_load_killed_after_its_puts_leaves_no_rows_and_the_next_load_removes_its_files(
    snow_wh: Warehouse,
    fakesnow_server: dict,
    snowflake_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wh = snow_wh
    marker = tmp_path / "staged"
    env = {**os.environ, "LHT_SNOWFLAKE_FILE_MB": "0.2", "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_LOAD,
            fakesnow_server["host"],
            str(fakesnow_server["port"]),
            snowflake_database,
            str(marker),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, (
                f"the load ended early: {proc.stderr.read() if proc.stderr else ''}"
            )
            assert time.monotonic() < deadline, "the load never staged its files"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        staged = stage_files(wh)
        assert len(staged) >= 2 and all(f"-{proc.pid}-" in name for name in staged)
        assert count(wh) == 0  # nothing half-loaded
        assert [p.name.split("-")[2] for p in local_folders(tmp_path)] == [str(proc.pid)]
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        write_batch(
            wh, "Account", rows_batch(0, 3), FIELDS, extracted_at=EXTRACTED
        )  # the next run's load
        assert stage_files(wh) == []
        assert count(wh) == 3
        assert local_folders(tmp_path) == []
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def recorded_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Sizes of the files the loader PUT."""
    sizes: list[int] = []
    original = snowflake_load.SnowflakeLoad._put

    def put(self, path, location):  # type: ignore[no-untyped-def]
        sizes.append(path.stat().st_size)
        return original(self, path, location)

    monkeypatch.setattr(snowflake_load.SnowflakeLoad, "_put", put)
    yield sizes


def test_every_file_but_the_last_reaches_the_roll_size(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch, recorded_load: list[int]
) -> None:
    use_file_mb(sf, monkeypatch, 0.25)
    with append_session(sf):
        for b in range(12):
            write_batch(sf, "Account", rows_batch(b * 1000, 1000), FIELDS, extracted_at=EXTRACTED)
    assert len(recorded_load) >= 2
    assert all(size >= 0.25 * 2**20 for size in recorded_load[:-1])
    # bounded too: a file is closed by the batch that reaches the size (a batch is ~0.2 MB)
    assert all(size < (0.25 + 0.25) * 2**20 for size in recorded_load)
    assert count(sf) == 12_000


def test_files_roll_at_64_mb_by_default() -> None:
    """The connector's PUT reads a whole file into memory (GCS; AWS and Azure under 64 MB):
    the default roll size is what bounds it."""
    assert snowflake_load.file_bytes(settings_from_env({})) == 64 * 2**20
    assert snowflake_load.file_bytes(settings_from_env({"LHT_SNOWFLAKE_FILE_MB": "1"})) == 2**20


def test_a_load_hands_freed_arrow_memory_back_as_it_goes_and_before_each_put(
    sf: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_file_mb(sf, monkeypatch, 1)
    monkeypatch.setattr(snowflake_load, "RELEASE_MB", 0.5)
    events: list[str] = []
    release, put = snowflake_load.release_unused_memory, snowflake_load.SnowflakeLoad._put
    monkeypatch.setattr(
        snowflake_load, "release_unused_memory", lambda: (events.append("release"), release())
    )
    monkeypatch.setattr(
        snowflake_load.SnowflakeLoad,
        "_put",
        lambda self, path, location: (events.append("put"), put(self, path, location))[1],
    )
    with append_session(sf):
        for b in range(24):  # ~5 MB of Arrow batches, ~0.2 MB each
            write_batch(sf, "Account", rows_batch(b * 1000, 1000), FIELDS, extracted_at=EXTRACTED)
    assert count(sf) == 24_000
    assert events.count("put") >= 3
    assert (
        events.count("release") >= events.count("put") + 5
    )  # every 0.5 MB of batches, and at each roll
    # each roll releases before it hands its file to the PUT: the k-th PUT has at least k releases before it
    puts = [i for i, e in enumerate(events) if e == "put"]
    assert all(events[:i].count("release") >= k for k, i in enumerate(puts, start=1))


@pytest.mark.parametrize("value", ["0", "-1", "big"])
def test_an_invalid_file_size_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from lht.errors import ConfigError

    with pytest.raises(ConfigError, match="LHT_SNOWFLAKE_FILE_MB"):
        settings_from_env({"LHT_SNOWFLAKE_FILE_MB": value})
