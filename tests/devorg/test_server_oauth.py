"""The web server flow of the local org, as Salesforce answers it: authorize (auto-approved:
302 to the callback with a code), the PKCE code grant, refresh, revoke; SOAP login() off
in a new org and absent from API 65.0; the API versions served."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from simple_salesforce import Salesforce

from lht_devorg.http.webflow import s256

CALLBACK = "http://127.0.0.1:1717/OauthRedirect"


def authorize(org, session: requests.Session, **params: str) -> requests.Response:
    query = {
        "response_type": "code",
        "client_id": org.client_id,
        "redirect_uri": CALLBACK,
        **params,
    }
    return session.get(
        f"{org.login_url}/services/oauth2/authorize",
        params=query,
        allow_redirects=False,
        timeout=30,
    )


def code_for(org, session: requests.Session, verifier: str, state: str = "st4te") -> str:
    answer = authorize(
        org, session, code_challenge=s256(verifier), code_challenge_method="S256", state=state
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def token(org, session: requests.Session, **form: str) -> requests.Response:
    return session.post(f"{org.login_url}/services/oauth2/token", data=form, timeout=30)


def exchange(org, session, code: str, verifier: str, **extra: str) -> requests.Response:
    form = {"client_id": org.client_id, **extra}
    return token(
        org,
        session,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier=verifier,
        **form,
    )


def test_authorize_redirects_to_the_callback_and_the_code_with_its_verifier_gives_a_refresh_token(
    org, session
):
    verifier = secrets.token_urlsafe(64)
    answer = exchange(org, session, code_for(org, session, verifier), verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {
        "access_token",
        "refresh_token",
        "instance_url",
        "id",
        "issued_at",
        "signature",
        "token_type",
    } <= set(body)
    assert body["instance_url"] == org.instance_url
    sf = Salesforce(
        session_id=body["access_token"], instance_url=body["instance_url"], session=session
    )
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_a_verifier_that_does_not_match_the_challenge_is_refused_and_the_code_is_spent(
    org, session
):
    verifier = secrets.token_urlsafe(64)
    code = code_for(org, session, verifier)
    refused = exchange(org, session, code, secrets.token_urlsafe(64))
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "invalid code verifier",
    }
    again = exchange(org, session, code, verifier)  # a code is good once
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_redirect_uri_and_client(org, session):
    verifier = secrets.token_urlsafe(64)
    other_uri = token(
        org,
        session,
        grant_type="authorization_code",
        code=code_for(org, session, verifier),
        redirect_uri="http://127.0.0.1:9999/OauthRedirect",
        client_id=org.client_id,
        code_verifier=verifier,
    )
    assert other_uri.status_code == 400 and other_uri.json()["error"] == "invalid_grant"
    wrong_client = exchange(
        org, session, code_for(org, session, verifier), verifier, client_id="3MVGnobody"
    )
    assert wrong_client.status_code == 400 and wrong_client.json()["error"] == "invalid_client_id"


def test_authorize_errors_are_shown_for_a_bad_client_or_callback_and_redirected_otherwise(
    org, session
):
    bad_client = authorize(org, session, client_id="3MVGnobody", code_challenge=s256("x" * 50))
    assert bad_client.status_code == 400 and "invalid_client_id" in bad_client.text
    bad_callback = authorize(
        org, session, redirect_uri="https://evil.example.com/cb", code_challenge=s256("x" * 50)
    )
    assert bad_callback.status_code == 400 and "redirect_uri_mismatch" in bad_callback.text
    no_pkce = authorize(org, session, state="s1")
    assert no_pkce.status_code == 302
    query = parse_qs(urlsplit(no_pkce.headers["Location"]).query)
    assert (
        query["error"] == ["invalid_request"] and query["state"] == ["s1"] and "code" not in query
    )
    plain = authorize(org, session, code_challenge="abc", code_challenge_method="plain")
    assert parse_qs(urlsplit(plain.headers["Location"]).query)["error"] == ["invalid_request"]


def test_refresh_gives_a_session_without_a_new_refresh_token_until_revoked(org, session):
    refresh_token = org.new_refresh_token()
    answer = token(
        org,
        session,
        grant_type="refresh_token",
        refresh_token=refresh_token,
        client_id=org.client_id,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "refresh_token" not in body
    assert {"access_token", "instance_url", "id", "issued_at", "signature", "token_type"} <= set(
        body
    )
    sf = Salesforce(
        session_id=body["access_token"], instance_url=body["instance_url"], session=session
    )
    assert sf.limits()

    revoked = session.post(
        f"{org.login_url}/services/oauth2/revoke", data={"token": refresh_token}, timeout=30
    )
    assert revoked.status_code == 200
    again = token(
        org,
        session,
        grant_type="refresh_token",
        refresh_token=refresh_token,
        client_id=org.client_id,
    )
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    # the sessions issued from a revoked refresh token end with it
    assert (
        session.get(
            f"{org.instance_url}/services/data/v64.0/limits/",
            timeout=30,
            headers={"Authorization": f"Bearer {body['access_token']}"},
        ).status_code
        == 401
    )
    unknown = session.post(
        f"{org.login_url}/services/oauth2/revoke", data={"token": "nothing"}, timeout=30
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_token_type"


def test_refresh_with_a_wrong_client_secret_is_invalid_client(org, session):
    answer = token(
        org,
        session,
        grant_type="refresh_token",
        refresh_token=org.new_refresh_token(),
        client_id=org.client_id,
        client_secret="wrong",
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"


def _soap_login(org, session, version: str) -> requests.Response:
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login>'
        f"<urn:username>{org.username}</urn:username><urn:password>{org.password}{org.security_token}</urn:password>"
        "</urn:login></env:Body></env:Envelope>"
    )
    return session.post(
        f"{org.login_url}/services/Soap/u/{version}",
        data=envelope,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
    )


@pytest.fixture
def no_soap_login(org):
    org.soap_login = False
    yield org
    org.soap_login = True


def test_a_new_org_answers_soap_login_with_invalid_operation(no_soap_login, session):
    answer = _soap_login(no_soap_login, session, "64.0")
    assert answer.status_code == 500
    assert "<faultcode>sf:INVALID_OPERATION</faultcode>" in answer.text
    assert "SOAP API login() is disabled by default in this org." in answer.text


def test_soap_login_is_absent_from_api_65(org, session):
    assert _soap_login(org, session, "64.0").status_code == 200
    answer = _soap_login(org, session, "65.0")
    assert answer.status_code == 500 and "INVALID_OPERATION" in answer.text


def test_api_64_is_listed_and_served(org, session):
    versions = session.get(f"{org.instance_url}/services/data/", timeout=30).json()
    assert {"label": "Summer '25", "url": "/services/data/v64.0", "version": "64.0"} in versions
    answer = session.get(
        f"{org.instance_url}/services/data/v64.0/sobjects/Account/describe",
        timeout=30,
        headers={"Authorization": f"Bearer {org.new_token()}"},
    )
    assert answer.status_code == 200
    assert answer.json()["urls"]["describe"] == "/services/data/v64.0/sobjects/Account/describe"
