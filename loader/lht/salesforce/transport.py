"""The HTTP transport every Salesforce call goes through.

One ``requests.Session`` per client, mounted with :class:`SalesforceAdapter`, which

* puts a default (connect, read) timeout on every call that has none;
* is THE retry policy of the project (tenacity): connection errors and resets, read
  timeouts and 500/502/503/504 are retried with exponential backoff and jitter,
  honouring ``Retry-After``; permanent errors (4xx) are never retried, nor a 500 that is
  Salesforce's deliberate answer (:func:`is_answer`: a refused SOAP login);
* knows which calls are safe to repeat (:func:`repeatable`). Reads, updates by Id,
  upserts on an external id, deletes, a Bulk upload or close are: sent twice they leave
  Salesforce as sent once. A call that *creates* (an sObject Collections insert, a record
  create, a composite tree, a Bulk ingest job) is not: after a reset, a read timeout or
  a 5xx Salesforce may have applied it, and a second attempt would create it again. Such
  a call is retried only when it never reached Salesforce (the connection could not be
  opened); otherwise its error goes to the caller, whose outcome is unknown (``lht push``
  keeps the keys of an insert pending and looks them up before sending again). A SOAP
  ``merge`` is retried: a repeat of an applied merge fails, it merges nothing twice;
* counts every attempt (a retry is a call spent), per client and for the whole run;
* enforces the run's API budget before each attempt, and turns Salesforce's
  ``REQUEST_LIMIT_EXCEEDED`` into :class:`~lht.errors.ApiLimitError`.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity
import urllib3.exceptions
from defusedxml import ElementTree as SafeET
from requests.adapters import HTTPAdapter

from lht.clock import utcnow
from lht.config import Settings
from lht.errors import ApiLimitError, redact_url

logger = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
TRANSIENT_ERRORS = (
    requests.exceptions.ConnectionError,  # includes ConnectTimeout and resets
    requests.exceptions.Timeout,  # ReadTimeout
    requests.exceptions.ChunkedEncodingError,  # body cut short
)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
#: POST resources that create something each time they are called.
_CREATES = re.compile(
    r"/services/data/v\d+\.\d+/(?:composite/sobjects|composite/tree/[^/]+|sobjects/[^/]+"
    r"|jobs/ingest)/?$"
)


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: not a certificate the client will never trust."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "certificate" not in str(exc).lower()
    return isinstance(exc, TRANSIENT_ERRORS)


def is_answer(response: requests.Response) -> bool:
    """True for a 5xx that is Salesforce's answer, not a failure to retry: a SOAP fault whose
    detail is a ``LoginFault`` (a refused login, ``INVALID_LOGIN``, comes as HTTP 500)."""
    if "xml" not in response.headers.get("Content-Type", "").lower():
        return False
    try:
        root = SafeET.fromstring(response.content)
    except Exception:  # not XML after all: a server failure like any other
        return False
    return any(str(element.tag).rsplit("}", 1)[-1] == "LoginFault" for element in root.iter())


def repeatable(method: str, url: str) -> bool:
    """True when sending the call twice leaves Salesforce as sending it once (see above)."""
    return method.upper() != "POST" or not _CREATES.search(urlsplit(url).path)


def never_sent(exc: BaseException) -> bool:
    """A failure before the request reached Salesforce: the connection could not be opened."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", None)
        return isinstance(
            reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
        )
    return False


class RunBudget:
    """Calls spent by every client of one run, and the API budget they share."""

    def __init__(self, max_calls: int | None = None, share: float | None = None) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.max_calls = max_calls
        self.share = share
        self.share_cap: int | None = None
        self.usage: tuple[int, int] | None = None
        #: Salesforce's clock minus this host's, from the responses' Date headers.
        self.clock_offset: timedelta | None = None
        #: Why Salesforce refused a Bulk query job for the org's daily allowance this run (the
        #: other objects then read by REST without asking again), or None.
        self.bulk_refused: str | None = None

    def remaining(self) -> int | None:
        """Calls this run may still spend (``LHT_API_BUDGET``, ``LHT_API_BUDGET_SHARE``), or
        None when neither caps it."""
        with self._lock:
            caps = [c - self.total for c in (self.max_calls, self.share_cap) if c is not None]
        return max(min(caps), 0) if caps else None

    def before_call(self) -> None:
        """Count one attempt, or raise ApiLimitError when the budget is spent."""
        with self._lock:
            if self.max_calls is not None and self.total >= self.max_calls:
                raise ApiLimitError(
                    f"API budget reached: this run has spent {self.total} Salesforce API calls "
                    f"(LHT_API_BUDGET={self.max_calls}). Raise LHT_API_BUDGET or sync fewer objects."
                )
            if self.share_cap is not None and self.total >= self.share_cap:
                raise ApiLimitError(
                    f"API budget reached: this run has spent {self.total} Salesforce API calls, "
                    f"its share ({self.share:g}) of the org's remaining daily API requests. "
                    "Raise LHT_API_BUDGET_SHARE or sync later."
                )
            self.total += 1

    def observe_date(self, server: datetime) -> None:
        """Record Salesforce's clock (a response's ``Date``) against this host's.

        ``Date`` is whole seconds, so each sample is up to a second behind the server; the
        largest of the run's samples is the closest.
        """
        offset = server - utcnow()
        with self._lock:
            if self.clock_offset is None or offset > self.clock_offset:
                self.clock_offset = offset

    def server_now(self) -> datetime:
        """The time in Salesforce now (this host's clock plus the observed offset), aware UTC."""
        return utcnow() + (self.clock_offset or timedelta(0))

    def observe_usage(self, used: int, maximum: int) -> None:
        """Record the org's usage; the first sighting fixes the share cap for the run."""
        with self._lock:
            self.usage = (used, maximum)
            if self.share is not None and self.share_cap is None:
                remaining = max(maximum - used, 0)
                self.share_cap = self.total + math.floor(self.share * remaining)
                logger.info(
                    "API budget: %d calls (%g of %d remaining daily requests)",
                    self.share_cap - self.total,
                    self.share,
                    remaining,
                )

    def observe_limits(self, limits: dict[str, Any]) -> None:
        """Record usage from a ``limits/`` answer (DailyApiRequests)."""
        daily = limits.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self.observe_usage(int(daily["Max"]) - int(daily["Remaining"]), int(daily["Max"]))


