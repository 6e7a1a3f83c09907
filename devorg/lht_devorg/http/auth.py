"""Authentication for the local org: session tokens, OAuth 2.0 token grants, SOAP login.

Supports what simple-salesforce sends: the OAuth ``password``, ``client_credentials``
and JWT bearer grants on ``POST /services/oauth2/token`` and the partner SOAP ``login``
on ``POST /services/Soap/u/NN.N``; and the web server flow's ``authorization_code`` (with
PKCE) and ``refresh_token`` grants, ``/services/oauth2/authorize`` and
``/services/oauth2/revoke`` (:mod:`.webflow`). Answers and failures have Salesforce's shapes.

SOAP ``login()`` is not in API 65.0 and later, and an org can have it turned off
(``soap_login_enabled``, as new orgs have by default): both are answered with Salesforce's
``INVALID_OPERATION`` fault.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..ids import ADMIN_USER_ID, ADMIN_USERNAME, ORG_ID
from .tls import write_private
from .webflow import Redirect, Refusal, WebFlow

USER_ID = ADMIN_USER_ID
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The first API version without SOAP ``login()``.
NO_SOAP_LOGIN_FROM = 65
SOAP_LOGIN_DISABLED = (
    "SOAP API login() is disabled by default in this org. Contact the org "
    "administrator to enable SOAP API login()."
)
_PARTNER_NS = "urn:partner.soap.sforce.com"
_SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass
class Credentials:
    """The one user and connected app the local org knows."""

    username: str = ADMIN_USERNAME
    password: str = field(default_factory=lambda: "Pw-" + secrets.token_urlsafe(12))
    security_token: str = field(default_factory=lambda: secrets.token_hex(12).upper())
    client_id: str = field(default_factory=lambda: "3MVG9lht" + secrets.token_urlsafe(24))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(32).upper())
    public_key_pem: bytes = b""


def make_jwt_key(path: Path) -> bytes:
    """Generate an RSA key, write its private PEM to ``path`` (0600); return the public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class TokenStore:
    """Issued session ids, with an optional time to live and a kill switch."""

    def __init__(self, ttl_seconds: float | None = None) -> None:
        self.ttl_seconds = ttl_seconds
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        """A new session id in Salesforce's shape (org id, '!', opaque part)."""
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        with self._lock:
            self._issued[token] = time.monotonic()
        return token

    def valid(self, token: str | None) -> bool:
        """True when ``token`` was issued, not expired, and not revoked."""
        if not token:
            return False
        with self._lock:
            issued = self._issued.get(token)
        if issued is None:
            return False
        return self.ttl_seconds is None or time.monotonic() - issued < self.ttl_seconds

    def expire_all(self) -> None:
        """Invalidate every token issued so far."""
        with self._lock:
            self._issued.clear()

    def revoke(self, token: str) -> bool:
        """Invalidate one token; False when it was not a valid one."""
        with self._lock:
            return self._issued.pop(token, None) is not None


@dataclass(frozen=True)
class Answer:
    """An HTTP answer from a login endpoint."""

    status: int
    content_type: str
    body: bytes


def _oauth_error(error: str, description: str) -> Answer:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return Answer(400, "application/json;charset=UTF-8", body)


