"""The Salesforce client: log in with the configured flow, call the REST API, map errors.

Logins use simple-salesforce's own login code. A login host under ``*.salesforce.com``
is passed as ``domain``; any other host (a proxy, the local org) goes through the same
helpers with the configured URL (``SalesforceLogin(scratch_url=...)`` for SOAP,
``token_login`` for the OAuth grants). A session that expires mid-run is renewed
through simple-salesforce's re-login hook for every flow that can log in again.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as SfError
from simple_salesforce.exceptions import SalesforceGeneralError
from simple_salesforce.util import call_salesforce

from lht.salesforce import auth as _auth_flows
from lht.config import Credentials, Settings
from lht.constants import API_VERSION
from lht.errors import (
    ApiLimitError, AuthenticationError, BulkUnsupportedError, DeletedWindowError,
    FieldsChangedError, InvalidNameError, LhtError, ObjectNotFoundError, SalesforceError, redact_url,
)

__all__ = ["DeletedWindowError", "SalesforceClient", "connect", "translate"]
from lht.names import check_object_name
from lht.salesforce.transport import ClientStats, RunBudget, make_session

logger = logging.getLogger(__name__)

_NO_SUCH_COLUMN = re.compile(r"No such column '([^']+)' on entity '([^']+)'")


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) from a Salesforce error body (JSON array or text)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", content.get("error", ""))), str(
            content.get("message", content.get("error_description", "")))
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", str(content or "")[:500]


def translate(exc: BaseException, what: str, *, can_relogin: bool = True,
              scrub: tuple[str, ...] = ()) -> LhtError:
    """Map a simple-salesforce or requests exception to lht's typed errors."""
    if isinstance(exc, LhtError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        return SalesforceError(
            f"{what}: TLS verification failed ({exc.__class__.__name__}). If the server uses a "
            "private CA, set REQUESTS_CA_BUNDLE to its PEM bundle.")
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        url = getattr(exc.request, "url", None) or "the Salesforce host"
        host = redact_url(re.sub(r"(https?://[^/]+).*", r"\1", url))
        return SalesforceError(
            f"{what}: could not reach {host} ({exc.__class__.__name__}) after retrying. Check "
            "SF_INSTANCE_URL / SF_LOGIN_URL, the network and any proxy settings.")
    if not isinstance(exc, SfError):
        return SalesforceError(f"{what}: {exc.__class__.__name__}: {exc}")
    error = _translate_sf(exc, what, can_relogin=can_relogin, scrub=scrub)
    if isinstance(error, SalesforceError):
        error.http_status = exc.status
    return error


def _translate_sf(exc: SfError, what: str, *, can_relogin: bool, scrub: tuple[str, ...]) -> LhtError:
    code, message = _first_error(exc.content)
    for secret in scrub:
        message = message.replace(secret, "***")
    status = exc.status
    if code == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitError(f"{what}: the org's API request limit is exceeded ({message}).")
    if status == 401 or code == "INVALID_SESSION_ID":
        if not can_relogin:
            return AuthenticationError(
                f"{what}: the access token was rejected ({code or status}: {message}); it has "
                "expired or was revoked. Get a new one (e.g. `sf org display`) and set "
                "SF_ACCESS_TOKEN, or use a flow that can log in again (password, "
                "client_credentials or jwt).")
        return AuthenticationError(f"{what}: Salesforce rejected the session even after "
                                   f"logging in again ({code or status}: {message}).")
    if code == "INVALID_FIELD":
        found = _NO_SUCH_COLUMN.search(message)
        return FieldsChangedError(
            f"{what}: a queried field no longer exists ({message.splitlines()[-1] if message else code}); "
            "re-describe the object and retry.",
            field=found.group(1) if found else None,
            object_name=found.group(2) if found else None)
    if code == "INVALIDENTITY" or "not supported by the Bulk API" in message or (
            "not supported in Bulk Query" in message):
        return BulkUnsupportedError(f"{what}: Bulk API 2.0 cannot read this ({code}: {message})")
    if code in ("INVALID_TYPE", "NOT_FOUND") or status == 404:
        return ObjectNotFoundError(
            f"{what}: not found or not readable ({code or status}: {message}). Check the API "
            "name (custom objects end in __c) and that the user's profile can read it.")
    if code == "CANNOT_REPLICATE":
        return DeletedWindowError(f"{what}: {code}: {message} (the object is not replicateable)")
    if code in ("INVALID_REPLICATION_DATE", "EXCEEDED_ID_LIMIT"):
        return DeletedWindowError(f"{what}: {code}: {message} (getDeleted covers only about "
                                  "the last 15 days and 600,000 ids)")
    return SalesforceError(f"{what}: HTTP {status} {code}: {message}".rstrip(": "))


class _Auth:
    """The session shared by every client of one run, renewed at most once per expiry."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.lock = threading.Lock()
        self.session_id = creds.access_token or ""
        self.instance = _auth_flows.host_of(creds.instance_url) if creds.instance_url else ""
        self.can_relogin = creds.flow != "token"
        self._recent: list[float] = []

    def login(self, session: requests.Session) -> None:
        try:
            self.session_id, self.instance = _auth_flows.login(self.creds, session)
        except LhtError:
            raise
        except Exception as exc:  # login helpers raise many kinds
            raise translate(exc, f"Logging in to {redact_url(self.creds.login_url)}",
                            scrub=self.creds.secrets()) from None

    def refresh(self, session: requests.Session, stale: str) -> tuple[str, str]:
        """Log in again unless another client already did; give (session_id, instance)."""
        with self.lock:
            if stale == self.session_id:
                now = time.monotonic()
                self._recent = [t for t in self._recent if now - t < 10] + [now]
                if len(self._recent) > 3:
                    raise AuthenticationError(
                        "Salesforce keeps rejecting freshly issued sessions; check the user's "
                        "session settings and IP restrictions.")
                logger.info("Salesforce session expired; logging in again (%s flow)",
                            self.creds.flow)
                self.login(session)
            return self.session_id, self.instance


class SalesforceClient:
    """A Salesforce connection with its own call counter, sharing auth and budget."""

    def __init__(self, auth: _Auth, settings: Settings, budget: RunBudget) -> None:
        self._auth = auth
        self.settings = settings
        self.budget = budget
        self.stats = ClientStats()
        self.session = make_session(settings, budget, self.stats)
        if not auth.session_id:
            auth.login(self.session)
        # Decimal keeps currency/percent digits exact; plain dicts are enough for records.
        self.sf = Salesforce(session_id=auth.session_id, instance_url=f"https://{auth.instance}",
                             version=API_VERSION, session=self.session, parse_float=Decimal,
                             object_pairs_hook=dict)
        if auth.can_relogin:
            # simple-salesforce's own re-login hook: called on 401 INVALID_SESSION_ID.
            self.sf._salesforce_login_partial = self._relogin  # noqa: SLF001

    def _relogin(self) -> tuple[str, str]:
        return self._auth.refresh(self.session, self.sf.session_id)

    @property
    def can_relogin(self) -> bool:
        """True when the credential flow can log in again (not a bare access token)."""
        return self._auth.can_relogin

    def renew_session(self, stale: str) -> None:
        """Log in again unless another client already replaced the ``stale`` session id
        (for calls outside REST, such as SOAP merge, that carry the session themselves)."""
        self.sf.session_id, self.sf.sf_instance = self._auth.refresh(self.session, stale)
        self.sf._generate_headers()  # noqa: SLF001

    def for_object(self, object_name: str) -> SalesforceClient:
        """A client for one object: same auth and budget, its own call counter."""
        check_object_name(object_name)
        return SalesforceClient(self._auth, self.settings, self.budget)

    @property
    def calls(self) -> int:
        """HTTP attempts this client spent (retries and logins included)."""
        return self.stats.calls

    @property
    def total_calls(self) -> int:
        """HTTP attempts spent by every client of this run."""
        return self.budget.total

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) daily API requests, from the last Sforce-Limit-Info seen."""
        return self.budget.usage

    @property
    def base_url(self) -> str:
        """``https://host/services/data/vNN.N/``."""
        return self.sf.base_url

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate any failure inside the block into lht's typed errors."""
        try:
            yield
        except LhtError:
            raise
        except (SfError, requests.exceptions.RequestException) as exc:
            raise translate(exc, what, can_relogin=self._auth.can_relogin) from None

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run a simple-salesforce call with error translation."""
        with self.errors(what):
            return fn()

    def request(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        """An authenticated call on this client's session (Bulk 2.0 and raw REST).

        simple-salesforce never re-logs in around these; this does, once.
        """
        if url.startswith("/"):
            url = f"https://{self.sf.sf_instance}{url}"
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            used = self.sf.session_id
            base = {"Authorization": f"Bearer {used}", "X-PrettyPrint": "1",
                    "Content-Type": "application/json"}
            try:
                return call_salesforce(url, method, self.session, {**base, **headers}, **kwargs)
            except SfError as exc:
                code, _ = _first_error(exc.content)
                if (exc.status == 401 and attempt == 1 and self._auth.can_relogin
                        and code in ("INVALID_SESSION_ID", "")):
                    # Threads downloading pages share this client: renew once, keyed on
                    # the token that failed.
                    self.sf.session_id, self.sf.sf_instance = self._auth.refresh(self.session, used)
                    self.sf._generate_headers()  # noqa: SLF001
                    continue
                raise translate(exc, what, can_relogin=self._auth.can_relogin) from None
            except requests.exceptions.RequestException as exc:
                raise translate(exc, what) from None
        raise AssertionError("unreachable")

    def describe_global_changed_since(self, since: datetime | None) -> bool:
        """True when any object's metadata changed since ``since`` (or it is unknown)."""
        if since is None:
            return True
        stamp = since.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        try:
            self.sf.describe(headers={"If-Modified-Since": stamp})
        except SfError as exc:
            if _not_modified(exc):
                return False
            raise translate(exc, "describeGlobal", can_relogin=self._auth.can_relogin) from None
        except requests.exceptions.RequestException as exc:
            raise translate(exc, "describeGlobal") from None
        return True

    def describe(self, object_name: str) -> dict:
        """The object's describe; ObjectNotFoundError if unknown or not readable."""
        check_object_name(object_name)
        return self.call(f"Describing {object_name}",
                         lambda: getattr(self.sf, object_name).describe())

    def limits(self) -> dict:
        """The org's limits (``limits/``); also fixes the run's API budget share."""
        result = self.call("Reading org limits", self.sf.limits)
        self.budget.observe_limits(result)
        return result

    def deleted(self, object_name: str, start: datetime, end: datetime) -> dict:
        """getDeleted for [start, end]; DeletedWindowError when start is too old."""
        check_object_name(object_name)
        start, end = (d.astimezone(timezone.utc) if d.tzinfo else d.replace(tzinfo=timezone.utc)
                      for d in (start, end))
        return self.call(f"Listing deleted {object_name} records",
                         lambda: getattr(self.sf, object_name).deleted(start, end))

    def server_now(self) -> datetime:
        """Salesforce's time now, from the Date headers of this run's responses (this host's
        clock until one arrives): every window and overlap is computed in it."""
        return self.budget.server_now()

    def server_time(self) -> datetime | None:
        """Server time from the Date header of this client's last response."""
        return self.stats.last_date


def _not_modified(exc: BaseException) -> bool:
    return isinstance(exc, SalesforceGeneralError) and exc.status == 304


def connect(creds: Credentials, settings: Settings) -> SalesforceClient:
    """Log in with ``creds`` and return the run's first client."""
    budget = RunBudget(settings.api_budget_calls, settings.api_budget_share)
    client = SalesforceClient(_Auth(creds), settings, budget)
    if settings.api_budget_share is not None and budget.usage is None:
        client.limits()
    logger.info("Connected to %s (%s flow)", client.sf.sf_instance, creds.flow)
    return client
