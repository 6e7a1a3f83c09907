"""Fixtures of the "beyond the peers" features: the end-to-end workspace (the local org,
`lht` and `dbt` as subprocesses) shared with tests/e2e.

These features run on DuckDB here; the SQL they rely on (the formula merge, the history
model, prune's deletes) is tested on the Snowflake dialect in tests/dbt and
tests/beyond/test_prune_rule.py, which keeps the suite inside its time budget.
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