class Authenticator:
    """Checks credentials and issues tokens for the OAuth and SOAP login endpoints."""

    def __init__(
        self, creds: Credentials, tokens: TokenStore, base_url: str, soap_login_enabled: bool = True
    ) -> None:
        self.creds = creds
        self.tokens = tokens
        self.base_url = base_url  # https://127.0.0.1:PORT, instance and login URL alike
        self.soap_login_enabled = soap_login_enabled
        self.web = WebFlow(creds.client_id, creds.client_secret)

    def _password_ok(self, username: str | None, password: str | None) -> bool:
        expected = self.creds.password + self.creds.security_token
        return (
            username == self.creds.username
            and password is not None
            and hmac.compare_digest(password.encode(), expected.encode())
        )

    def accepted_audiences(self) -> list[str]:
        """JWT ``aud`` values accepted: the login URL, Salesforce's login hosts, and
        simple-salesforce's ``https://{domain}.salesforce.com`` with a local domain."""
        return [
            self.base_url,
            self.base_url + "/",
            "https://login.salesforce.com",
            "https://test.salesforce.com",
        ]

    def _aud_ok(self, aud: object) -> bool:
        auds = aud if isinstance(aud, list) else [aud]
        local = re.compile(re.escape(self.base_url) + r"/[A-Za-z0-9_.-]+\.salesforce\.com/?$")
        return any(
            isinstance(a, str) and (a in self.accepted_audiences() or local.match(a)) for a in auds
        )

    def _token_answer(
        self, refresh_token: str | None = None, *, new_refresh: bool = False
    ) -> Answer:
        token = self.tokens.issue()
        if refresh_token:
            self.web.issued(refresh_token, token)
        issued_at = str(int(time.time() * 1000))
        ident = f"{self.base_url}/id/{ORG_ID}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(
                self.creds.client_secret.encode(), (ident + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        body = {
            "access_token": token,
            "instance_url": self.base_url,
            "id": ident,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api",
        }
        if refresh_token and new_refresh:
            body = {**body, "refresh_token": refresh_token, "scope": "refresh_token api"}
        return Answer(200, "application/json;charset=UTF-8", json.dumps(body).encode())

    def oauth_token(self, form_body: bytes, authorization: str | None) -> Answer:
        """Answer ``POST /services/oauth2/token`` (form-encoded body); a body that is not
        UTF-8 form data gets OAuth's 400 ``invalid_request``."""
        try:
            text = form_body.decode("utf-8")
        except UnicodeDecodeError:
            return _oauth_error(
                "invalid_request",
                "the request body must be UTF-8 form data (application/x-www-form-urlencoded)",
            )
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
                client_id, _, client_secret = decoded.partition(":")
            except ValueError:
                return _oauth_error("invalid_client", "invalid client credentials")
        if grant == "password":
            if client_id != self.creds.client_id:
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if client_secret != self.creds.client_secret:
                return _oauth_error("invalid_client", "invalid client credentials")
            if not self._password_ok(form.get("username"), form.get("password")):
                return _oauth_error("invalid_grant", "authentication failure")
            return self._token_answer()
        if grant == "client_credentials":
            if client_id != self.creds.client_id:
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if client_secret != self.creds.client_secret:
                return _oauth_error("invalid_client", "invalid client credentials")
            return self._token_answer()
        if grant == JWT_GRANT:
            return self._jwt_grant(form.get("assertion") or "")
        if grant == "authorization_code":
            refresh = self.web.exchange_code(form, client_id, client_secret)
            if isinstance(refresh, Refusal):
                return _oauth_error(refresh.error, refresh.description)
            return self._token_answer(refresh, new_refresh=True)
        if grant == "refresh_token":
            refused = self.web.refresh(form, client_id, client_secret)
            if refused:
                return _oauth_error(refused.error, refused.description)
            return self._token_answer(form["refresh_token"])
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    def authorize(self, params: dict[str, str]) -> Redirect:
        """Answer ``GET /services/oauth2/authorize`` (see :mod:`.webflow`)."""
        return self.web.authorize(params)

    def revoke(self, form_body: bytes, params: dict[str, str]) -> Answer:
        """Answer ``/services/oauth2/revoke``: ``token=`` in the form body or the query."""
        form = {k: v[0] for k, v in parse_qs(form_body.decode("utf-8", "replace")).items()}
        token = form.get("token") or params.get("token") or ""
        sessions = self.web.revoke(token)
        if sessions is not None:
            for session in sessions:
                self.tokens.revoke(session)
            return Answer(200, "text/plain;charset=UTF-8", b"")
        if self.tokens.revoke(token):
            return Answer(200, "text/plain;charset=UTF-8", b"")
        return _oauth_error("unsupported_token_type", "this token type is not supported")

    def _jwt_grant(self, assertion: str) -> Answer:
        try:
            claims = jwt.decode(
                assertion,
                self.creds.public_key_pem,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            return _oauth_error("invalid_grant", "expired authorization code")
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.creds.client_id:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if not self._aud_ok(claims.get("aud")):
            return _oauth_error("invalid_grant", "audience is invalid")
        if claims.get("sub") != self.creds.username:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._token_answer()

    def soap_login(self, body: bytes, api_version: str) -> Answer:
        """Answer ``POST /services/Soap/u/NN.N`` with a loginResponse or a LoginFault."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return _soap_fault("soapenv:Client", "INVALID_LOGIN", "Malformed login request")
        if not self.soap_login_enabled:
            return _soap_fault("sf:INVALID_OPERATION", "INVALID_OPERATION", SOAP_LOGIN_DISABLED)
        if int(api_version.split(".")[0]) >= NO_SOAP_LOGIN_FROM:
            # Salesforce's exact text for this case is not documented
            return _soap_fault(
                "sf:INVALID_OPERATION",
                "INVALID_OPERATION",
                f"SOAP API login() is not available in API version {api_version}; "
                "it was removed in 65.0",
            )
        username = root.findtext(f".//{{{_PARTNER_NS}}}username")
        password = root.findtext(f".//{{{_PARTNER_NS}}}password")
        if not self._password_ok(username, password):
            return _soap_fault(
                "sf:INVALID_LOGIN",
                "INVALID_LOGIN",
                "Invalid username, password, security token; or user locked out.",
            )
        token = self.tokens.issue()
        host = self.base_url
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{_SOAP_NS}" xmlns="{_PARTNER_NS}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            "<loginResponse><result>"
            f"<metadataServerUrl>{host}/services/Soap/m/{api_version}/{ORG_ID[:15]}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired>"
            f"<sandbox>false</sandbox><serverUrl>{host}/services/Soap/u/{api_version}/"
            f"{ORG_ID[:15]}</serverUrl><sessionId>{token}</sessionId>"
            f"<userId>{USER_ID}</userId><userInfo><organizationId>{ORG_ID}</organizationId>"
            f"<userName>{_xml_text(self.creds.username)}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Answer(200, "text/xml;charset=UTF-8", xml.encode())


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _soap_fault(faultcode: str, code: str, message: str) -> Answer:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_NS}" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>{faultcode}</faultcode>"
        f"<faultstring>{code}: {_xml_text(message)}</faultstring><detail>"
        '<sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{_xml_text(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Answer(500, "text/xml;charset=UTF-8", xml.encode())
