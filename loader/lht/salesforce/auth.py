"""Log in to Salesforce with one credential set, through simple-salesforce's login code.

``*.salesforce.com`` login hosts are handed to ``SalesforceLogin`` as ``domain``. Any
other host (a proxy, the local org) is reached through the same module's helpers with
the configured URL: ``SalesforceLogin(scratch_url=...)`` for the SOAP login and
``token_login`` for the OAuth grants (the JWT assertion is signed RS256 with the
private key, ``aud`` = the login URL). Secrets travel in request bodies only.

A login Salesforce refuses (SOAP ``INVALID_LOGIN``, OAuth ``invalid_grant``,
``invalid_client``, ...) raises :class:`~lht.errors.LoginRefusedError` naming the flow and
the variables to check, never their values; the transport does not retry it (a SOAP
``LoginFault`` comes as HTTP 500, see :func:`lht.salesforce.transport.is_answer`), and the
client does not log in again within the run. A login that fails for the server's sake
(connection reset, 503) is retried by the transport like any call.

The ``auth_url`` (SFDX auth URL), ``refresh_token`` and ``stored`` (``lht login``) flows
use the OAuth refresh token grant at their login URL (the SFDX auth URL's instance). The
password flow without a client id is SOAP ``login()``, which Salesforce retires with
Summer '27 (:data:`SOAP_LOGIN_RETIRING`, warned once per run by the client); an org where
it is disabled answers ``INVALID_OPERATION``, and the refusal names the OAuth flows to use.

A new flow adds its login function to :data:`LOGINS` (and its variables to
``lht.config.FLOWS``).
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import requests

from lht.clock import utcnow
from lht.config import Credentials
from lht.constants import API_VERSION
from lht.errors import (
    ApiLimitError,
    CredentialsError,
    LhtError,
    LoginRefusedError,
    SalesforceError,
    redact_url,
)

_SF_SUFFIX = ".salesforce.com"
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def host_of(url: str) -> str:
    """``host[:port]`` of an https URL (the form simple-salesforce calls ``sf_instance``)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.port not in (None, 443):
        host += f":{parsed.port}"
    return host


def salesforce_domain(login_url: str) -> str | None:
    """The ``domain`` simple-salesforce wants for a ``*.salesforce.com`` URL, else None."""
    parsed = urlparse(login_url)
    host = parsed.hostname or ""
    if host.endswith(_SF_SUFFIX) and parsed.port in (None, 443):
        return host[: -len(_SF_SUFFIX)]
    return None


#: The OAuth flows that replace SOAP login(), as messages name them.
OAUTH_REPLACEMENTS = (
    "SF_AUTH_URL (the sfdxAuthUrl of `sf org display --verbose --json`), `lht login` "
    "(a browser login, stored for later runs) or SF_REFRESH_TOKEN with SF_CLIENT_ID; "
    "unattended, also JWT (SF_PRIVATE_KEY_FILE) or client credentials"
)
#: The warning of a run that logs in with SOAP login().
SOAP_LOGIN_RETIRING = (
    "The password flow logs in with SOAP login(), which Salesforce retires with Summer '27 "
    "(it is already absent from API 65.0 and disabled in new orgs). Move to an OAuth flow: "
    + OAUTH_REPLACEMENTS
    + "."
)


def uses_soap_login(creds: Credentials) -> bool:
    """True for the password flow without a connected app: SOAP ``login()``."""
    return creds.flow == "password" and not (creds.client_id and creds.client_secret)


def describe_flow(creds: Credentials) -> str:
    """The flow and protocol of a login, for messages: ``password flow, SOAP login``."""
    if creds.flow == "password":
        grant = "SOAP login" if uses_soap_login(creds) else "OAuth username-password grant"
        return f"password flow, {grant}"
    return {
        "client_credentials": "client_credentials flow, OAuth client credentials grant",
        "jwt": "jwt flow, OAuth JWT bearer grant",
        "auth_url": "auth_url flow (SFDX auth URL), OAuth refresh token grant",
        "refresh_token": "refresh_token flow, OAuth refresh token grant",
        "stored": "`lht login` flow, OAuth refresh token grant",
    }.get(creds.flow, f"{creds.flow} flow")


