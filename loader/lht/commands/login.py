"""``lht login`` and ``lht logout``: a browser login whose refresh token later runs use.

``lht login`` serves a one-shot callback on ``http://127.0.0.1:PORT/OauthRedirect``, hands
the authorize URL to the CLI (which prints it and opens the browser), waits for the
browser to come back with the code (a request without the run's ``state`` is turned
away), exchanges it with the PKCE verifier and stores the refresh token, the app and the
instance in the login file (mode 0600, :mod:`lht.loginfile`). ``lht logout`` revokes the
refresh token at Salesforce and removes the file.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lht.clock import utcnow
from lht.config import login_file, settings_from_env, web_login_from_env
from lht.errors import ConfigError, LhtError, LoginRefusedError
from lht.loginfile import StoredLogin, read_login, remove_login, write_login
from lht.salesforce import oauth
from lht.salesforce.transport import ClientStats, RunBudget, make_session

logger = logging.getLogger(__name__)

#: The callback's path, as the sf CLI's (``http://localhost:1717/OauthRedirect``).
CALLBACK_PATH = "/OauthRedirect"
DEFAULT_PORT = 1717

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>lht login</title>"
    b"<p>lht is logged in to Salesforce. You can close this tab.</p>"
)
_FAILED_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>lht login</title>"
    b"<p>Salesforce did not authorize lht; the terminal says why.</p>"
)


@dataclass(frozen=True)
class LoginResult:
    """Where the login is stored and which org it reaches."""

    login_file: Path
    instance_url: str
    identity_url: str | None


@dataclass(frozen=True)
class LogoutResult:
    """What ``lht logout`` did: ``revoked`` is None when nothing was stored."""

    login_file: Path
    removed: bool
    revoked: bool | None
    note: str | None = None


class _Callback(HTTPServer):
    """The one-shot callback: keeps the first answer that carries the run's ``state``."""

    def __init__(self, port: int, state: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state
        self.answer: dict[str, str] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Callback

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != CALLBACK_PATH or not secrets.compare_digest(
            query.get("state", ""), self.server.state
        ):
            self.send_error(404 if parts.path != CALLBACK_PATH else 400)
            return
        self.server.answer = query
        page = _DONE_PAGE if "code" in query else _FAILED_PAGE
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        logger.debug("callback: " + format, *args)


def _serve(port: int, state: str) -> _Callback:
    try:
        return _Callback(port, state)
    except OSError as exc:
        raise ConfigError(
            f"lht login cannot listen on 127.0.0.1:{port} ({exc.strerror}): another program (another "
            f"`lht login`, `sf org login web`) may use it. Pass --port N, with "
            f"http://127.0.0.1:N{CALLBACK_PATH} among the app's callback URLs."
        ) from None


def run_login(
    show_url: Callable[[str], None],
    *,
    login_url: str | None = None,
    client_id: str | None = None,
    port: int = DEFAULT_PORT,
    timeout_seconds: float = 300,
    env: Mapping[str, str] | None = None,
) -> LoginResult:
    """Run the web server flow; store and return the login. ``show_url`` gets the authorize
    URL once the callback listens (the CLI prints it and opens the browser)."""
    web = web_login_from_env(env, login_url=login_url, client_id=client_id)
    settings = settings_from_env(env)
    pkce, state = oauth.new_pkce(), secrets.token_urlsafe(24)
    redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    with _serve(port, state) as server:
        thread = threading.Thread(target=_wait, args=(server, timeout_seconds), daemon=True)
        thread.start()
        show_url(oauth.authorize_url(web.login_url, web.client_id, redirect_uri, pkce, state))
        thread.join()
        answer = server.answer
    if answer is None:
        raise LhtError(
            f"No answer from the browser within {timeout_seconds:.0f} s; run `lht login` again "
            "and approve the app in the browser."
        )
    if "code" not in answer:
        error = answer.get("error", "no code")
        raise LoginRefusedError(
            f"Salesforce did not authorize lht (lht login): {error}: {answer.get('error_description', 'no detail')}. "
            f"Check SF_CLIENT_ID and that the app allows the web server flow with PKCE and the callback "
            f"URL {redirect_uri}."
        )
    session = make_session(settings, RunBudget(), ClientStats())
    tokens = oauth.exchange_code(
        session, web.login_url, web.client_id, web.client_secret, answer["code"], redirect_uri, pkce
    )
    write_login(
        web.login_file,
        StoredLogin(
            login_url=web.login_url,
            instance_url=tokens.instance_url,
            client_id=web.client_id,
            refresh_token=tokens.refresh_token,
            client_secret=web.client_secret,
            identity_url=tokens.identity_url,
            issued_at=tokens.issued_at or utcnow().isoformat(),
        ),
    )
    logger.info("stored the login to %s in %s", tokens.instance_url, web.login_file)
    return LoginResult(web.login_file, tokens.instance_url, tokens.identity_url)


def _wait(server: _Callback, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    server.timeout = 0.5
    while server.answer is None and time.monotonic() < deadline:
        server.handle_request()


def run_logout(env: Mapping[str, str] | None = None) -> LogoutResult:
    """Revoke the stored refresh token at Salesforce and remove the login file."""
    path = login_file(env)
    stored = read_login(path)
    if stored is None:
        return LogoutResult(path, removed=False, revoked=None)
    note = None
    session = make_session(settings_from_env(env), RunBudget(), ClientStats())
    try:
        revoked = oauth.revoke(session, stored.instance_url, stored.refresh_token)
        if not revoked:
            note = "Salesforce no longer knew the refresh token (already revoked or expired)."
    except LhtError as exc:
        revoked = False
        note = (
            f"{exc}. It was removed here anyway; revoke it in Salesforce (Setup, the app's "
            "OAuth usage, or the user's connected apps) if it may still work."
        )
    remove_login(path)
    return LogoutResult(path, removed=True, revoked=revoked, note=note)
