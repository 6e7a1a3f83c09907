"""Credentials and settings read from the environment."""

from __future__ import annotations

import pytest

from lht.config import Settings, credentials_from_env, settings_from_env
from lht.errors import ConfigError, CredentialsError

TOKEN = {"SF_INSTANCE_URL": "https://acme.my.salesforce.com", "SF_ACCESS_TOKEN": "00Dtok!secret"}
PASSWORD = {"SF_USERNAME": "ann@acme.test", "SF_PASSWORD": "hunter2", "SF_SECURITY_TOKEN": "tk9"}
CLIENT = {
    "SF_CLIENT_ID": "3MVG9cid",
    "SF_CLIENT_SECRET": "s3cr3t",
    "SF_LOGIN_URL": "https://acme.my.salesforce.com",
}


def test_each_complete_set_selects_its_flow(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    jwt_env = {
        "SF_CLIENT_ID": "3MVG9cid",
        "SF_USERNAME": "ann@acme.test",
        "SF_PRIVATE_KEY_FILE": str(key),
    }
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
        credentials_from_env(
            {"SF_CLIENT_ID": "c", "SF_USERNAME": "u", "SF_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}
        )


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
    s = settings_from_env(
        {
            "LHT_OVERLAP_SECONDS": "60",
            "LHT_HTTP_TIMEOUT": "5,30",
            "LHT_API_BUDGET": "100",
            "LHT_API_BUDGET_SHARE": "0.25",
        },
        rest_max_rows=5,
    )
    assert (s.overlap_seconds, s.http_timeout, s.api_budget_calls) == (60, (5.0, 30.0), 100)
    assert (s.api_budget_share, s.rest_max_rows) == (0.25, 5)
    assert settings_from_env({"LHT_HTTP_TIMEOUT": "7"}).http_timeout == (7.0, 7.0)


@pytest.mark.parametrize(
    "env",
    [
        {"LHT_OVERLAP_SECONDS": "five"},
        {"LHT_API_BUDGET_SHARE": "2"},
        {"LHT_HTTP_TIMEOUT": "1,2,3"},
        {"LHT_REST_MAX_ROWS": "0"},
        {"LHT_BULK_DEADLINE_SECONDS": "-1"},
    ],
)
def test_bad_setting_values_raise_config_error_naming_the_variable(env):
    (name,) = env
    with pytest.raises(ConfigError, match=name):
        settings_from_env(env)


def test_unknown_override_is_rejected():
    with pytest.raises(ConfigError, match="Unknown setting"):
        settings_from_env({}, not_a_setting=1)


# -- the OAuth flows, the stored login and their precedence ------------------------------------
AUTH_URL = "force://3MVG9.ab_c-d==:5EC2E7:5Aep861.tok_en-x==@acme.my.salesforce.com"


@pytest.mark.parametrize(
    "value,expected",
    [
        (
            AUTH_URL,
            ("3MVG9.ab_c-d==", "5EC2E7", "5Aep861.tok_en-x==", "https://acme.my.salesforce.com"),
        ),
        (
            "force://PlatformCLI::5Aep861abc@example.my.salesforce.com\n",  # an empty secret; a file's newline
            ("PlatformCLI", None, "5Aep861abc", "https://example.my.salesforce.com"),
        ),
        ("force://cid:sec:tok@127.0.0.1:8443", ("cid", "sec", "tok", "https://127.0.0.1:8443")),
    ],
)
def test_an_sfdx_auth_url_is_read_by_the_sf_cli_rules(value, expected):
    creds = credentials_from_env({"SF_AUTH_URL": value})
    assert creds.flow == "auth_url"
    assert (creds.client_id, creds.client_secret, creds.refresh_token, creds.login_url) == expected
    assert expected[2] not in repr(creds) + str(creds)


@pytest.mark.parametrize(
    "value",
    [
        "https://acme.my.salesforce.com",
        "force://only-a-token@acme.my.salesforce.com",
        "force://cid:sec:tok!bad@acme.my.salesforce.com",
        "force://cid:sec:@host",
    ],
)
def test_a_malformed_sfdx_auth_url_is_refused_without_showing_it(value):
    with pytest.raises(CredentialsError) as err:
        credentials_from_env({"SF_AUTH_URL": value})
    text = str(err.value)
    assert (
        "force://<clientId>:<clientSecret>:<refreshToken>@<instance host>" in text
        and "sf org display" in text
    )
    assert "tok" not in text and "only-a-token" not in text


def test_a_refresh_token_with_a_client_secret_is_the_refresh_token_flow_not_client_credentials():
    creds = credentials_from_env(
        {"SF_CLIENT_ID": "cid", "SF_CLIENT_SECRET": "sec", "SF_REFRESH_TOKEN": "rt"}
    )
    assert (creds.flow, creds.client_secret, creds.refresh_token) == ("refresh_token", "sec", "rt")
    assert creds.variables == (
        "SF_CLIENT_ID",
        "SF_REFRESH_TOKEN",
        "SF_CLIENT_SECRET",
        "SF_LOGIN_URL",
    )
    assert (
        credentials_from_env({"SF_CLIENT_ID": "cid", "SF_REFRESH_TOKEN": "rt"}).client_secret
        is None
    )


def test_an_auth_url_and_another_complete_set_conflict():
    with pytest.raises(CredentialsError, match="Conflicting"):
        credentials_from_env({"SF_AUTH_URL": AUTH_URL, **PASSWORD})


def _stored(path, mode=0o600):
    from lht.loginfile import StoredLogin, write_login

    write_login(
        path,
        StoredLogin(
            login_url="https://login.salesforce.com",
            instance_url="https://acme.my.salesforce.com",
            client_id="cid",
            refresh_token="stored-rt",
        ),
    )
    path.chmod(mode)
    return {"LHT_LOGIN_FILE": str(path)}


def test_the_stored_login_is_used_when_no_login_variable_is_set(tmp_path):
    env = _stored(tmp_path / "lht" / "login.json")
    creds = credentials_from_env(env)
    assert (creds.flow, creds.refresh_token, creds.login_url) == (
        "stored",
        "stored-rt",
        "https://acme.my.salesforce.com",
    )
    assert str(tmp_path / "lht" / "login.json") in creds.variables[0]
    # the variables `lht login` reads do not hide it; a complete set wins over it
    assert credentials_from_env({**env, "SF_CLIENT_ID": "other"}).flow == "stored"
    assert credentials_from_env({**env, **TOKEN}).flow == "token"


def test_a_partial_set_of_another_flow_is_refused_rather_than_using_the_stored_login(tmp_path):
    env = _stored(tmp_path / "login.json")
    with pytest.raises(CredentialsError) as err:
        credentials_from_env({**env, "SF_USERNAME": "ann@acme.test", "SF_PASSWORD": "hunter2"})
    assert "not used while SF_PASSWORD, SF_USERNAME is set" in str(err.value)


def test_no_login_at_all_says_to_set_variables_or_run_lht_login(tmp_path):
    with pytest.raises(CredentialsError) as err:
        credentials_from_env({"LHT_LOGIN_FILE": str(tmp_path / "none.json")})
    assert "SF_AUTH_URL" in str(err.value) and "lht login" in str(err.value)


def test_a_stored_login_others_can_read_or_not_written_by_lht_login_is_refused(tmp_path):
    env = _stored(tmp_path / "login.json", mode=0o640)
    with pytest.raises(CredentialsError, match="can be read by other users"):
        credentials_from_env(env)
    (tmp_path / "login.json").write_text("{not json")
    (tmp_path / "login.json").chmod(0o600)
    with pytest.raises(CredentialsError, match="not a login stored by `lht login`"):
        credentials_from_env(env)


def test_the_login_file_defaults_to_the_user_config_directory():
    import platformdirs

    from lht.config import login_file

    assert login_file({}) == platformdirs.user_config_path("lht") / "login.json"
    assert login_file({"LHT_LOGIN_FILE": "~/x.json"}).name == "x.json"