def login(creds: Credentials, session: requests.Session) -> tuple[str, str]:
    """Log in and return ``(session_id, instance host[:port])``.

    Raises LoginRefusedError when Salesforce refuses the credentials, SalesforceError when
    its login service keeps failing (after the transport's retries).
    """
    from simple_salesforce.exceptions import (
        SalesforceAuthenticationFailed,  # logins only: see sfparts
    )

    log_in = LOGINS.get(creds.flow)
    if log_in is None:
        raise CredentialsError(f"The {creds.flow} flow cannot log in; it needs no login")
    try:
        with warnings.catch_warnings():
            # simple-salesforce warns about an unapproved connected app with a URL built for
            # *.salesforce.com hosts; the refusal below says it instead
            warnings.filterwarnings("ignore", category=UserWarning, module="simple_salesforce")
            return log_in(creds, session, salesforce_domain(creds.login_url))
    except SalesforceAuthenticationFailed as exc:
        raise login_failed(creds, exc.code, exc.auth_message) from None


#: Error codes of a login that failed for the server's sake, not the credentials'.
_SERVER_CODES = frozenset({"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"})


def login_failed(creds: Credentials, code: object, message: str) -> LhtError:
    """The error of a failed login: ``code`` is Salesforce's error code (``INVALID_LOGIN``,
    ``invalid_grant``...) or, when its answer had none, the HTTP status."""
    for secret in creds.secrets():
        message = message.replace(secret, "***")
    message = " ".join(message.split())[:300].rstrip(".")
    where = f"{describe_flow(creds)} at {redact_url(creds.login_url)}"
    status = code if isinstance(code, int) else int(str(code)) if str(code).isdigit() else None
    if str(code) == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitError(
            f"Logging in ({where}): the org's API request limit is exceeded ({message})."
        )
    if (status is not None and status >= 500) or str(code) in _SERVER_CODES:
        return SalesforceError(
            f"Logging in ({where}) failed on Salesforce's side: {code}: {message or 'no detail'}, "
            "after retrying. Try again later; check Salesforce's status page if it persists."
        )
    hint = (
        " The user must be pre-authorized for the connected app (its policy: admin approved "
        "users, with the user's profile or permission set)."
        if "approved" in message
        else ""
    )
    if str(code) == "INVALID_OPERATION" and "login()" in message:
        hint = (
            " This org does not allow SOAP login() (new orgs have it disabled; Salesforce retires "
            f"it with Summer '27): use an OAuth flow instead: {OAUTH_REPLACEMENTS}."
        )
    elif creds.flow in ("auth_url", "refresh_token", "stored") and str(code) == "invalid_grant":
        hint = (
            " A refresh token stops working when it is revoked (`lht logout`, or in Setup under "
            "the app's OAuth usage) or expires by the app's refresh token policy: log in again "
            "with `lht login`, or take a new sfdxAuthUrl from `sf org display --verbose --json`."
        )
    return LoginRefusedError(
        f"Salesforce refused the login ({where}): {code}: {message or 'no detail'}. Check "
        f"{', '.join(creds.variables)}.{hint} lht logged in once and does not try again in this run "
        "(Salesforce locks a user out after a few failed logins)."
    )


def _token_url(creds: Credentials) -> str:
    return f"{creds.login_url}/services/oauth2/token"


def _instance(value: str) -> str:
    """simple-salesforce's instance string (maybe with a path) -> host[:port]."""
    return host_of(f"https://{value.split('://')[-1]}")


