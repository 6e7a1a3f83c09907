"""The OAuth 2.0 web server flow of the local org's one app: authorize, code, refresh, revoke.

- ``GET /services/oauth2/authorize?response_type=code&client_id=&redirect_uri=
  &code_challenge=&code_challenge_method=S256&state=``: a local org has no login page, so
  the user approves at once: 302 to ``redirect_uri?code=...&state=...``. As Salesforce
  does, an unknown ``client_id`` or a ``redirect_uri`` the app does not have is answered
  400 on the page (never redirected); other errors are redirected with ``error``,
  ``error_description`` and ``state``. The app requires PKCE (S256), as an External Client
  App does by default; its callback URLs are the loopback ones (``http://localhost:*``,
  ``http://127.0.0.1:*``, any port and path, as RFC 8252 lets native apps use).
- ``grant_type=authorization_code``: the code is good once, for 15 minutes, with the same
  ``redirect_uri`` and the ``code_verifier`` whose S256 hash is the challenge; the answer
  carries a ``refresh_token``.
- ``grant_type=refresh_token``: a new access token, no new refresh token (no rotation).
- ``POST /services/oauth2/revoke`` (``token=``, also as a GET query): a refresh token and
  the sessions issued from it, or one session, stop working; a revoked refresh token then
  answers 400 ``invalid_grant`` "expired access/refresh token".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

#: How long an authorization code may be exchanged (Salesforce: 15 minutes).
CODE_SECONDS = 15 * 60
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")


@dataclass(frozen=True)
class Refusal:
    """An OAuth error: ``error`` and ``error_description`` as Salesforce names them."""

    error: str
    description: str


@dataclass(frozen=True)
class Redirect:
    """Where the authorize endpoint sends the browser (a 302), or a page it shows (400)."""

    status: int
    location: str = ""
    page: str = ""


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    expires: float


@dataclass
class _Grant:
    """A refresh token and the sessions issued from it."""

    client_id: str
    sessions: set[str] = field(default_factory=set)


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``: base64url(sha256), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def loopback_callback(uri: str) -> bool:
    """True for the app's callback URLs: ``http(s)://localhost|127.0.0.1[:port]/...``."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and (parts.hostname or "") in _LOOPBACK


class WebFlow:
    """Authorization codes and refresh tokens of the org's one app (``client_id``)."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    # -- authorize ----------------------------------------------------------------------
    def authorize(self, params: dict[str, str]) -> Redirect:
        """Answer ``GET /services/oauth2/authorize``: approve at once and redirect with a code."""
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        if client_id != self.client_id:
            return _page("invalid_client_id", "client identifier invalid")
        if not loopback_callback(redirect_uri):
            return _page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = params.get("state")
        if params.get("response_type") != "code":
            return _back(
                redirect_uri,
                state,
                error="unsupported_response_type",
                error_description="response type not supported",
            )
        challenge = params.get("code_challenge", "")
        if not challenge:
            return _back(
                redirect_uri,
                state,
                error="invalid_request",
                error_description="missing required code challenge",
            )
        if params.get("code_challenge_method", "S256") != "S256":
            return _back(
                redirect_uri,
                state,
                error="invalid_request",
                error_description="invalid code challenge method",
            )
        code = "aPrx" + secrets.token_urlsafe(48)
        with self._lock:
            self._codes[code] = _Code(
                client_id, redirect_uri, challenge, time.monotonic() + CODE_SECONDS
            )
        return _back(redirect_uri, state, code=code)

    # -- grants -------------------------------------------------------------------------
    def _client(self, client_id: str | None, client_secret: str | None) -> Refusal | None:
        if client_id != self.client_id:
            return Refusal("invalid_client_id", "client identifier invalid")
        if client_secret and not hmac.compare_digest(
            client_secret.encode(), self.client_secret.encode()
        ):
            return Refusal("invalid_client", "invalid client credentials")
        return None

    def exchange_code(
        self, form: dict[str, str], client_id: str | None, client_secret: str | None
    ) -> str | Refusal:
        """``grant_type=authorization_code``: a new refresh token, or the refusal."""
        refused = self._client(client_id, client_secret)
        if refused:
            return refused
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # good once, even when refused
        if code is None or code.expires < time.monotonic() or code.client_id != client_id:
            return Refusal("invalid_grant", "invalid authorization code")
        if form.get("redirect_uri") != code.redirect_uri:
            return Refusal("invalid_grant", "redirect_uri must match configuration")
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(s256(verifier), code.challenge):
            return Refusal("invalid_grant", "invalid code verifier")
        return self.new_refresh_token()

    def new_refresh_token(self) -> str:
        """A refresh token for the app's user (what approving the app in a browser gives)."""
        token = "5Aep861" + secrets.token_urlsafe(64).replace("-", ".")
        with self._lock:
            self._grants[token] = _Grant(self.client_id)
        return token

    def refresh(
        self, form: dict[str, str], client_id: str | None, client_secret: str | None
    ) -> Refusal | None:
        """``grant_type=refresh_token``: None when the refresh token may have a new session."""
        refused = self._client(client_id, client_secret)
        if refused:
            return refused
        with self._lock:
            grant = self._grants.get(form.get("refresh_token", ""))
        if grant is None or grant.client_id != client_id:
            return Refusal("invalid_grant", "expired access/refresh token")
        return None

    def issued(self, refresh_token: str, session: str) -> None:
        """Remember that ``session`` was issued from ``refresh_token`` (revoked with it)."""
        with self._lock:
            grant = self._grants.get(refresh_token)
            if grant is not None:
                grant.sessions.add(session)

    def revoke(self, token: str) -> set[str] | None:
        """Revoke a refresh token: the sessions issued from it, or None when it is not one."""
        with self._lock:
            grant = self._grants.pop(token, None)
        return None if grant is None else grant.sessions


def _page(error: str, description: str) -> Redirect:
    return Redirect(400, page=urlencode({"error": error, "error_description": description}))


def _back(redirect_uri: str, state: str | None, **values: str) -> Redirect:
    query = dict(values)
    if state is not None:
        query["state"] = state
    parts = urlsplit(redirect_uri)
    kept = parse_qsl(parts.query, keep_blank_values=True)
    return Redirect(302, location=parts._replace(query=urlencode([*kept, *query.items()])).geturl())
