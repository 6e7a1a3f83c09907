"""Logging in to the local org with every flow, renewing expired sessions, login failures."""

from __future__ import annotations

import logging
import socket

import pytest

from lht.config import credentials_from_env, settings_from_env
from lht.errors import AuthenticationError, SalesforceError
from lht.salesforce.client import connect
from lht.salesforce.describe import plan_object
from lht.salesforce.extract import extract

FLOWS = ["token", "password", "client_credentials", "jwt", "refresh_token", "auth_url"]
LOGIN_FLOWS = ["password", "client_credentials", "jwt", "refresh_token", "auth_url"]


def _settings(**overrides):
    return settings_from_env(
        {}, retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05, **overrides
    )


@pytest.fixture
def renew_token(org):
    """Tests that expire every session hand the next tests a fresh bearer token."""
    yield
    org.access_token = org.new_token()


@pytest.mark.parametrize("flow", FLOWS)
def test_every_auth_flow_logs_in_and_can_describe(org, flow):
    client = connect(credentials_from_env(org.env(flow)), _settings())
    assert client.describe("account")["name"] == "Account"
    assert client.calls == (1 if flow == "token" else 2)  # the login is a call spent too


def test_password_flow_with_client_id_uses_the_oauth_password_grant(org):
    env = {
        **org.env("password"),
        "SF_CLIENT_ID": org.client_id,
        "SF_CLIENT_SECRET": org.client_secret,
    }
    client = connect(credentials_from_env(env), _settings())
    assert client.describe("Contact")["name"] == "Contact"


@pytest.mark.parametrize("flow", LOGIN_FLOWS)
def test_rest_paging_relogs_in_after_the_session_expires_mid_extract(
    org, flow, renew_token, caplog
):
    client = connect(credentials_from_env(org.env(flow)), _settings())
    plan = plan_object(client.describe("Account"))
    client.query_headers["Sforce-Query-Options"] = "batchSize=200"  # 450 accounts: 3 pages
    before = org.engine.count("Account", include_deleted=True)
    extraction = extract(client, plan, client.settings, mode="rest")
    org.expire_tokens()
    with caplog.at_level(logging.INFO, logger="lht.salesforce.client"):
        rows = sum(t.num_rows for t in extraction.batches)
    assert rows == before
    assert caplog.text.count("logging in again") == 1
    assert client.describe("Account")["name"] == "Account"  # the renewed session works


@pytest.mark.parametrize("flow", LOGIN_FLOWS)
def test_bulk_job_relogs_in_after_the_session_expires(org, flow, renew_token, caplog):
    client = connect(credentials_from_env(org.env(flow)), _settings())
    plan = plan_object(client.describe("Account"))
    extraction = extract(client, plan, client.settings, mode="bulk")
    org.expire_tokens()  # after the job is created, before it is polled
    assert extraction.engine == "bulk"
    with caplog.at_level(logging.INFO, logger="lht.salesforce.client"):
        rows = sum(t.num_rows for t in extraction.batches)
    assert rows == org.engine.count("Account", include_deleted=True)
    assert caplog.text.count("logging in again") == 1


def test_an_expired_bearer_token_says_how_to_get_a_new_one(org, renew_token):
    client = connect(credentials_from_env(org.env("token")), _settings())
    org.expire_tokens()
    with pytest.raises(AuthenticationError) as err:
        client.describe("Account")
    assert "SF_ACCESS_TOKEN" in str(err.value) and "expired" in str(err.value)


@pytest.mark.parametrize(
    "flow,secret_var", [("password", "SF_PASSWORD"), ("client_credentials", "SF_CLIENT_SECRET")]
)
def test_wrong_secret_is_an_authentication_error_that_never_shows_it(org, flow, secret_var, caplog):
    wrong = "Wr0ng-Secret-Value-42"
    env = {**org.env(flow), secret_var: wrong}
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as err:
        connect(credentials_from_env(env), _settings())
    shown = str(err.value) + repr(err.value) + caplog.text
    assert wrong not in shown and "Wr0ng" not in shown
    assert org.login_url in str(err.value)


def test_unreachable_host_names_the_url_and_what_to_check(org):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**org.env("password"), "SF_LOGIN_URL": f"https://127.0.0.1:{port}"}
    client_settings = _settings(max_retries=1, http_timeout=(1, 1))
    with pytest.raises(SalesforceError) as err:
        connect(credentials_from_env(env), client_settings)
    text = str(err.value)
    assert f"https://127.0.0.1:{port}" in text and "could not reach" in text
    assert "SF_LOGIN_URL" in text


def test_untrusted_certificate_points_at_requests_ca_bundle_without_retrying(
    org, monkeypatch, caplog
):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(SalesforceError, match="REQUESTS_CA_BUNDLE"),
    ):
        connect(credentials_from_env(org.env("password")), _settings())
    assert "retrying" not in caplog.text


def test_parallel_page_downloads_renew_an_expired_session_once(org, renew_token, caplog):
    client = connect(credentials_from_env(org.env("jwt")), _settings(download_workers=3))
    plan = plan_object(client.describe("Account"))
    extraction = extract(client, plan, client.settings, mode="bulk")
    batches = iter(extraction.batches)
    first = next(batches)
    org.expire_tokens()
    with caplog.at_level(logging.INFO, logger="lht.salesforce.client"):
        rest = sum(t.num_rows for t in batches)
    assert first.num_rows + rest == org.engine.count("Account", include_deleted=True)
    assert caplog.text.count("logging in again") <= 1


def test_the_token_flow_reports_an_injected_401_as_an_expired_token(org):
    client = connect(credentials_from_env(org.env("token")), _settings())
    org.faults.add("expired_session", path="/sobjects/Account/describe")
    with pytest.raises(AuthenticationError, match="SF_ACCESS_TOKEN"):
        client.describe("Account")
    assert client.describe("Account")["name"] == "Account"