def _password(creds: Credentials, session: requests.Session, domain: str | None) -> tuple[str, str]:
    from simple_salesforce.login import SalesforceLogin, token_login

    password = creds.password or ""
    token = creds.security_token or ""
    if creds.client_id and creds.client_secret:
        # OAuth username-password grant: the security token is appended to the password.
        if domain is not None:
            sid, inst = SalesforceLogin(
                username=creds.username,
                password=password + token,
                consumer_key=creds.client_id,
                consumer_secret=creds.client_secret,
                domain=domain,
                session=session,
            )
        else:
            sid, inst = token_login(
                _token_url(creds),
                {
                    "grant_type": "password",
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                    "username": creds.username,
                    "password": password + token,
                },
                creds.login_url,
                creds.client_id,
                None,
                None,
                session,
            )
        return sid, _instance(inst)
    # SOAP login: username + password + security token.
    sid, inst = SalesforceLogin(
        username=creds.username,
        password=password,
        security_token=token,
        sf_version=API_VERSION,
        session=session,
        domain=domain,
        scratch_url=None if domain is not None else creds.login_url,
    )
    return sid, _instance(inst)


def _client_credentials(
    creds: Credentials, session: requests.Session, domain: str | None
) -> tuple[str, str]:
    from simple_salesforce.login import SalesforceLogin, token_login

    if domain is not None:
        if domain in ("login", "test"):
            raise CredentialsError(
                "The client credentials flow needs your My Domain login URL: set SF_LOGIN_URL "
                "to https://<mydomain>.my.salesforce.com (not login/test.salesforce.com)"
            )
        sid, inst = SalesforceLogin(
            consumer_key=creds.client_id,
            consumer_secret=creds.client_secret,
            domain=domain,
            session=session,
        )
        return sid, _instance(inst)
    pair = f"{creds.client_id}:{creds.client_secret}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    sid, inst = token_login(
        _token_url(creds),
        {"grant_type": "client_credentials"},
        creds.login_url,
        creds.client_id or "",
        headers,
        None,
        session,
    )
    return sid, _instance(inst)


def _jwt(creds: Credentials, session: requests.Session, domain: str | None) -> tuple[str, str]:
    import jwt
    from simple_salesforce.login import SalesforceLogin, token_login

    key_path = Path(creds.private_key_file or "")
    try:
        key = key_path.read_bytes()
    except OSError as exc:
        raise CredentialsError(
            f"SF_PRIVATE_KEY_FILE={str(key_path)!r} cannot be read ({exc.strerror}); point it at "
            "the PEM private key of the connected app's certificate"
        ) from None
    if domain is not None:
        sid, inst = SalesforceLogin(
            username=creds.username,
            consumer_key=creds.client_id,
            privatekey=key.decode(),
            domain=domain,
            session=session,
        )
        return sid, _instance(inst)
    expires = utcnow() + timedelta(minutes=3)
    claims = {
        "iss": creds.client_id,
        "sub": creds.username,
        "aud": creds.login_url,
        "exp": int(expires.timestamp()),
    }
    try:
        assertion = jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise CredentialsError(
            f"SF_PRIVATE_KEY_FILE={str(key_path)!r} is not a usable RSA private key "
            f"({exc.__class__.__name__}); use the PEM key of the connected app"
        ) from None
    sid, inst = token_login(
        _token_url(creds),
        {"grant_type": _JWT_GRANT, "assertion": assertion},
        creds.login_url,
        creds.client_id or "",
        None,
        None,
        session,
    )
    return sid, _instance(inst)


def _refresh(creds: Credentials, session: requests.Session, domain: str | None) -> tuple[str, str]:
    """The OAuth refresh token grant (no new refresh token comes back; the one held stays)."""
    from simple_salesforce.login import token_login

    form = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token or "",
        "client_id": creds.client_id or "",
    }
    if creds.client_secret:
        form["client_secret"] = creds.client_secret
    sid, inst = token_login(
        _token_url(creds),
        form,
        domain or creds.login_url,
        creds.client_id or "",
        None,
        None,
        session,
    )
    return sid, _instance(inst)


#: flow -> its login: (credentials, session, salesforce_domain or None) -> (session id, instance)
LOGINS: dict[str, Callable[[Credentials, requests.Session, str | None], tuple[str, str]]] = {
    "auth_url": _refresh,
    "refresh_token": _refresh,
    "stored": _refresh,
    "jwt": _jwt,
    "client_credentials": _client_credentials,
    "password": _password,
}
