"""Fixtures for the reliability and security tests: small orgs, workspaces on both engines,
and checks that a failed run wrote nothing, kept its state and leaked no secret.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import BIN, Run, Workspace, make_workspace

from lht_devorg import DevOrg

#: A small org: every object present, few rows, so a sync takes a couple of seconds.
SMALL_COUNTS = {
    "User": 5,
    "Account": 60,
    "Contact": 30,
    "Lead": 10,
    "Opportunity": 10,
    "Case": 10,
    "Task": 10,
    "Invoice__c": 10,
    "Attachment": 0,
}

_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|^\s+File \".*\", line \d+", re.MULTILINE
)


@pytest.fixture
def small_org() -> Iterator[DevOrg]:
    """A fresh small local org for one test."""
    with DevOrg(counts=SMALL_COUNTS, bulk_job_seconds=0.1) as running:
        yield record_tokens(running)


def record_tokens(org: DevOrg) -> DevOrg:
    """Keep every session id the org issues in ``org.issued_tokens`` (expiry forgets them)."""
    issued = [org.access_token]
    original = org.tokens.issue

    def issue() -> str:
        token = original()
        issued.append(token)
        return token

    org.tokens.issue = issue  # type: ignore[method-assign]
    org.issued_tokens = issued  # type: ignore[attr-defined]
    return org


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def engine_name(request: pytest.FixtureRequest) -> str:
    """The warehouse dialect of a test: DuckDB, or Snowflake through a fakesnow server."""
    return str(request.param)


@pytest.fixture
def make_ws(request: pytest.FixtureRequest, engine_name: str, tmp_path: Path):
    """Build a workspace on the test's engine for an org and a credential flow."""
    fakesnow = request.getfixturevalue("fakesnow_server") if engine_name == "snowflake" else None
    made: list[int] = []

    def make(org: DevOrg, flow: str = "token") -> Workspace:
        root = tmp_path / f"ws{len(made)}"
        root.mkdir()
        made.append(1)
        return make_workspace(engine_name, root, org, fakesnow, flow=flow)

    return make


@pytest.fixture
def ws(make_ws, small_org: DevOrg) -> Workspace:
    """A workspace on the small org, token flow, on DuckDB and on the Snowflake dialect."""
    return make_ws(small_org)


#: Fast retries and short timeouts, so a fault costs seconds, not minutes.
FAST = {"LHT_RETRY_BACKOFF": "0.05", "LHT_MAX_RETRIES": "2", "LHT_HTTP_TIMEOUT": "3,5"}


def sync_vv(
    ws: Workspace,
    *args: str,
    extra_env: dict[str, str] | None = None,
    drop_env: tuple[str, ...] = (),
) -> Run:
    """``lht -vv sync --json ARGS``: debug logging on, so a leak in any log line shows."""
    env = {k: v for k, v in {**ws.env, **FAST, **(extra_env or {})}.items() if k not in drop_env}
    argv = [
        str(BIN / "lht"),
        "-vv",
        "sync",
        "--json",
        "--project-dir",
        str(ws.project),
        "--profiles-dir",
        str(ws.profiles),
        *args,
    ]
    proc = subprocess.run(
        argv, env=env, cwd=ws.root, capture_output=True, text=True, timeout=300, check=False
    )
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


# -- what the warehouse holds -------------------------------------------------------------------
def staging_tables(ws: Workspace) -> set[str]:
    """Lower-cased names of the tables in the staging schema (empty if there is none).

    The warehouse must be readable: a DuckDB file nobody created holds no table, but any
    failure to read an existing warehouse (the fakesnow database always exists) fails the
    test instead of passing for "nothing written".
    """
    if ws.engine == "duckdb" and not ws.duckdb_path.exists():
        return set()
    _, rows = ws.query(
        "select table_name from information_schema.tables "
        "where lower(table_schema) = 'salesforce_staging'"
    )
    return {str(r[0]).lower() for r in rows}


def state_rows(ws: Workspace) -> dict[str, dict[str, Any]]:
    """``_lht_state`` rows keyed by lower-cased object name ({} if there is no state yet)."""
    if "_lht_state" not in staging_tables(ws):
        return {}
    names, rows = ws.query("select * from salesforce_staging._lht_state")
    return {str(r[0]).lower(): dict(zip(names, r, strict=True)) for r in rows}


def staged_count(ws: Workspace, table: str) -> int:
    """Rows in ``salesforce_staging.<table>``."""
    return int(ws.query(f"select count(*) from salesforce_staging.{table}")[1][0][0])


# -- what a failed run must look like ----------------------------------------------------------
def secrets_of(org: DevOrg, ws: Workspace | None = None) -> list[str]:
    """Every secret a run could leak: the org's credentials, tokens issued, the key file, and
    the warehouse password."""
    values = [
        org.password,
        org.security_token,
        org.client_secret,
        org.access_token,
        org.admin_token,
        org.refresh_token,
    ]
    values += list(getattr(org, "issued_tokens", []))
    key = Path(org.private_key_path).read_text()
    values += [line for line in key.splitlines() if line and not line.startswith("-----")][:3]
    if ws is not None and ws.snowflake.get("password"):
        values.append(str(ws.snowflake["password"]))
    return [v for v in values if v and len(v) >= 6]


def assert_no_secret_in(text: str, secrets: list[str], where: str) -> None:
    """No secret (nor its URL-encoded form) appears in ``text``."""
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            assert form not in text, f"a secret ({secret[:3]}...) appears in {where}"


def assert_no_secret_leaked(run: Run, org: DevOrg, ws: Workspace | None = None) -> None:
    """No secret in the run's stdout/stderr, nor in any URL the org received."""
    secrets = secrets_of(org, ws)
    assert_no_secret_in(run.stdout, secrets, "stdout")
    assert_no_secret_in(run.stderr, secrets, "stderr")
    urls = "\n".join(path for _, path in org.faults.requests())
    assert_no_secret_in(urls, secrets, "a request URL")


def assert_clean_failure(run: Run, *must_mention: str) -> str:
    """Non-zero exit, no traceback, a message on stderr naming the problem. Returns stderr."""
    assert run.returncode != 0, f"expected a failure, got exit 0:\n{run.stdout[-2000:]}"
    assert not _TRACEBACK.search(run.stderr), f"a traceback reached the user:\n{run.stderr[-3000:]}"
    assert not _TRACEBACK.search(run.stdout), f"a traceback reached stdout:\n{run.stdout[-3000:]}"
    text = " ".join((run.stderr + " " + run.stdout).split()).lower()
    for needle in must_mention:
        assert needle.lower() in text, (
            f"the error does not mention {needle!r}:\n{run.stderr[-2000:]}"
        )
    return run.stderr
