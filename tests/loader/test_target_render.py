"""The plain profile reader gives exactly what dbt's renderer gives, and leaves every
other profile to dbt."""

from __future__ import annotations

import contextvars
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lht.warehouse.target import render_plain

REPO = Path(__file__).resolve().parents[2]
PROJECT_PROFILE = yaml.safe_load((REPO / "dbt_project" / "profiles.yml").read_text())["lht"]


def _dbt_render(raw: dict, target: str | None, env: dict[str, str]) -> tuple[str, dict]:
    from dbt.config.profile import Profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    def render() -> tuple[str, dict]:
        set_invocation_context(env)
        return Profile.render_profile(raw, "p", target, ProfileRenderer({}))

    return contextvars.copy_context().run(render)


PLAIN_PROFILES = [
    PROJECT_PROFILE,
    {
        "target": "dev",
        "outputs": {
            "dev": {
                "type": "duckdb",
                "path": "x.duckdb",
                "threads": 4,
                "settings": {"memory_limit": "1GB"},
                "extensions": ["httpfs"],
            }
        },
    },
    {"outputs": {"default": {"type": "duckdb", "path": '{{env_var("P")}}'}}},
    {
        "target": "{{ env_var('T', 'a') }}",
        "outputs": {
            "a": {
                "type": "duckdb",
                "path": "{{ env_var('DBT_ENV_SECRET_P', 'secret.duckdb') }}",
                "port": "5432",
            },
            "b": {"type": "duckdb", "path": "{{ env_var('P', '') }}", "schema": 7},
        },
    },
]
ENVS = [
    {},
    {"LHT_TARGET": "local", "LHT_DUCKDB_PATH": "/data/w h.duckdb", "P": "p.duckdb", "T": "b"},
    {"LHT_DUCKDB_PATH": "123", "T": "a", "P": "", "DBT_ENV_SECRET_P": "s3cret.duckdb"},
]


@pytest.mark.parametrize("raw", PLAIN_PROFILES)
@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("target", [None, "local", "a"])
def test_plain_profiles_render_exactly_as_dbt_renders_them(
    raw: dict, env: dict, target: str | None
) -> None:
    """Every profile here is plain (values, or one ``env_var`` call each): whatever dbt renders,
    lht renders itself, to the same result; whatever dbt refuses, lht leaves to dbt (which then
    explains)."""
    ours = render_plain(raw, target, env)
    try:
        theirs = _dbt_render(raw, target, env)
    except Exception:  # noqa: BLE001 - dbt refuses it: so must we
        assert ours is None
        return
    assert ours == theirs


def test_the_projects_local_target_is_read_without_dbt() -> None:
    assert render_plain(PROJECT_PROFILE, None, {}) == (
        "local",
        {"type": "duckdb", "path": "lht.duckdb", "threads": 4},
    )


@pytest.mark.parametrize(
    "value",
    [
        "{{ env_var('X', '') or none }}",
        "{{ env_var('N', '4') | as_number }}",
        "pre-{{ env_var('X', 'a') }}",
        "{% if true %}a{% endif %}",
        "{{ env_var('UNSET_WITHOUT_DEFAULT') }}",
    ],
)
def test_any_other_jinja_is_left_to_dbt(value: str) -> None:
    raw = {"target": "t", "outputs": {"t": {"type": "duckdb", "path": value}}}
    assert render_plain(raw, None, {"X": "x"}) is None


def test_the_snowflake_target_is_left_to_dbt() -> None:
    assert render_plain(PROJECT_PROFILE, "snowflake", {"SNOWFLAKE_ACCOUNT": "a"}) is None


def test_loading_the_default_target_does_not_import_dbt(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from lht.warehouse.target import load_target; "
        f"t = load_target(Path({str(REPO / 'dbt_project')!r})); "
        "print(t.kind, 'dbt' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    assert out.stdout.split() == ["duckdb", "False"]
