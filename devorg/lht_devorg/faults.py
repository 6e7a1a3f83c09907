"""Fault injection: make the next N matching calls misbehave the way Salesforce can.

Kinds (``Fault.kind``):

- HTTP faults, decided before a request is handled: ``unavailable`` (503
  SERVER_UNAVAILABLE), ``reset`` (the TCP connection is reset), ``stall`` (sleep
  ``seconds`` then answer normally), ``expired_session`` (401 INVALID_SESSION_ID),
  ``limit_exceeded`` (403 REQUEST_LIMIT_EXCEEDED).
- Bulk faults, applied to the next matching Bulk 2.0 query job created:
  ``bulk_failed`` (the job ends Failed with ``message`` as errorMessage) and
  ``bulk_stuck`` (the job never leaves InProgress).
- ``refuse``: the resource answers HTTP ``status`` (``params``; 404, 405, 501...) as an
  org without it, or a proxy that blocks it, would (e.g. the Composite resource), with
  ``error_code`` (``params``) as the error's code when given. Nothing is processed. With
  ``skip`` it fails the Nth matching call (e.g. a Bulk upload's ``PUT`` answered 400 or 500).
- ``drop_response``: the call is processed (the write applied), then the TCP connection is
  reset instead of answering: the client cannot know what happened.
- ``truncate_results``: the next matching results page is cut in half while the
  ``Sforce-NumberOfRecords`` header still claims the full page.
- ``unable_to_lock_row``: the next ``times`` record writes of matching calls (an sObject
  Collections call, a Bulk ingest job's upload ``PUT .../jobs/ingest/ID/batches``) fail
  with UNABLE_TO_LOCK_ROW, Salesforce's transient row-lock error; the other rows succeed.
- ``merge_failed``: the next matching SOAP merge request fails with MERGE_FAILED and
  ``message`` (what Salesforce answers for merges it cannot do, e.g. two accounts sharing a
  related contact); ``path`` matches any of the request's Ids (15 or 18 characters).
- Schema and data changes, run just before a matching call is handled (e.g. between
  a describe and the query that follows it): ``add_field`` (``params = {"object",
  "field": describe field dict}``), ``remove_field`` (``{"object", "field": name}``),
  ``change_formula`` (``{"object", "field", "ids"?}``).

A fault matches a call when ``path`` (if set) is a substring of the request path and
``method`` (if set) equals the HTTP method. The first ``skip`` matching calls (0 unless
given) pass untouched; then the fault fires at most ``times`` times; ``fired`` counts how
often it did.

The injector also keeps a log of the request lines the org received (method and path
with query string, never headers or bodies), so tests can check what travelled in URLs.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

HTTP_KINDS = frozenset({"unavailable", "reset", "stall", "expired_session", "limit_exceeded"})
BULK_KINDS = frozenset({"bulk_failed", "bulk_stuck"})
RESULT_KINDS = frozenset({"truncate_results"})
ROUTE_KINDS = frozenset({"refuse"})
ACTION_KINDS = frozenset({"add_field", "remove_field", "change_formula"})
ROW_KINDS = frozenset({"unable_to_lock_row"})
AFTER_KINDS = frozenset({"drop_response"})
MERGE_KINDS = frozenset({"merge_failed"})
KINDS = (
    HTTP_KINDS
    | BULK_KINDS
    | RESULT_KINDS
    | ACTION_KINDS
    | ROUTE_KINDS
    | ROW_KINDS
    | MERGE_KINDS
    | AFTER_KINDS
)
#: How many request lines the request log keeps (oldest dropped first).
REQUEST_LOG_SIZE = 100_000


class FaultSpecError(ValueError):
    """A fault was described wrongly (unknown kind, bad count, missing parameter)."""


@dataclass
class Fault:
    """One armed fault and how often it fired."""

    kind: str
    path: str | None = None
    method: str | None = None
    times: int = 1
    skip: int = 0
    seconds: float = 0.0
    message: str = "Simulated failure injected by the local org"
    params: dict[str, Any] = field(default_factory=dict)
    id: int = 0
    fired: int = 0
    skipped: int = 0

    def matches(self, method: str, path: str) -> bool:
        """True if this fault applies to ``method path`` and has firings left."""
        if self.fired >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or self.path in path

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, with ``fired`` and ``remaining``."""
        out = asdict(self)
        out["remaining"] = max(0, self.times - self.fired)
        return out


class FaultInjector:
    """The armed faults of one org. Thread-safe; shared by the server and tests."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._requests: deque[tuple[str, str]] = deque(maxlen=REQUEST_LOG_SIZE)

    def add(
        self,
        kind: str,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        skip: int = 0,
        seconds: float = 0.0,
        message: str | None = None,
        **params: Any,
    ) -> Fault:
        """Arm a fault; see the module docstring for kinds and parameters."""
        if kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind {kind!r}; use one of {sorted(KINDS)}")
        if int(times) < 1:
            raise FaultSpecError("times must be at least 1")
        if int(skip) < 0:
            raise FaultSpecError("skip must be 0 or more")
        if kind in ACTION_KINDS and not {"object", "field"} <= params.keys():
            raise FaultSpecError(f"fault {kind!r} needs 'object' and 'field' parameters")
        if kind in ROUTE_KINDS and not (
            isinstance(params.get("status"), int) and 400 <= params["status"] < 600
        ):
            raise FaultSpecError(f"fault {kind!r} needs a 'status' parameter between 400 and 599")
        fault = Fault(
            kind=kind,
            path=path,
            method=method,
            times=int(times),
            skip=int(skip),
            seconds=float(seconds),
            params=dict(params),
        )
        if message:
            fault.message = message
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def add_from_json(self, spec: dict[str, Any]) -> Fault:
        """Arm a fault from an admin-endpoint JSON body (same keys as :meth:`add`)."""
        spec = dict(spec)
        kind = spec.pop("kind", None)
        params = spec.pop("params", {}) or {}
        known = {
            k: spec.pop(k)
            for k in ("path", "method", "times", "skip", "seconds", "message")
            if k in spec
        }
        if not isinstance(kind, str):
            raise FaultSpecError("the fault needs a 'kind'")
        return self.add(kind, **known, **params, **spec)

    def take(self, kinds: frozenset[str], method: str, path: str) -> Fault | None:
        """Fire and return the first armed fault of ``kinds`` matching this call, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    if fault.skipped < fault.skip:
                        fault.skipped += 1
                        continue
                    fault.fired += 1
                    return fault
        return None

    def armed(self, kinds: frozenset[str], method: str, path: str) -> bool:
        """True if a fault of ``kinds`` could still fire on this call (nothing fires)."""
        with self._lock:
            return any(f.kind in kinds and f.matches(method, path) for f in self._faults)

    def fired(self, kind: str | None = None) -> int:
        """How many faults (of ``kind``, or of any kind) fired so far."""
        with self._lock:
            return sum(f.fired for f in self._faults if kind is None or f.kind == kind)

    def report(self) -> list[dict[str, Any]]:
        """Every fault armed so far, with its counts."""
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def log_request(self, method: str, path: str) -> None:
        """Remember one request line (``path`` as sent, query string included)."""
        with self._lock:
            self._requests.append((method, path))

    def requests(self) -> list[tuple[str, str]]:
        """The request lines received so far, oldest first: ``(method, path)``."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Disarm and forget every fault."""
        with self._lock:
            self._faults.clear()
