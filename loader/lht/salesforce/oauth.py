"""The OAuth 2.0 web server flow with PKCE (S256) that ``lht login`` runs, and revoking a token.

The browser is sent to ``<login URL>/services/oauth2/authorize`` with the app's client id,
the loopback callback, an S256 ``code_challenge`` and a ``state``; Salesforce redirects it
to the callback with a ``code``, which is exchanged once at ``/services/oauth2/token``
(``grant_type=authorization_code`` with the ``code_verifier``) for a refresh token.
``lht logout`` revokes it at ``/services/oauth2/revoke``. Secrets travel in request bodies
only, never in a URL; the verifier never leaves this process but in the exchange.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from lht.errors import LhtError, LoginRefusedError, SalesforceError, redact_url

#: What lht asks for: the API, and a refresh token for later runs.
SCOPE = "api refresh_token"


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair: the verifier kept here, the S256 challenge sent to the browser."""

    verifier: str = field(repr=False)
    challenge: str


def new_pkce() -> Pkce:
    """A fresh verifier (86 characters of base64url, RFC 7636: 43 to 128) and its challenge."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorize_url(login_url: str, client_id: str, redirect_uri: str, pkce: Pkce, state: str) -> str:
    """The URL the user opens to approve the app (no secret in it)."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        "scope": SCOPE,
    }
    return f"{login_url}/services/oauth2/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class Tokens:
    """What the code exchange gives: a refresh token and the org's instance URL."""

    refresh_token: str = field(repr=False)
    instance_url: str
    identity_url: str | None = None
    issued_at: str | None = None


def _oauth_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return str(response.status_code), " ".join(response.text.split())[:300]
    if not isinstance(body, dict):
        return str(response.status_code), str(body)[:300]
    return str(body.get("error") or response.status_code), str(body.get("error_description") or "")


def exchange_code(
    session: requests.Session,
    login_url: str,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    pkce: Pkce,
) -> Tokens:
    """Exchange the authorization ``code`` for a refresh token (once: a code is good once).

    LoginRefusedError when Salesforce refuses it, naming what to check.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": pkce.verifier,
    }
    if client_secret:
        form["client_secret"] = client_secret
    where = f"lht login, OAuth web server flow at {redact_url(login_url)}"
    try:
        response = session.post(f"{login_url}/services/oauth2/token", data=form)
    except requests.exceptions.RequestException as exc:
        raise SalesforceError(
            f"Exchanging the authorization code ({where}) failed: "
            f"{exc.__class__.__name__}, after retrying. Run `lht login` again."
        ) from None
    if response.status_code != 200:
        error, description = _oauth_error(response)
        if response.status_code >= 500:
            raise SalesforceError(
                f"Exchanging the authorization code ({where}) failed on Salesforce's "
                f"side: {error}: {description or 'no detail'}. Run `lht login` again later."
            )
        secret_hint = (
            "; the app wants its secret: set SF_CLIENT_SECRET"
            if error == "invalid_client" and not client_secret
            else ""
        )
        raise LoginRefusedError(
            f"Salesforce refused the authorization code ({where}): {error}: {description or 'no detail'}. "
            f"Check SF_CLIENT_ID (and SF_CLIENT_SECRET when the app has one){secret_hint}, that the app "
            "allows the web server flow with PKCE and has the callback URL, then run `lht login` again."
        )
    body = response.json()
    if not body.get("refresh_token"):
        raise LoginRefusedError(
            f"Salesforce gave no refresh token ({where}): the app's OAuth scopes must include "
            'refresh_token ("Perform requests at any time"). Add it, then run `lht login` again.'
        )
    return Tokens(
        refresh_token=body["refresh_token"],
        instance_url=str(body["instance_url"]).rstrip("/"),
        identity_url=body.get("id"),
        issued_at=body.get("issued_at"),
    )


def revoke(session: requests.Session, instance_url: str, token: str) -> bool:
    """Revoke ``token`` (a refresh token: its sessions end with it). False when Salesforce
    no longer knew it (already revoked or expired); LhtError when it could not be asked."""
    try:
        response = session.post(f"{instance_url}/services/oauth2/revoke", data={"token": token})
    except requests.exceptions.RequestException as exc:
        raise LhtError(
            f"Could not reach {redact_url(instance_url)} to revoke the refresh token "
            f"({exc.__class__.__name__})"
        ) from None
    if response.status_code == 200:
        return True
    error, description = _oauth_error(response)
    if response.status_code == 400:
        return False
    raise LhtError(
        f"Salesforce did not revoke the refresh token at {redact_url(instance_url)}: "
        f"{error}: {description or 'no detail'}"
    )
