"""Fixtures shared by the whole suite: a fakesnow server for the Snowflake dialect."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# A login stored by `lht login` on the machine running the tests must never be used by them:
# every process the suite starts looks for it at a path where nothing is.
os.environ.setdefault(
    "LHT_LOGIN_FILE", str(Path(tempfile.mkdtemp(prefix="lht-tests-")) / "no-login.json")
)


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict]:
    """A fakesnow server (Snowflake's wire protocol on DuckDB) for the whole session.

    Yields the keyword arguments of ``snowflake.connector.connect``. The server carries the
    fixes of :mod:`fakesnow_compat`, so the loader's PUT, LIST, REMOVE and COPY INTO run against it.
    """
    import fakesnow
    from fakesnow_compat import fix_fakesnow_server

    mp = pytest.MonkeyPatch()
    fix_fakesnow_server(mp)
    try:
        with fakesnow.server() as kwargs:
            yield kwargs
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def fakesnow_fixes(fakesnow_server: dict) -> Iterator[None]:
    """The fixes of :mod:`fakesnow_compat` for in-process fakesnow too (the shared server
    applies them for the whole session), whichever test a worker runs first."""
    yield


@pytest.fixture
def snowflake_database(fakesnow_server: dict) -> str:
    """A fresh, uniquely named database on the fakesnow server."""
    return f"LHT_TEST_{uuid.uuid4().hex[:10].upper()}"


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement fakesnow receives during the test (server or in-process), in order,
    whitespace collapsed."""
    import fakesnow.cursor as fs_cursor

    seen: list[str] = []
    original = fs_cursor.FakeSnowflakeCursor.execute

    def execute(self, command, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(" ".join(str(command).split()))
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(fs_cursor.FakeSnowflakeCursor, "execute", execute)
    return seen
