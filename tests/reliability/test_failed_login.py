"""A login Salesforce refuses is made once per run and reported as a refused login, naming
the flow and the variables to check (never their values): Salesforce locks a user out after
a few failed logins (SOAP answers ``INVALID_LOGIN`` with HTTP 500, OAuth ``invalid_grant``
or ``invalid_client`` with 400). A login that fails for the server's sake (a connection
reset, 503) is still retried.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from e2e.conftest import Workspace

from lht.config import credentials_from_env, settings_from_env
from lht.errors import LoginRefusedError
from lht.salesforce.client import connect
from lht_devorg import DevOrg

from .conftest import assert_clean_failure, assert_no_secret_leaked, state_rows, sync_vv


@pytest.fixture
def engine_name() -> str:
    """A login fails before the warehouse is touched: DuckDB only."""
    return "duckdb"


def is_login(method: str, path: str) -> bool:
    """A login request: the SOAP login (``/services/Soap/u/NN.N``) or the OAuth token endpoint."""
    return method == "POST" and (
        path.startswith("/services/oauth2/token") or path.startswith("/services/Soap/u/")
    )


def logins(org: DevOrg) -> int:
    """Login requests the org received."""
    return sum(is_login(method, path) for method, path in org.faults.requests())


#: flow -> (workspace flow, extra variables, the wrong value, what the message names)
REFUSED = {
    "password (SOAP)": (
        "password",
        {},
        {"SF_PASSWORD": "Wr0ng-password"},
        [
            "password flow, SOAP login",
            "INVALID_LOGIN",
            "SF_USERNAME, SF_PASSWORD, SF_SECURITY_TOKEN",
        ],
    ),
    "password (OAuth)": (
        "password",
        {"client_id": "SF_CLIENT_ID", "client_secret": "SF_CLIENT_SECRET"},
        {"SF_PASSWORD": "Wr0ng-password"},
        [
            "password flow, OAuth username-password grant",
            "invalid_grant",
            "SF_PASSWORD",
            "SF_CLIENT_SECRET",
        ],
    ),
    "client_credentials": (
        "client_credentials",
        {},
        {"SF_CLIENT_SECRET": "Wr0ng-secret"},
        ["client_credentials flow", "invalid_client", "SF_CLIENT_ID, SF_CLIENT_SECRET"],
    ),
    "jwt (unknown user)": (
        "jwt",
        {},
        {"SF_USERNAME": "nobody@example.com"},
        ["jwt flow, OAuth JWT bearer grant", "invalid_grant", "SF_USERNAME", "SF_PRIVATE_KEY_FILE"],
    ),
    "refresh_token (unknown token)": (
        "refresh_token",
        {},
        {"SF_REFRESH_TOKEN": "5Aep861Wr0ng-refresh-token"},
        [
            "refresh_token flow, OAuth refresh token grant",
            "invalid_grant",
            "SF_CLIENT_ID, SF_REFRESH_TOKEN, SF_CLIENT_SECRET",
            "lht login",
        ],
    ),
    "auth_url (wrong secret)": (
        "auth_url",
        {},
        {"SF_AUTH_URL": "force://{client_id}:Wr0ngSecret:5Aep861tok@{host}"},
        [
            "auth_url flow (SFDX auth URL), OAuth refresh token grant",
            "invalid_client",
            "Check SF_AUTH_URL",
        ],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_login_is_made_once_and_named_as_such(
    make_ws, small_org: DevOrg, case: str
) -> None:
    flow, extra, wrong, named = REFUSED[case]
    ws = make_ws(small_org, flow=flow)
    extra_env = {name: getattr(small_org, attr) for attr, name in extra.items()}
    wrong = {
        name: value.format(client_id=small_org.client_id, host=f"127.0.0.1:{small_org.port}")
        for name, value in wrong.items()
    }
    run = sync_vv(ws, extra_env={**extra_env, **wrong})
    assert run.returncode == 2, run.stdout + run.stderr  # configuration to fix, like every refusal
    login_url = (
        ("SF_LOGIN_URL",) if flow != "auth_url" else ()
    )  # an SFDX auth URL names its instance
    assert_clean_failure(
        run, "Salesforce refused the login", *named, *login_url, "does not try again"
    )
    assert logins(small_org) == 1, [r for r in small_org.faults.requests() if is_login(*r)]
    assert "after logging in again" not in run.stderr
    assert not state_rows(ws)
    assert_no_secret_leaked(run, small_org, ws)
    for value in wrong.values():
        if "Wr0ng" in value:
            assert value not in run.stdout + run.stderr


def test_a_login_refused_mid_run_is_not_tried_again_by_the_other_objects(
    small_org: DevOrg, monkeypatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", small_org.ca_path)
    client = connect(
        credentials_from_env(small_org.env("password")),
        settings_from_env({}, retry_backoff_seconds=0.01, max_retries=1),
    )
    objects = [client.for_object(name) for name in ("Account", "Contact", "Lead")]
    small_org.credentials.password = (
        "Changed-" + small_org.credentials.password
    )  # the password changed
    small_org.expire_tokens()
    before = logins(small_org)
    for one in objects:
        with pytest.raises(LoginRefusedError, match="INVALID_LOGIN"):
            one.describe("Account")
    assert logins(small_org) - before == 1


# -- transient failures: an HTTPS front for the login URL that fails the first logins -------------
class FlakyLoginFront:
    """An HTTPS server in front of the org's login URL: the first login requests fail as
    ``failures`` says (``reset``: the connection is reset; ``503``: Service Unavailable), the
    others, and every other request, are forwarded to the org."""

    def __init__(self, org: DevOrg, failures: list[str], root: Path) -> None:
        self.org, self.failures = org, list(failures)
        self.logins: list[str] = []
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.context = context
        self.bundle = root / "bundle.pem"
        self.bundle.write_bytes(Path(org.ca_path).read_bytes() + ca.cert_pem.bytes())
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(raw,), daemon=True).start()

    def _answer(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _, body = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(
                next((v for k, v in headers.items() if k.lower() == "content-length"), "0")
            )
            while len(body) < length:
                body += conn.recv(65536)
            if is_login(method, path):
                kind = self.failures.pop(0) if self.failures else "ok"
                self.logins.append(kind)
                if kind == "reset":
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    raw.close()
                    return
                if kind == "503":
                    conn.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: 11\r\nConnection: close\r\n\r\nUnavailable"
                    )
                    conn.close()
                    return
            keep = {
                k: v
                for k, v in headers.items()
                if k.lower() in ("content-type", "authorization", "soapaction")
            }
            reply = requests.request(
                method,
                self.org.instance_url + path,
                data=body,
                headers=keep,
                verify=self.org.ca_path,
                timeout=30,
            )
            conn.sendall(
                f"HTTP/1.1 {reply.status_code} {reply.reason}\r\n".encode()
                + f"Content-Type: {reply.headers.get('Content-Type', 'text/plain')}\r\n".encode()
                + f"Content-Length: {len(reply.content)}\r\nConnection: close\r\n\r\n".encode()
                + reply.content
            )
            conn.close()
        except (OSError, ssl.SSLError, ValueError):
            raw.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def flaky_front(small_org: DevOrg, tmp_path: Path) -> Iterator:
    made: list[FlakyLoginFront] = []

    def make(failures: list[str]) -> FlakyLoginFront:
        made.append(FlakyLoginFront(small_org, failures, tmp_path))
        return made[-1]

    yield make
    for front in made:
        front.close()


@pytest.mark.parametrize("flow", ["password", "client_credentials"])
def test_a_login_reset_or_answered_503_is_retried(
    make_ws, small_org: DevOrg, flaky_front, flow: str
) -> None:
    ws: Workspace = make_ws(small_org, flow=flow)
    front = flaky_front(["reset", "503"])
    run = sync_vv(
        ws,
        "Account",
        extra_env={"SF_LOGIN_URL": front.url, "REQUESTS_CA_BUNDLE": str(front.bundle)},
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert front.logins == ["reset", "503", "ok"]
    assert logins(small_org) == 1  # the third attempt reached the org and logged in


def test_a_login_service_that_keeps_failing_is_retried_then_reported(
    make_ws, small_org: DevOrg, flaky_front
) -> None:
    ws: Workspace = make_ws(small_org, flow="password")
    front = flaky_front(["503"] * 10)
    run = sync_vv(
        ws,
        "Account",
        extra_env={"SF_LOGIN_URL": front.url, "REQUESTS_CA_BUNDLE": str(front.bundle)},
    )
    assert_clean_failure(run, "Logging in", "after retrying")
    assert len(front.logins) == 3  # LHT_MAX_RETRIES=2: three attempts
    assert "refused the login" not in run.stderr
    assert logins(small_org) == 0
