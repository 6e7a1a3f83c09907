"""Fixtures of the "beyond the peers" features: the end-to-end workspace (the local org,
`lht` and `dbt` as subprocesses) shared with tests/e2e.

``workspace`` is DuckDB; ``workspace_any`` is the same test on DuckDB and on the Snowflake
dialect (fakesnow server), for the features whose warehouse side differs by engine (`lht
status`, `lht prune`, the formula refresh, history). Those whose warehouse side is the same
on both (progress display, `lht jobs`, the refusals of `lht prune` and `lht add`) run on
DuckDB only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.conftest import Workspace, make_workspace, org  # noqa: F401 - `org` re-exported for this folder

from lht_devorg import DevOrg


@pytest.fixture
def workspace(org: DevOrg, tmp_path: Path) -> Workspace:  # noqa: F811 - this folder's own variant
    """A DuckDB workspace against a fresh local org."""
    return make_workspace("duckdb", tmp_path, org)


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def workspace_any(request: pytest.FixtureRequest, org: DevOrg, tmp_path: Path) -> Workspace:  # noqa: F811
    """A workspace on DuckDB and on the Snowflake dialect, against a fresh local org."""
    fakesnow = request.getfixturevalue("fakesnow_server") if request.param == "snowflake" else None
    return make_workspace(request.param, tmp_path, org, fakesnow)
