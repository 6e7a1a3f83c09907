"""The local org's request handling: authentication gate, limits, faults; then the
:class:`~.router.Router` for the API's own paths.

``OrgApp.handle`` answers one request (``Incoming -> Outgoing``); the HTTPS transport
(HTTP/1.1 framing, TLS, keep-alive) is uvicorn's, in :mod:`.asgi`, which this
module re-exports (``OrgHTTPServer``, ``serve_in_thread``) for callers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..bulk.query import BulkJobs
from ..bulk1.jobs import Bulk1Jobs
from ..errors import OrgError, not_found
from ..faults import ACTION_KINDS, AFTER_KINDS, HTTP_KINDS, FaultInjector
from ..ingest.jobs import IngestJobs
from .admin import Admin
from .asgi import Incoming, OrgHTTPServer, Outgoing, serve_in_thread
from .asyncapi import AsyncApi
from .auth import Authenticator, TokenStore
from .composite import Composite
from .identity import Identity
from .ingestapi import IngestApi
from .limits import ApiLimits
from .rest import JSON, Call, Reply, RestApi, version_supported, versions_body
from .router import Router
from .soapmerge import SoapMerge, operation, soap_session_fault

__all__ = ["OrgApp", "OrgHTTPServer", "Router", "serve_in_thread"]

log = logging.getLogger(__name__)

SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
LIMIT_EXCEEDED = [
    {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]
#: simple-salesforce builds login URLs as https://{domain}.salesforce.com/...; with
#: domain="127.0.0.1:PORT/login" that is https://127.0.0.1:PORT/login.salesforce.com/...
_DOMAIN_PREFIX = re.compile(r"^/[A-Za-z0-9_.-]+\.salesforce\.com(?=/services/)")
#: ``https://host//services/data`` (an instance URL saved with a trailing slash) is served
#: as ``/services/data``, as Salesforce's front end does.
_SLASHES = re.compile(r"/{2,}")
_DATA = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
#: Bulk API 1.0: ``/services/async/NN.N/job...``
_ASYNC = re.compile(r"^/services/async/(\d+\.\d+)/(.*)$")
#: Salesforce refuses request URIs longer than 16,384 bytes (a long SOQL in ``?q=``).
MAX_URI_LENGTH = 16_384


class _Reset(Exception):
    """Abort the request by resetting the TCP connection."""


class OrgApp:
    """Everything one request needs: auth, limits, faults, the REST router, admin."""

    def __init__(
        self,
        engine: Any,
        auth: Authenticator,
        tokens: TokenStore,
        limits: ApiLimits,
        faults: FaultInjector,
        bulk: BulkJobs,
        admin_token: str,
        ingest: IngestJobs | None = None,
        bulk1: Bulk1Jobs | None = None,
    ) -> None:
        self.engine, self.auth, self.tokens = engine, auth, tokens
        self.limits, self.faults = limits, faults
        self.rest = RestApi(engine, limits)
        self.ingest = ingest or IngestJobs(engine, bulk.job_seconds, faults=faults, limits=limits)
        self.router = Router(
            self.rest, Composite(engine, faults), bulk, faults, IngestApi(self.ingest)
        )
        self.admin = Admin(self, admin_token)
        self.identity = Identity(auth, tokens)
        self.rest.identity_url = self.identity.identity_url()
        self.soap_merge = SoapMerge(engine, tokens, limits, faults)
        self.bulk1 = bulk1 or Bulk1Jobs(engine, bulk.job_seconds, limits=limits)
        self.async_api = AsyncApi(self.bulk1, tokens, limits)

    def handle(self, req: Incoming) -> Outgoing:
        """Answer one request (an unexpected error is a 500 UNKNOWN_EXCEPTION, as Salesforce's)."""
        try:
            answer = self._handle(req)
            # the Date header in the org's own time (its engine clock), as Salesforce's own
            stamp = self.engine.now().replace(tzinfo=dt.timezone.utc).timestamp()
            answer.headers.append(("Date", email.utils.formatdate(stamp, usegmt=True)))
            return answer
        except _Reset:
            return Outgoing(0, reset=True)
        except Exception:  # noqa: BLE001 - answer 500 like Salesforce, keep serving
            log.exception("internal error answering %s %s", req.method, req.target)
            answer = _send(
                Reply(
                    500,
                    [
                        {
                            "message": "An unexpected error occurred.",
                            "errorCode": "UNKNOWN_EXCEPTION",
                        }
                    ],
                )
            )
            answer.headers.append(("Connection", "close"))
            return answer

    def _handle(self, req: Incoming) -> Outgoing:
        self.faults.log_request(req.method, req.target)
        raw_path, sep, query = req.target.partition("?")
        url = urlsplit(_SLASHES.sub("/", raw_path) + sep + query)
        path = _DOMAIN_PREFIX.sub("", url.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        body, method = req.body, req.method
        if method == "HEAD":  # answered as GET; the transport sends no body
            method = "GET"
        if len(req.target) > MAX_URI_LENGTH:
            return _send(
                Reply(
                    414,
                    [
                        {
                            "message": f"URI length exceeds {MAX_URI_LENGTH} bytes",
                            "errorCode": "URI_TOO_LONG",
                        }
                    ],
                )
            )
        if req.body_over_limit is not None:  # unread; the connection closes after the answer
            answer = _send(
                Reply(
                    413,
                    [
                        {
                            "message": f"The request body exceeds the limit of "
                            f"{req.body_over_limit:,} bytes",
                            "errorCode": "EXCEEDED_MAX_SIZE_REQUEST",
                        }
                    ],
                )
            )
            answer.headers.append(("Connection", "close"))
            return answer
        if path.startswith("/__devorg/"):
            status, payload = self.admin.handle(method, path, req.headers, body)
            return _send(Reply(status, payload))
        if method == "POST" and path.rstrip("/") == "/services/oauth2/token":
            granted = self.auth.oauth_token(body, req.headers.get("Authorization"))
            return _send(Reply(granted.status, granted.body, granted.content_type))
        if method == "GET" and path.rstrip("/") == "/services/oauth2/authorize":
            went = self.auth.authorize(params)
            if went.status == 302:
                return _send(
                    Reply(302, b"", "text/html;charset=UTF-8", {"Location": went.location})
                )
            return _send(Reply(went.status, went.page.encode(), "text/html;charset=UTF-8"))
        if method in ("GET", "POST") and path.rstrip("/") == "/services/oauth2/revoke":
            revoked = self.auth.revoke(body if method == "POST" else b"", params)
            return _send(Reply(revoked.status, revoked.body, revoked.content_type))
        soap = re.fullmatch(r"/services/Soap/u/(\d+\.\d+)(?:/.*)?", path)
        if method == "POST" and soap and operation(body) == "merge":
            return self._soap(req, Call(method, path, soap.group(1), params, req.headers, body))
        if method == "POST" and soap:
            login = self.auth.soap_login(body, soap.group(1))
            return _send(Reply(login.status, login.body, login.content_type))
        identity = self.identity.answer(method, path, params, req.headers)
        if identity is not None:
            return _send(identity)
        if path.rstrip("/") == "/services/data":
            return _send(Reply(200, versions_body()))
        bulk1 = _ASYNC.match(path)
        if bulk1:
            call = Call(
                method, bulk1.group(2).strip("/"), bulk1.group(1), params, req.headers, body
            )
            return _send(self.async_api.handle(call), self.limits)
        data = _DATA.match(path)
        if not data:
            return _send(Reply(404, not_found().body()))
        return self._api(
            req,
            Call(
                method, (data.group(2) or "").strip("/"), data.group(1), params, req.headers, body
            ),
        )

    def _api(self, req: Incoming, call: Call) -> Outgoing:
        authz = req.headers.get("Authorization") or ""
        scheme, _, token = authz.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.tokens.valid(token.strip()):
            return _send(Reply(401, SESSION_INVALID))
        full_path = req.target
        fault = self.faults.take(HTTP_KINDS, call.method, full_path)
        if fault is not None:
            if fault.kind == "reset":
                raise _Reset()
            if fault.kind == "expired_session":
                return _send(Reply(401, SESSION_INVALID))
            if fault.kind == "unavailable":
                return _send(
                    Reply(
                        503,
                        [
                            {
                                "message": "Server temporarily unavailable",
                                "errorCode": "SERVER_UNAVAILABLE",
                            }
                        ],
                    ),
                    self.limits,
                )
            if fault.kind == "limit_exceeded":
                return _send(Reply(403, LIMIT_EXCEEDED), self.limits)
            time.sleep(fault.seconds)  # stall, then answer normally
        while (action := self.faults.take(ACTION_KINDS, call.method, full_path)) is not None:
            self.admin.apply_action(action.kind, action.params)
        if not version_supported(call.version):
            return _send(Reply(404, not_found().body()), self.limits)
        if not self.limits.consume():
            return _send(Reply(403, LIMIT_EXCEEDED), self.limits)
        drop = self.faults.take(AFTER_KINDS, call.method, full_path)
        try:
            reply = self.router.dispatch(call)
        except OrgError as exc:
            reply = Reply(exc.status, exc.body())
        if drop is not None:
            raise _Reset()  # processed, the answer lost
        return _send(reply, self.limits)

    def _soap(self, req: Incoming, call: Call) -> Outgoing:
        """A SOAP API call (merge): the session is in the envelope; HTTP faults apply."""
        fault = self.faults.take(HTTP_KINDS, call.method, req.target)
        if fault is not None and fault.kind == "reset":
            raise _Reset()
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "expired_session":
            return _send(soap_session_fault())
        if fault is not None and fault.kind == "unavailable":
            return _send(Reply(503, b"Server temporarily unavailable", content_type="text/plain"))
        return _send(self.soap_merge.handle(call))


def _send(reply: Reply, limits: ApiLimits | None = None) -> Outgoing:
    """The transport's answer for ``reply`` (JSON encoded, limits header, truncation)."""
    if isinstance(reply.body, (bytes, bytearray)):
        data = bytes(reply.body)
    elif reply.body is None or reply.status in (204, 304):
        data = b""
    else:
        data = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
    headers: list[tuple[str, str]] = []
    if limits is not None:
        headers.append(("Sforce-Limit-Info", limits.header()))
    headers += reply.headers.items()
    if reply.status in (204, 304):
        return Outgoing(reply.status, headers)
    claimed, drop = len(data), False
    if reply.truncate:
        data = data[: len(data) // 2]
        if reply.truncate == "short":
            claimed = len(data)
        else:
            drop = True
    headers.append(("Content-Type", reply.content_type if reply.body is not None else JSON))
    headers.append(("Content-Length", str(claimed)))
    return Outgoing(reply.status, headers, data, drop=drop)
