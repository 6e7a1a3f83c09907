"""Warehouse fixtures for the loader tests: DuckDB files and the Snowflake dialect on fakesnow.

Three engines:

- ``duckdb``: a DuckDB file in a temporary directory.
- ``snowflake``: the fakesnow server over HTTP: the loader's Parquet files PUT through a
  presigned URL to its stage, one ``COPY INTO`` (``tests/fakesnow_compat.py`` fills in what
  fakesnow 0.12 lacks: REMOVE, LIST of a path, atomic COPY).
- ``snowflake-patch``: fakesnow in-process (``fakesnow.patch()``): the same statements, PUT
  copying the file in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lht.warehouse.connection import Warehouse, connect
from lht.warehouse.target import Target

ENGINES = ["duckdb", "snowflake", "snowflake-patch"]


def snowflake_target(server: dict, database: str, tmp: Path) -> Target:
    """A Snowflake target pointing at the fakesnow server."""
    return Target(
        kind="snowflake",
        name="test",
        profile="lht",
        profiles_file=tmp / "profiles.yml",
        account=server["account"],
        user=server["user"],
        password=server["password"],
        host=server["host"],
        port=server["port"],
        protocol=server["protocol"],
        database=database,
        schema="PUBLIC",
    )


@pytest.fixture
def duck_wh(tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse on a fresh DuckDB file."""
    target = Target(
        kind="duckdb",
        name="dev",
        profile="lht",
        profiles_file=tmp_path / "profiles.yml",
        path=tmp_path / "wh" / "lht.duckdb",
        database="lht",
    )
    wh = connect(target, staging_schema="salesforce_staging")
    yield wh
    wh.close()


@pytest.fixture
def snow_wh(
    fakesnow_server: dict, snowflake_database: str, fakesnow_fixes: None, tmp_path: Path
) -> Iterator[Warehouse]:
    """A warehouse on the fakesnow server, in a fresh database."""
    wh = connect(
        snowflake_target(fakesnow_server, snowflake_database, tmp_path),
        staging_schema="salesforce_staging",
    )
    yield wh
    wh.close()


@pytest.fixture
def patched_snow_wh(tmp_path: Path, fakesnow_fixes: None) -> Iterator[Warehouse]:
    """A warehouse on in-process fakesnow (``fakesnow.patch()``): a dev dependency, so a missing
    one fails the tests that need it instead of skipping them."""
    import fakesnow

    with fakesnow.patch():
        target = Target(
            kind="snowflake",
            name="test",
            profile="lht",
            profiles_file=tmp_path / "profiles.yml",
            account="fakesnow",
            user="fake",
            password="snow",
            database="LHT_PATCHED",
            schema="PUBLIC",
        )
        wh = connect(target, staging_schema="salesforce_staging")
        yield wh
        wh.close()


@pytest.fixture(params=ENGINES)
def wh(request: pytest.FixtureRequest) -> Warehouse:
    """The same test on DuckDB, the fakesnow server and in-process fakesnow."""
    fixture = {"duckdb": "duck_wh", "snowflake": "snow_wh", "snowflake-patch": "patched_snow_wh"}[
        request.param
    ]
    return request.getfixturevalue(fixture)


# -- Salesforce side: the local org over HTTPS ------------------------------------------------

#: Small seed counts: enough rows for paging, Bulk pages and the REST/Bulk choice.
SF_ORG_COUNTS = {
    "Account": 450,
    "Contact": 25,
    "Opportunity": 5,
    "Lead": 5,
    "Case": 5,
    "Task": 5,
    "Invoice__c": 30,
    "Attachment": 4,
}


@pytest.fixture(scope="session")
def sf_org() -> Iterator[object]:
    """One local org for the loader's Salesforce tests (faults are cleared per test)."""
    from lht_devorg import DevOrg

    with DevOrg(counts=SF_ORG_COUNTS, bulk_job_seconds=0.2) as org:
        yield org


@pytest.fixture
def org(sf_org: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The session's local org, trusted through REQUESTS_CA_BUNDLE, with no faults armed."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf_org.ca_path)  # type: ignore[attr-defined]
    sf_org.faults.clear()  # type: ignore[attr-defined]
    yield sf_org
    sf_org.faults.clear()  # type: ignore[attr-defined]
