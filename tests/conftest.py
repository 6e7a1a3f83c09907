"""Fixtures and hooks shared by the whole suite: a fakesnow server for the Snowflake dialect,
seeds made once per run (orgs, dbt's parse), and the markers every test gets from what it uses.

Markers (``--strict-markers``; `make test-fast` deselects ``e2e`` and ``slow``):

- ``e2e``: every test under tests/e2e, push, merge, reliability and beyond (the local org,
  `lht` and `dbt` run as processes of their own), whatever its file says;
- ``snowflake``: every test on the Snowflake dialect: it uses the fakesnow server or
  in-process fakesnow, directly or through a fixture, or is the ``snowflake`` variant of a
  parametrized engine;
- ``slow``: a test that takes tens of seconds or more (set by the test itself).
"""

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

#: Folders whose tests run the product end to end.
E2E_DIRS = frozenset({"e2e", "push", "merge", "reliability", "beyond"})
#: Fixtures that put a test on the Snowflake dialect.
SNOWFLAKE_FIXTURES = frozenset(
    {
        "fakesnow_server",
        "snowflake_database",
        "fakesnow_fixes",
        "snow_wh",
        "patched_snow_wh",
        "snowflake_env",
    }
)
SNOWFLAKE_PARAMS = frozenset({"snowflake", "snowflake-patch"})
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply the markers (see the module doc), then put the slow tests first so that, spread
    over the xdist workers, no long test starts last."""
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.is_relative_to(TESTS) and path.relative_to(TESTS).parts[0] in E2E_DIRS:
            item.add_marker(pytest.mark.e2e)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if SNOWFLAKE_FIXTURES & set(getattr(item, "fixturenames", ())) or any(
            isinstance(value, str) and value in SNOWFLAKE_PARAMS for value in params.values()
        ):
            item.add_marker(pytest.mark.snowflake)
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            item.get_closest_marker("e2e") is None,
        )
    )


@pytest.fixture(scope="session", autouse=True)
def run_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """What the tests of one run make once and copy: every local org starts from a copy of its
    seed (:mod:`orgseed`), every DuckDB dbt project from the partial parse of the shipped
    project (:mod:`dbtparse`); shared by the xdist workers."""
    import dbtparse
    import orgseed

    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "lht-run-caches"
    orgseed.install(shared / "orgs")
    dbtparse.set_cache_dir(shared / "dbt-parse")
    yield shared
    orgseed.uninstall()


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
