"""Fixtures of the "beyond the peers" features: the end-to-end workspace (the local org,
`lht` and `dbt` as subprocesses, DuckDB and the Snowflake dialect) shared with tests/e2e."""

from __future__ import annotations

from e2e.conftest import org, workspace  # noqa: F401 - fixtures re-exported for this folder
