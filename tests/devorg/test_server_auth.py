"""Every login flow simple-salesforce offers, against the local org, unmodified.

simple-salesforce builds login URLs as ``https://{domain}.salesforce.com/...``. With
``domain=org.domain`` (``127.0.0.1:PORT/login``) that becomes
``https://127.0.0.1:PORT/login.salesforce.com/services/...``, which the org serves, so
``Salesforce(...)`` logs in, and logs in again after a 401, by itself. Its helpers
``SalesforceLogin(scratch_url=...)`` and ``token_login(url, ...)`` take explicit URLs.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import SalesforceLogin, token_login

from lht_devorg.http.auth import TokenStore

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _still_works_after_expiry(org, sf: Salesforce) -> None:
    first = sf.session_id
    assert sf.describe()["sobjects"]
    org.expire_tokens()
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    assert sf.session_id != first


def test_soap_login_with_security_token_relogs_in_after_expiry(org, session):
    sf = Salesforce(
        username=org.username,
        password=org.password,
        security_token=org.security_token,
        domain=org.domain,
        session=session,
    )
    assert sf.sf_instance == f"127.0.0.1:{org.port}"
    _still_works_after_expiry(org, sf)


def test_soap_login_at_an_explicit_url(org, session):
    sid, instance = SalesforceLogin(
        username=org.username,
        password=org.password,
        security_token=org.security_token,
        session=session,
        scratch_url=org.login_url,
    )
    assert instance == f"127.0.0.1:{org.port}"
    sf = Salesforce(session_id=sid, instance_url=org.instance_url, session=session)
    assert sf.limits()["DailyApiRequests"]["Max"] == org.api_daily_max


def test_soap_login_with_a_wrong_password_is_an_invalid_login_fault(org, session):
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=org.username,
            password="wrong-password",
            security_token=org.security_token,
            domain=org.domain,
            session=session,
        )
    assert failure.value.code == "INVALID_LOGIN"
    assert "wrong-password" not in str(failure.value)


def test_oauth_password_grant_relogs_in_after_expiry(org, session):
    sf = Salesforce(
        username=org.username,
        password=org.password + org.security_token,
        consumer_key=org.client_id,
        consumer_secret=org.client_secret,
        domain=org.domain,
        session=session,
    )
    _still_works_after_expiry(org, sf)


def test_oauth_password_grant_needs_the_security_token(org, session):
    data = {
        "grant_type": "password",
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password,
    }
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        token_login(
            f"{org.login_url}/services/oauth2/token",
            data,
            org.domain,
            org.client_id,
            None,
            None,
            session,
        )
    assert (failure.value.code, failure.value.auth_message) == (
        "invalid_grant",
        "authentication failure",
    )


def test_oauth_token_answer_has_salesforce_keys(org, session):
    response = session.post(
        f"{org.login_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
            "username": org.username,
            "password": org.password + org.security_token,
        },
        timeout=30,
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["instance_url"] == org.instance_url and body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13


def test_client_credentials_grant_relogs_in_after_expiry(org, session):
    sf = Salesforce(
        consumer_key=org.client_id,
        consumer_secret=org.client_secret,
        domain=org.domain,
        session=session,
    )
    _still_works_after_expiry(org, sf)


def test_client_credentials_in_the_form_body_are_accepted(org, session):
    response = session.post(
        f"{org.login_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
        },
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["access_token"]


def test_client_credentials_with_a_wrong_secret_fail(org, session):
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            consumer_key=org.client_id, consumer_secret="nope", domain=org.domain, session=session
        )
    assert failure.value.code == "invalid_client"


def test_jwt_bearer_grant_relogs_in_after_expiry(org, session):
    sf = Salesforce(
        username=org.username,
        consumer_key=org.client_id,
        privatekey_file=org.private_key_path,
        domain=org.domain,
        session=session,
    )
    _still_works_after_expiry(org, sf)


def _assertion(org, key, **claims) -> str:
    base = {
        "iss": org.client_id,
        "sub": org.username,
        "aud": org.login_url,
        "exp": int((datetime.now(timezone.utc) + timedelta(minutes=3)).timestamp()),
    }
    base.update(claims)
    return jwt.encode(base, key, algorithm="RS256")


def test_jwt_with_login_url_audience_at_an_explicit_url(org, session):
    key = open(org.private_key_path, "rb").read()
    sid, instance = token_login(
        f"{org.login_url}/services/oauth2/token",
        {"grant_type": JWT_GRANT, "assertion": _assertion(org, key)},
        org.domain,
        org.client_id,
        None,
        None,
        session,
    )
    assert instance == f"127.0.0.1:{org.port}" and sid


@pytest.mark.parametrize("problem", ["other_key", "expired", "wrong_audience", "wrong_issuer"])
def test_jwt_that_salesforce_would_refuse_is_refused(org, session, problem):
    key = open(org.private_key_path, "rb").read()
    claims: dict = {}
    if problem == "other_key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key = other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    elif problem == "expired":
        claims["exp"] = int(time.time()) - 600
    elif problem == "wrong_audience":
        claims["aud"] = "https://evil.example.com"
    else:
        claims["iss"] = "someone-else"
    response = session.post(
        f"{org.login_url}/services/oauth2/token",
        timeout=30,
        data={"grant_type": JWT_GRANT, "assertion": _assertion(org, key, **claims)},
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_grant", "invalid_client_id")


def test_bearer_token_that_expired_raises_expired_session(org, session):
    sf = Salesforce(session_id=org.new_token(), instance_url=org.instance_url, session=session)
    sf.describe()
    org.expire_tokens()
    with pytest.raises(SalesforceExpiredSession) as failure:
        sf.describe()
    assert failure.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_unknown_token_is_refused_without_limit_header(org, session):
    response = session.get(
        f"{org.instance_url}/services/data/v59.0/limits/",
        timeout=30,
        headers={"Authorization": "Bearer 00Dnot!a-real-token"},
    )
    assert response.status_code == 401
    assert "Sforce-Limit-Info" not in response.headers


def test_tokens_expire_after_their_time_to_live():
    store = TokenStore(ttl_seconds=0.2)
    token = store.issue()
    assert store.valid(token)
    time.sleep(0.3)
    assert not store.valid(token)


def test_private_key_file_is_readable_by_its_owner_only(org):
    import os
    import stat

    assert stat.S_IMODE(os.stat(org.private_key_path).st_mode) == 0o600


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=password&username=\xff\xfe\xfa",
        b"\x80\x81\x82",
        "grant_type=password&password=caf\u00e9".encode("latin-1"),
    ],
    ids=["invalid utf-8 value", "binary", "latin-1"],
)
def test_a_token_request_that_is_not_utf8_form_data_gets_the_oauth_error(
    org, session, caplog, body
):
    response = session.post(
        f"{org.login_url}/services/oauth2/token",
        data=body,
        timeout=30,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["error"] == "invalid_request" and answer["error_description"]
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
