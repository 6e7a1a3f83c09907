"""sqlfluff finds nothing in the SQL dbt compiles for every model, on DuckDB and on the
Snowflake dialect, first build and incremental build alike (rules and the reason each
disabled one is off: dbt_project/.sqlfluff). Compiled SQL is linted with the raw
templater: the dbt templater would compile the project once more, slowly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlfluff.core import FluffConfig, Linter
from test_package import seed

if TYPE_CHECKING:
    from conftest import DbtEnv

pytestmark = pytest.mark.slow

DIALECTS = {"duckdb": "duckdb", "snowflake": "snowflake"}


def findings(env: DbtEnv, names: list[str] | None = None) -> list[str]:
    """Every sqlfluff finding in the compiled models (those named, else all), as
    `file:line code description`."""
    config = FluffConfig.from_path(str(env.project), overrides={"dialect": DIALECTS[env.engine]})
    linter = Linter(config=config)
    compiled = env.project / "target" / "compiled" / "lht" / "models" / "salesforce"
    models = sorted(path for path in compiled.glob("*.sql") if names is None or path.stem in names)
    assert len(models) == (len(names) if names else 8), models
    found = []
    for path in models:
        result = linter.lint_string(path.read_text(), fname=str(path))
        found += [
            f"{Path(path).name}:{v.line_no} {v.rule_code()} {v.desc()}"
            for v in result.get_violations()
        ]
    return found


def test_compiled_models_have_no_sqlfluff_findings(env: DbtEnv) -> None:
    seed(env)
    env.add_model("account_history", "{{ lht.lht_history_table('Account') }}")
    env.dbt("compile", "--select", "models/salesforce").check()
    found = findings(env)
    if env.engine == "duckdb":
        # the incremental form (is_incremental() true) takes the other branches of the macros,
        # the same for every object
        incremental = ["account", "account_history"]
        env.dbt("run", "--select", *incremental).check()
        env.dbt("compile", "--select", *incremental).check()
        assert (
            "union all"
            in (
                env.project
                / "target"
                / "compiled"
                / "lht"
                / "models"
                / "salesforce"
                / "account.sql"
            ).read_text()
        )
        found += findings(env, incremental)
    assert found == []
