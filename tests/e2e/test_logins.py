"""The OAuth logins as a user runs them, against the local org over HTTPS: `lht login` in a
browser (the test plays the browser: it follows the authorize URL, which redirects to lht's
callback), the stored login used by `lht sync`, `lht logout` revoking it; SF_AUTH_URL; an
org without SOAP login(); the password flow's Summer '27 warning, once per run."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import stat
import subprocess
from collections.abc import Iterator

import pytest
import requests

from lht_devorg import DevOrg

from .conftest import BIN, Workspace, make_workspace

COUNTS = {
    "User": 3,
    "Account": 40,
    "Contact": 20,
    "Lead": 5,
    "Opportunity": 5,
    "Case": 5,
    "Task": 5,
    "Invoice__c": 5,
    "Attachment": 0,
}
FAST = {"LHT_RETRY_BACKOFF": "0.05", "LHT_MAX_RETRIES": "2"}


@pytest.fixture(scope="module")
def small_org() -> Iterator[DevOrg]:
    with DevOrg(counts=COUNTS, bulk_job_seconds=0.1) as running:
        yield running


def without_logins(ws: Workspace, **extra: str) -> Workspace:
    """The workspace with no SF_* login variable, and ``extra`` set."""
    env = {k: v for k, v in ws.env.items() if not k.startswith("SF_")}
    return dataclasses.replace(ws, env={**env, **FAST, **extra})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lht_login_in_a_browser(ws: Workspace, org: DevOrg) -> subprocess.CompletedProcess:
    """`lht login --no-browser --port P`; the test opens the URL it prints, as a browser would."""
    port = free_port()
    argv = [str(BIN / "lht"), "login", "--no-browser", "--port", str(port), "--timeout", "60"]
    proc = subprocess.Popen(
        argv, env=ws.env, cwd=ws.root, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        seen = []
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if line.startswith(f"{org.login_url}/services/oauth2/authorize?"):
                break
        else:
            raise AssertionError("lht login printed no authorize URL:\n" + "".join(seen))
        with requests.Session() as browser:
            browser.verify, browser.trust_env = org.ca_path, False  # REQUESTS_CA_BUNDLE would win
            page = browser.get(
                line.strip(), timeout=30
            )  # 302 to http://127.0.0.1:PORT/OauthRedirect?code=
        assert page.status_code == 200 and "logged in" in page.text, page.text
        assert page.url.startswith(f"http://127.0.0.1:{port}/OauthRedirect?code=")
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(argv, proc.returncode, out, "".join(seen) + err)


def test_lht_login_stores_a_private_login_that_sync_uses_and_logout_revokes(small_org, tmp_path):
    login_file = tmp_path / "config" / "lht" / "login.json"
    ws = without_logins(
        make_workspace("duckdb", tmp_path, small_org),
        LHT_LOGIN_FILE=str(login_file),
        SF_LOGIN_URL=small_org.login_url,
        SF_CLIENT_ID=small_org.client_id,
    )
    login = lht_login_in_a_browser(ws, small_org)
    assert login.returncode == 0, login.stdout + login.stderr
    assert "Logged in to" in login.stdout and str(login_file) in login.stdout
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(login_file.parent.stat().st_mode) == 0o700
    stored = json.loads(login_file.read_text())
    refresh_token = stored["refresh_token"]
    assert (
        stored["instance_url"] == small_org.instance_url
        and stored["client_id"] == small_org.client_id
    )
    assert refresh_token not in login.stdout + login.stderr

    synced = ws.sync("Account")  # no SF_* login variable but SF_CLIENT_ID: the stored login
    assert synced.report["results"][0]["status"] == "ok", synced.stdout
    assert "Summer '27" not in synced.stderr and refresh_token not in synced.stdout + synced.stderr

    logout = ws.run("lht", "logout")
    assert logout.returncode == 0 and "revoked and removed" in logout.stdout, (
        logout.stdout + logout.stderr
    )
    assert not login_file.exists()
    again = ws.run("lht", "logout")
    assert again.returncode == 0 and "nothing to do" in again.stdout

    # the revoked refresh token, set by hand: one refused login, exit 2, naming what to do
    before = len(small_org.faults.requests())
    revoked = ws.sync("Account", extra_env={"SF_REFRESH_TOKEN": refresh_token}, check=False)
    assert revoked.returncode == 2, revoked.stdout + revoked.stderr
    tried = [
        p for m, p in small_org.faults.requests()[before:] if p.startswith("/services/oauth2/token")
    ]
    assert len(tried) == 1, tried  # refused once, not tried again
    for said in (
        "Salesforce refused the login",
        "refresh_token flow",
        "invalid_grant",
        "expired access/refresh token",
        "SF_CLIENT_ID, SF_REFRESH_TOKEN",
        "lht login",
    ):
        assert said in revoked.stderr, said
    assert (
        refresh_token not in revoked.stdout + revoked.stderr and "Traceback" not in revoked.stderr
    )

    nothing = ws.sync("Account", check=False)  # logged out, no variables: says how to log in
    assert nothing.returncode == 2 and "lht login" in nothing.stderr, nothing.stderr


def test_lht_login_refused_by_the_org_stores_nothing(small_org, tmp_path):
    login_file = tmp_path / "login.json"
    ws = without_logins(
        make_workspace("duckdb", tmp_path, small_org),
        LHT_LOGIN_FILE=str(login_file),
        SF_LOGIN_URL=small_org.login_url,
        SF_CLIENT_ID=small_org.client_id,
        SF_CLIENT_SECRET="not-the-secret",
    )
    login = lht_login_in_a_browser(ws, small_org)
    assert login.returncode == 2, login.stdout + login.stderr
    assert "refused the authorization code" in login.stderr and "invalid_client" in login.stderr
    assert "not-the-secret" not in login.stderr and not login_file.exists()


def test_a_stored_login_others_can_read_is_refused(small_org, tmp_path):
    login_file = tmp_path / "login.json"
    ws = without_logins(
        make_workspace("duckdb", tmp_path, small_org), LHT_LOGIN_FILE=str(login_file)
    )
    login_file.write_text(
        json.dumps(
            {
                "login_url": small_org.login_url,
                "instance_url": small_org.instance_url,
                "client_id": small_org.client_id,
                "refresh_token": small_org.new_refresh_token(),
            }
        )
    )
    os.chmod(login_file, 0o644)
    run = ws.sync("Account", check=False)
    assert (
        run.returncode == 2
        and "can be read by other users" in run.stderr
        and "chmod 600" in run.stderr
    )
    os.chmod(login_file, 0o600)
    assert ws.sync("Account").report["results"][0]["status"] == "ok"


def test_an_sfdx_auth_url_logs_in(small_org, tmp_path):
    ws = without_logins(
        make_workspace("duckdb", tmp_path, small_org), SF_AUTH_URL=small_org.auth_url()
    )
    run = ws.sync("Account")
    assert run.report["results"][0]["status"] == "ok"
    assert small_org.refresh_token not in run.stdout + run.stderr


@pytest.fixture
def no_soap_login(small_org: DevOrg) -> Iterator[DevOrg]:
    small_org.soap_login = False
    yield small_org
    small_org.soap_login = True


def test_an_org_without_soap_login_refuses_the_password_flow_naming_the_oauth_flows(
    no_soap_login, tmp_path
):
    org = no_soap_login
    ws = make_workspace("duckdb", tmp_path, org, flow="password")
    run = ws.sync("Account", check=False, extra_env=FAST)
    assert run.returncode == 2, run.stdout + run.stderr
    for said in (
        "password flow, SOAP login",
        "INVALID_OPERATION",
        "SOAP API login() is disabled",
        "SF_AUTH_URL",
        "lht login",
        "SF_REFRESH_TOKEN",
    ):
        assert said in run.stderr, said
    assert org.password not in run.stdout + run.stderr and "Traceback" not in run.stderr
    oauth = without_logins(ws, SF_AUTH_URL=org.auth_url())  # the same org, an OAuth flow
    assert oauth.sync("Account").report["results"][0]["status"] == "ok"


def test_the_password_flow_warns_once_per_run_that_soap_login_ends_with_summer_27(
    small_org, tmp_path
):
    ws = make_workspace("duckdb", tmp_path, small_org, flow="password")
    small_org.faults.clear()
    small_org.faults.add(
        "expired_session", path="/sobjects/Contact/describe"
    )  # a second login mid-run
    before = len(small_org.faults.requests())
    run = ws.sync("Account", "Contact", extra_env=FAST)
    logins = [
        p
        for m, p in small_org.faults.requests()[before:]
        if m == "POST" and p.startswith("/services/Soap/u/")
    ]
    assert len(logins) >= 2, logins
    assert run.stderr.count("Summer '27") == 1, run.stderr
    warning = next(line for line in run.stderr.splitlines() if "Summer '27" in line)
    assert warning.startswith("WARNING") and "SOAP login()" in warning
    for named in ("SF_AUTH_URL", "lht login", "SF_REFRESH_TOKEN"):
        assert named in warning
    small_org.faults.clear()