class ClientStats:
    """Calls spent by one client and the server time of its last response."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.last_date: datetime | None = None

    def count(self) -> None:
        with self._lock:
            self.calls += 1


def _retry_after(response: requests.Response | None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or HTTP date)."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when - utcnow()).total_seconds(), 0.0)


def _describe_target(request: requests.PreparedRequest) -> str:
    """Method and path of a request, for logs (no query string: it may be long)."""
    parts = urlsplit(request.url or "")
    return f"{request.method} {redact_url(f'{parts.scheme}://{parts.netloc}{parts.path}')}"


def _last_outcome(state: tenacity.RetryCallState) -> Any:
    """When the retries are spent: the last attempt's answer (or its exception, raised)."""
    assert state.outcome is not None  # tenacity calls this after an attempt
    return state.outcome.result()


class SalesforceAdapter(HTTPAdapter):
    """HTTPAdapter with timeouts, the retry policy, call counting and the API budget."""

    def __init__(self, settings: Settings, budget: RunBudget, stats: ClientStats) -> None:
        super().__init__(pool_connections=4, pool_maxsize=max(4, settings.download_workers + 2))
        self.default_timeout = settings.http_timeout
        self.attempts = settings.max_retries + 1
        self.budget = budget
        self.stats = stats
        self._backoff = tenacity.wait_exponential_jitter(
            multiplier=settings.retry_backoff_seconds,
            max=settings.retry_backoff_max_seconds,
            jitter=settings.retry_backoff_seconds,
        )
        self._backoff_max = settings.retry_backoff_max_seconds

    # -- the policy ---------------------------------------------------------------
    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            asked = _retry_after(outcome.result())
            if asked is not None:
                return min(asked, max(self._backoff_max, 1.0))
        return float(self._backoff(state))

    @staticmethod
    def _log_retry(state: tenacity.RetryCallState) -> None:
        request = state.args[0]
        outcome = state.outcome
        if outcome is None:
            return
        why = (
            type(outcome.exception()).__name__
            if outcome.failed
            else f"HTTP {outcome.result().status_code}"
        )
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s failed (%s), attempt %d; retrying in %.1fs",
            _describe_target(request),
            why,
            state.attempt_number,
            wait,
        )

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send with the default timeout, retrying transient failures."""
        if timeout is None:
            timeout = self.default_timeout
        retry: tenacity.retry_base
        if repeatable(request.method or "GET", request.url or ""):
            retry = tenacity.retry_if_exception(is_transient) | tenacity.retry_if_result(
                lambda r: r.status_code in TRANSIENT_STATUS and not is_answer(r)
            )
        else:
            retry = tenacity.retry_if_exception(lambda exc: is_transient(exc) and never_sent(exc))
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry,
            before_sleep=self._log_retry,
            retry_error_callback=_last_outcome,
        )
        return retrying(self._attempt, request, stream, timeout, verify, cert, proxies)

    def _attempt(
        self,
        request: requests.PreparedRequest,
        stream: bool,
        timeout: Any,
        verify: Any,
        cert: Any,
        proxies: Any,
    ) -> requests.Response:
        self.budget.before_call()
        self.stats.count()
        seek = getattr(request.body, "seek", None)
        if seek is not None:
            seek(0)  # a file body (a Bulk upload) is sent whole on every attempt
        response = super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )
        try:
            if not stream or response.status_code >= 300:
                # Read the body here so that a connection dropped mid-body is retried too.
                _ = response.content
        except Exception:
            response.close()
            raise
        self._observe(response)
        return response

    def _observe(self, response: requests.Response) -> None:
        date = response.headers.get("Date")
        if date:
            try:
                self.stats.last_date = email.utils.parsedate_to_datetime(date)
                self.budget.observe_date(self.stats.last_date)
            except (TypeError, ValueError):
                pass
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.budget.observe_usage(int(match.group(1)), int(match.group(2)))
        if response.status_code == 403 and b"REQUEST_LIMIT_EXCEEDED" in response.content:
            usage = (
                f" ({self.budget.usage[0]} of {self.budget.usage[1]} used)"
                if self.budget.usage
                else ""
            )
            raise ApiLimitError(
                "Salesforce refused the call: the org's daily API request limit is exceeded"
                f"{usage} (REQUEST_LIMIT_EXCEEDED). This run spent {self.budget.total} calls. "
                "Wait for the 24-hour window to free up or ask for a higher limit."
            )


def make_session(settings: Settings, budget: RunBudget, stats: ClientStats) -> requests.Session:
    """A requests.Session whose every call goes through :class:`SalesforceAdapter`."""
    session = requests.Session()
    adapter = SalesforceAdapter(settings, budget, stats)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
