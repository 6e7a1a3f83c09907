"""The Salesforce client: log in with the configured flow, call the REST API, map errors.

Logins use simple-salesforce's own login code (:mod:`lht.salesforce.auth`). Every call,
REST through simple-salesforce's public API or raw (Bulk 2.0, Composite, SOAP), goes
through :meth:`SalesforceClient.with_session`: a session that expires mid-run is renewed
there, once, for every flow that can log in again. simple-salesforce's ``Salesforce``
object (whose package import loads its SOAP, Bulk and Metadata clients) is built at the
first call that needs it; raw calls use its ``call_salesforce`` only
(:mod:`lht.salesforce.sfparts`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import requests

from lht.clock import as_utc
from lht.config import Credentials, Settings
from lht.constants import API_VERSION
from lht.errors import (
    ApiLimitError,
    AuthenticationError,
    BulkQuotaError,
    BulkUnsupportedError,
    DeletedWindowError,
    FieldsChangedError,
    LhtError,
    LoginRefusedError,
    ObjectNotFoundError,
    SalesforceError,
    redact_url,
)
from lht.names import check_object_name
from lht.salesforce import auth as _auth_flows
from lht.salesforce.sfparts import SalesforceExpiredSession, SfError, call_salesforce
from lht.salesforce.transport import ClientStats, RunBudget, make_session

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

__all__ = ["DeletedWindowError", "SalesforceClient", "SessionExpired", "connect", "translate"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

_NO_SUCH_COLUMN = re.compile(r"No such column '([^']+)' on entity '([^']+)'")
#: Error codes of a Bulk job refused for the org's daily allowance, without underscores, in
#: capitals: Bulk API 2.0's documented ``ExceededQuota``, and ``LIMIT_EXCEEDED``.
_BULK_QUOTA_CODES = frozenset({"EXCEEDEDQUOTA", "LIMITEXCEEDED"})


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) from a Salesforce error body (JSON array or text)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", content.get("error", ""))), str(
            content.get("message", content.get("error_description", ""))
        )
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", str(content or "")[:500]


def translate(
    exc: BaseException, what: str, *, can_relogin: bool = True, scrub: tuple[str, ...] = ()
) -> LhtError:
    """Map a simple-salesforce or requests exception to lht's typed errors."""
    if isinstance(exc, LhtError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        return SalesforceError(
            f"{what}: TLS verification failed ({exc.__class__.__name__}). If the server uses a "
            "private CA, set REQUESTS_CA_BUNDLE to its PEM bundle."
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        url = getattr(exc.request, "url", None) or "the Salesforce host"
        host = redact_url(re.sub(r"(https?://[^/]+).*", r"\1", url))
        return SalesforceError(
            f"{what}: could not reach {host} ({exc.__class__.__name__}) after retrying. Check "
            "SF_INSTANCE_URL / SF_LOGIN_URL, the network and any proxy settings."
        )
    if not isinstance(exc, SfError):
        return SalesforceError(f"{what}: {exc.__class__.__name__}: {exc}")
    error = _translate_sf(exc, what, can_relogin=can_relogin, scrub=scrub)
    if isinstance(error, SalesforceError):
        error.http_status = exc.status
    return error


def _translate_sf(
    exc: SfError, what: str, *, can_relogin: bool, scrub: tuple[str, ...]
) -> LhtError:
    code, message = _first_error(exc.content)
    for secret in scrub:
        message = message.replace(secret, "***")
    status = exc.status
    if code == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitError(f"{what}: the org's API request limit is exceeded ({message}).")
    if code.replace("_", "").upper() in _BULK_QUOTA_CODES:
        return BulkQuotaError(
            f"{what}: Salesforce refused it for the org's daily Bulk allowance ({code}: {message})"
        )
    if status == 401 or code == "INVALID_SESSION_ID":
        return session_rejected(what, f"{code or status}: {message}", can_relogin=can_relogin)
    if code == "INVALID_FIELD":
        found = _NO_SUCH_COLUMN.search(message)
        return FieldsChangedError(
            f"{what}: a queried field no longer exists ({message.splitlines()[-1] if message else code}); "
            "re-describe the object and retry.",
            field=found.group(1) if found else None,
            object_name=found.group(2) if found else None,
        )
    if (
        code == "INVALIDENTITY"
        or "not supported by the Bulk API" in message
        or ("not supported in Bulk Query" in message)
    ):
        return BulkUnsupportedError(f"{what}: Bulk API 2.0 cannot read this ({code}: {message})")
    if code in ("INVALID_TYPE", "NOT_FOUND") or status == 404:
        return ObjectNotFoundError(
            f"{what}: not found or not readable ({code or status}: {message}). Check the API "
            "name (custom objects end in __c) and that the user's profile can read it."
        )
    if code == "CANNOT_REPLICATE":
        return DeletedWindowError(f"{what}: {code}: {message} (the object is not replicateable)")
    if code in ("INVALID_REPLICATION_DATE", "EXCEEDED_ID_LIMIT"):
        return DeletedWindowError(
            f"{what}: {code}: {message} (getDeleted covers only about "
            "the last 15 days and 600,000 ids)"
        )
    return SalesforceError(f"{what}: HTTP {status} {code}: {message}".rstrip(": "))


def session_rejected(what: str, detail: str, *, can_relogin: bool) -> AuthenticationError:
    """The error of a session Salesforce rejects: a bare access token cannot be renewed; a
    flow that logs in did, and the new session was rejected too."""
    if not can_relogin:
        return AuthenticationError(
            f"{what}: the access token was rejected ({detail}); it has expired or was revoked. "
            "Get a new one (e.g. `sf org display`) and set SF_ACCESS_TOKEN, or use a flow that "
            "can log in again (SF_AUTH_URL, `lht login`, SF_REFRESH_TOKEN, jwt or client_credentials)."
        )
    return AuthenticationError(
        f"{what}: Salesforce rejected the session even after logging in again ({detail})."
    )


class _Auth:
    """The session shared by every client of one run, renewed at most once per expiry.

    A login Salesforce refuses (wrong credentials, an unknown or unapproved connected app) is
    made once per run: the refusal is remembered and raised again instead of logging in
    again, since Salesforce locks a user out after a few failed logins. The first SOAP
    ``login()`` of a run logs the Summer '27 retirement warning; logging in again does not.
    """

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.lock = threading.Lock()
        self.session_id = creds.access_token or ""
        self.instance = _auth_flows.host_of(creds.instance_url) if creds.instance_url else ""
        self.can_relogin = creds.flow != "token"
        self._recent: list[float] = []
        self._refused: AuthenticationError | None = None
        self._warned = False

    def login(self, session: requests.Session) -> None:
        if self._refused is not None:
            raise self._refused
        try:
            self.session_id, self.instance = _auth_flows.login(self.creds, session)
            if _auth_flows.uses_soap_login(self.creds) and not self._warned:
                self._warned = True
                logger.warning("%s", _auth_flows.SOAP_LOGIN_RETIRING)
        except LoginRefusedError as exc:
            self._refused = exc
            raise
        except LhtError:
            raise
        except Exception as exc:  # login helpers raise many kinds
            raise translate(
                exc, f"Logging in to {redact_url(self.creds.login_url)}", scrub=self.creds.secrets()
            ) from None

    def refresh(self, session: requests.Session, stale: str) -> tuple[str, str]:
        """Log in again unless another client already did; give (session_id, instance)."""
        with self.lock:
            if stale == self.session_id:
                now = time.monotonic()
                self._recent = [t for t in self._recent if now - t < 10] + [now]
                if len(self._recent) > 3:
                    raise AuthenticationError(
                        "Salesforce keeps rejecting freshly issued sessions; check the user's "
                        "session settings and IP restrictions."
                    )
                logger.info(
                    "Salesforce session expired; logging in again (%s flow)", self.creds.flow
                )
                self.login(session)
            return self.session_id, self.instance


class _Session(NamedTuple):
    """What a raw call needs of the session: its id and ``host[:port]`` (as
    simple-salesforce's ``Salesforce`` names them)."""

    session_id: str
    sf_instance: str


class SessionExpired(Exception):
    """Raised inside :meth:`SalesforceClient.with_session` by a call that carries the
    session itself (SOAP) when Salesforce answers that the session is invalid."""


class SalesforceClient:
    """A Salesforce connection with its own call counter, sharing auth and budget.

    The one way lht talks to Salesforce: every call goes through this client's HTTP session
    (the transport's retry policy, counting and budget) and through :meth:`with_session`,
    which logs in again once when Salesforce says the session expired. simple-salesforce's
    :class:`~simple_salesforce.Salesforce` is used through its public API only, built on a
    session id (``session_id=``, ``instance_url=``) and built again when the session is
    renewed; it is never asked to log in or re-login itself.
    """

    def __init__(self, auth: _Auth, settings: Settings, budget: RunBudget) -> None:
        self._auth = auth
        self.settings = settings
        self.budget = budget
        self.stats = ClientStats()
        self.session = make_session(settings, budget, self.stats)
        #: Headers added to every REST query call, e.g. ``Sforce-Query-Options: batchSize=200``.
        self.query_headers: dict[str, str] = {}
        if not auth.session_id:
            auth.login(self.session)
        self._current = _Session(auth.session_id, auth.instance)
        self._built: Salesforce | None = None

    @property
    def _api(self) -> Salesforce:
        """simple-salesforce's API object on the current session, built when first used."""
        built, current = self._built, self._current
        if built is None or (built.session_id, built.sf_instance) != current:
            from simple_salesforce import Salesforce

            # Decimal keeps currency/percent digits exact; plain dicts are enough for records.
            built = Salesforce(
                session_id=current.session_id,
                instance_url=f"https://{current.sf_instance}",
                version=API_VERSION,
                session=self.session,
                parse_float=Decimal,
                object_pairs_hook=dict,
            )
            self._built = built
        return built

    @property
    def can_relogin(self) -> bool:
        """True when the credential flow can log in again (not a bare access token)."""
        return self._auth.can_relogin

    @property
    def session_id(self) -> str:
        """The session id this client's calls carry."""
        return self._current.session_id

    @property
    def instance(self) -> str:
        """``host[:port]`` of the org's instance."""
        return self._current.sf_instance

    @property
    def base_url(self) -> str:
        """``https://host/services/data/vNN.N/`` (as simple-salesforce builds it)."""
        return f"https://{self._current.sf_instance}/services/data/v{API_VERSION}/"

    def renew_session(self, stale: str) -> None:
        """Log in again unless another client already replaced the ``stale`` session id."""
        session_id, instance = self._auth.refresh(self.session, stale)
        self._current = _Session(session_id, instance)

    def for_object(self, object_name: str) -> SalesforceClient:
        """A client for one object: same auth and budget, its own call counter."""
        check_object_name(object_name)
        client = SalesforceClient(self._auth, self.settings, self.budget)
        client.query_headers = dict(self.query_headers)
        return client

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

    # -- the one call path ------------------------------------------------------------------
    def with_session(self, what: str, call: Callable[[Any], T], *, raw: bool = False) -> T:
        """Run ``call`` with the current simple-salesforce API object (``raw``: with only
        the session's ``session_id`` and ``sf_instance``); when Salesforce says the session
        expired (401 ``INVALID_SESSION_ID``, or :class:`SessionExpired` from a call carrying
        the session itself), log in again once and run it again. Failures become lht's
        typed errors, saying ``what`` was attempted."""
        for attempt in (1, 2):
            api = self._current if raw else self._api
            try:
                return call(api)
            except LhtError:
                raise
            except (SessionExpired, SalesforceExpiredSession) as exc:
                code = "" if isinstance(exc, SessionExpired) else _first_error(exc.content)[0]
                if attempt == 1 and self._auth.can_relogin and code in ("INVALID_SESSION_ID", ""):
                    # Threads downloading pages share this client: renew once, keyed on the
                    # session that failed.
                    self.renew_session(api.session_id)
                    continue
                if isinstance(exc, SessionExpired):
                    raise session_rejected(
                        what, f"INVALID_SESSION_ID: {exc}", can_relogin=self._auth.can_relogin
                    ) from None
                raise translate(exc, what, can_relogin=self._auth.can_relogin) from None
            except (SfError, requests.exceptions.RequestException) as exc:
                raise translate(exc, what, can_relogin=self._auth.can_relogin) from None
        raise AssertionError("unreachable")

    def request(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        """An authenticated call on this client's session (Bulk 2.0, Composite, raw REST);
        ``url`` may be a path on the instance (``/services/...``)."""
        headers = dict(kwargs.pop("headers", None) or {})

        def call(api: _Session) -> requests.Response:
            full = f"https://{api.sf_instance}{url}" if url.startswith("/") else url
            base = {
                "Authorization": f"Bearer {api.session_id}",
                "X-PrettyPrint": "1",
                "Content-Type": "application/json",
            }
            return call_salesforce(full, method, self.session, {**base, **headers}, **kwargs)

        return self.with_session(what, call, raw=True)

    # -- REST ---------------------------------------------------------------------------------
    def query(self, soql: str, *, include_deleted: bool = False, what: str = "Querying") -> dict:
        """The first page of a REST ``query`` (``queryAll`` with ``include_deleted``)."""
        return self.with_session(
            what,
            lambda api: api.query(
                soql, include_deleted=include_deleted, headers=self.query_headers
            ),
        )

    def query_more(self, next_records_url: str, *, what: str = "Querying (next page)") -> dict:
        """The page at ``nextRecordsUrl`` of a REST query."""
        return self.with_session(
            what,
            lambda api: api.query_more(
                next_records_url, identifier_is_url=True, headers=self.query_headers
            ),
        )

    def query_all(
        self, soql: str, *, include_deleted: bool = False, what: str = "Querying"
    ) -> dict:
        """Every page of a small REST query, as one answer (``records`` of all pages)."""
        first = self.query(soql, include_deleted=include_deleted, what=what)
        records = list(first.get("records") or [])
        page = first
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self.query_more(page["nextRecordsUrl"], what=f"{what} (next page)")
            records += page.get("records") or []
        return {**first, "records": records, "done": True}

    def describe_global_changed_since(self, since: datetime | None) -> bool:
        """True when any object's metadata changed since ``since`` (or it is unknown)."""
        if since is None:
            return True
        stamp = as_utc(since).strftime("%a, %d %b %Y %H:%M:%S GMT")
        try:
            self.request(
                "GET",
                f"{self.base_url}sobjects",
                what="describeGlobal",
                headers={"If-Modified-Since": stamp},
            )
        except SalesforceError as exc:
            if exc.http_status == 304:
                return False
            raise
        return True

    def describe(self, object_name: str) -> dict:
        """The object's describe; ObjectNotFoundError if unknown or not readable."""
        check_object_name(object_name)
        return self.with_session(
            f"Describing {object_name}", lambda api: getattr(api, object_name).describe()
        )

    def limits(self) -> dict:
        """The org's limits (``limits/``); also fixes the run's API budget share."""
        result = self.with_session("Reading org limits", lambda api: api.limits())
        self.budget.observe_limits(result)
        return result

    def deleted(self, object_name: str, start: datetime, end: datetime) -> dict:
        """getDeleted for [start, end]; DeletedWindowError when start is too old."""
        check_object_name(object_name)
        return self.with_session(
            f"Listing deleted {object_name} records",
            lambda api: getattr(api, object_name).deleted(as_utc(start), as_utc(end)),
        )

    def server_now(self) -> datetime:
        """Salesforce's time now, from the Date headers of this run's responses (this host's
        clock until one arrives): every window and overlap is computed in it."""
        return self.budget.server_now()

    def server_time(self) -> datetime | None:
        """Server time from the Date header of this client's last response."""
        return self.stats.last_date


def connect(creds: Credentials, settings: Settings) -> SalesforceClient:
    """Log in with ``creds`` and return the run's first client."""
    budget = RunBudget(settings.api_budget_calls, settings.api_budget_share)
    client = SalesforceClient(_Auth(creds), settings, budget)
    if settings.api_budget_share is not None and budget.usage is None:
        client.limits()
    logger.info("Connected to %s (%s flow)", client.instance, creds.flow)
    return client
