"""A login or instance URL carrying a user name and password (``https://user:pass@host``) is
never echoed: errors on stderr, the run report and ``-vv`` logs show ``https://***@host``.

Each case runs the console script as a user would, against a port nothing listens on (the
URL is unreachable), with fast retries.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from e2e.conftest import Workspace, make_workspace

from lht_devorg import DevOrg

from .conftest import FAST, assert_clean_failure, sync_vv

USER, PASSWORD = "alice", "Pw4userinfo-Zq81"


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bare_ws(small_org: DevOrg, tmp_path: Path) -> Workspace:
    ws = make_workspace("duckdb", tmp_path, small_org)
    ws.env = {k: v for k, v in ws.env.items() if not k.startswith("SF_")}
    return ws


def assert_redacted(text: str, port: int, where: str, shown: str = "https://***@127.0.0.1") -> None:
    """No userinfo in ``text``, and the host is still named (as ``shown``)."""
    assert PASSWORD not in text and f"{USER}:" not in text, (
        f"the URL's userinfo appears in {where}:\n{text[-3000:]}"
    )
    assert f"{shown}:{port}" in text, f"{where} does not name the host:\n{text[-3000:]}"


def test_an_unreachable_login_url_with_userinfo_is_shown_without_it(
    bare_ws: Workspace, closed_port: int
) -> None:
    env = {
        "SF_USERNAME": "integration@example.com",
        "SF_PASSWORD": "not-the-url-password",
        "SF_SECURITY_TOKEN": "",
        "SF_LOGIN_URL": f"https://{USER}:{PASSWORD}@127.0.0.1:{closed_port}",
    }
    run = sync_vv(bare_ws, "Account", extra_env=env)
    assert run.returncode == 1
    assert_clean_failure(run, "could not reach")
    assert_redacted(run.stderr, closed_port, "stderr (error and -vv logs)")
    assert "retrying" in run.stderr  # the transport's retry warnings were logged, redacted too


def test_an_unreachable_instance_url_with_userinfo_is_shown_without_it_in_report_and_logs(
    bare_ws: Workspace, closed_port: int
) -> None:
    env = {
        "SF_ACCESS_TOKEN": "00Dfake!token",
        "SF_INSTANCE_URL": f"https://{USER}:{PASSWORD}@127.0.0.1:{closed_port}",
    }
    run = sync_vv(bare_ws, "Account", extra_env=env)
    assert run.returncode == 1
    # requests go to the instance's host alone: the userinfo is dropped, not even redacted
    assert_redacted(run.stdout, closed_port, "the JSON report", shown="https://127.0.0.1")
    assert_redacted(run.stderr, closed_port, "stderr (-vv logs)", shown="https://127.0.0.1")


def test_a_login_url_that_is_not_https_is_refused_without_its_userinfo(bare_ws: Workspace) -> None:
    env = {
        "SF_USERNAME": "u@example.com",
        "SF_PASSWORD": "p",
        "SF_SECURITY_TOKEN": "",
        "SF_LOGIN_URL": f"http://{USER}:{PASSWORD}@login.example.com",
        **FAST,
    }
    run = sync_vv(bare_ws, "Account", extra_env=env)
    assert run.returncode == 2
    assert_clean_failure(run, "SF_LOGIN_URL", "not an https URL", "http://***@login.example.com")
    assert PASSWORD not in run.stderr + run.stdout


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://u:p@host/x?y=1", "https://***@host/x?y=1"),
        (
            "https://u:p@ss@host:8443/path",
            "https://***@host:8443/path",
        ),  # an unencoded @ in the password
        ("https://host/no/userinfo", "https://host/no/userinfo"),
        (
            "reach 'https://a:b@h1' or http://c@h2: failed",
            "reach 'https://***@h1' or http://***@h2: failed",
        ),
    ],
)
def test_redact_urls_drops_the_userinfo_of_every_url_in_a_text(text: str, shown: str) -> None:
    from lht.errors import redact_url, redact_urls

    assert redact_urls(text) == shown
    if " " not in text:
        assert redact_url(text) == shown
