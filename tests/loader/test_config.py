"""Credentials and settings read from the environment."""

from __future__ import annotations

import pytest

from lht.config import Settings, credentials_from_env, settings_from_env
from lht.errors import ConfigError, CredentialsError

TOKEN = {"SF_INSTANCE_URL": "https://acme.my.salesforce.com", "SF_ACCESS_TOKEN": "00Dtok!secret"}
PASSWORD = {"SF_USERNAME": "ann@acme.test", "SF_PASSWORD": "hunter2", "SF_SECURITY_TOKEN": "tk9"}
CLIENT = {"SF_CLIENT_ID": "3MVG9cid", "SF_CLIENT_SECRET": "s3cr3t",
          "SF_LOGIN_URL": "https://acme.my.salesforce.com"}


def test_each_complete_set_selects_its_flow(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    jwt_env = {"SF_CLIENT_ID": "3MVG9cid", "SF_USERNAME": "ann@acme.test",
               "SF_PRIVATE_KEY_FILE": str(key)}
    assert credentials_from_env(TOKEN).flow == "token"
    assert credentials_from_env(PASSWORD).flow == "password"
    assert credentials_from_env(CLIENT).flow == "client_credentials"
    assert credentials_from_env(jwt_env).flow == "jwt"


def test_login_url_defaults_to_login_salesforce_and_can_point_anywhere():
    assert credentials_from_env(PASSWORD).login_url == "https://login.salesforce.com"
    creds = credentials_from_env({**PASSWORD, "SF_LOGIN_URL": "https://127.0.0.1:8443/"})
    assert creds.login_url == "https://127.0.0.1:8443"


def test_password_with_client_id_and_secret_is_the_oauth_password_grant_not_a_conflict():
    creds = credentials_from_env({**PASSWORD, **CLIENT})
    assert (creds.flow, creds.client_id) == ("password", "3MVG9cid")


def test_empty_security_token_still_completes_the_password_set():
    assert credentials_from_env({**PASSWORD, "SF_SECURITY_TOKEN": ""}).flow == "password"


def test_two_complete_sets_are_a_conflict_naming_both():
    with pytest.raises(CredentialsError) as err:
        credentials_from_env({**TOKEN, **PASSWORD})
    assert "token" in str(err.value) and "password" in str(err.value)
    assert "Unset" in str(err.value)


def test_incomplete_set_names_what_is_set_and_what_each_flow_needs():
    with pytest.raises(CredentialsError) as err:
        credentials_from_env({"SF_USERNAME": "ann@acme.test", "SF_PASSWORD": "hunter2"})
    text = str(err.value)
    assert "SF_USERNAME" in text and "SF_SECURITY_TOKEN" in text and "SF_ACCESS_TOKEN" in text
    assert "hunter2" not in text


def test_missing_private_key_file_is_named():
    with pytest.raises(CredentialsError, match="SF_PRIVATE_KEY_FILE"):
        credentials_from_env({"SF_CLIENT_ID": "c", "SF_USERNAME": "u",
                              "SF_PRIVATE_KEY_FILE": "/nonexistent/key.pem"})


def test_non_https_urls_are_rejected():
    with pytest.raises(CredentialsError, match="https"):
        credentials_from_env({**TOKEN, "SF_INSTANCE_URL": "http://acme.my.salesforce.com"})


def test_secrets_never_appear_in_repr_or_str():
    for env in (TOKEN, {**PASSWORD, **CLIENT}):
        creds = credentials_from_env(env)
        shown = repr(creds) + str(creds)
        for secret in ("00Dtok!secret", "hunter2", "tk9", "s3cr3t"):
            assert secret not in shown


def test_settings_defaults_match_the_contract():
    s = settings_from_env({})
    assert s == Settings()
    assert (s.overlap_seconds, s.rest_max_rows, s.bulk_page_records) == (300, 10_000, 50_000)
    assert s.http_timeout == (10.0, 120.0) and s.api_budget_calls is None


def test_settings_read_from_env_and_overrides_win():
    s = settings_from_env({"LHT_OVERLAP_SECONDS": "60", "LHT_HTTP_TIMEOUT": "5,30",
                           "LHT_API_BUDGET": "100", "LHT_API_BUDGET_SHARE": "0.25"},
                          rest_max_rows=5)
    assert (s.overlap_seconds, s.http_timeout, s.api_budget_calls) == (60, (5.0, 30.0), 100)
    assert (s.api_budget_share, s.rest_max_rows) == (0.25, 5)
    assert settings_from_env({"LHT_HTTP_TIMEOUT": "7"}).http_timeout == (7.0, 7.0)


@pytest.mark.parametrize("env", [{"LHT_OVERLAP_SECONDS": "five"}, {"LHT_API_BUDGET_SHARE": "2"},
                                 {"LHT_HTTP_TIMEOUT": "1,2,3"}, {"LHT_REST_MAX_ROWS": "0"},
                                 {"LHT_BULK_DEADLINE_SECONDS": "-1"}])
def test_bad_setting_values_raise_config_error_naming_the_variable(env):
    (name,) = env
    with pytest.raises(ConfigError, match=name):
        settings_from_env(env)


def test_unknown_override_is_rejected():
    with pytest.raises(ConfigError, match="Unknown setting"):
        settings_from_env({}, not_a_setting=1)
