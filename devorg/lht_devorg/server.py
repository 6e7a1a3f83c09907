"""The local org's HTTPS server: transport, authentication gate, limits, faults, routing.

A ``ThreadingHTTPServer`` speaking HTTP/1.1 (keep-alive) over TLS. The TLS handshake
runs in the connection's own thread, so a slow client never blocks the others.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .admin import Admin
from .auth import Authenticator, TokenStore
from .bulk import BulkJobs
from .composite import Composite
from .errors import OrgError, not_found
from .faults import ACTION_KINDS, BULK_KINDS, HTTP_KINDS, RESULT_KINDS, FaultInjector
from .ingest import IngestJobs
from .ingestapi import IngestApi
from .limits import ApiLimits
from .rest import JSON, Call, Reply, RestApi, version_supported, versions_body

log = logging.getLogger(__name__)

SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
LIMIT_EXCEEDED = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
#: simple-salesforce builds login URLs as https://{domain}.salesforce.com/...; with
#: domain="127.0.0.1:PORT/login" that is https://127.0.0.1:PORT/login.salesforce.com/...
_DOMAIN_PREFIX = re.compile(r"^/[A-Za-z0-9_.-]+\.salesforce\.com(?=/services/)")
_DATA = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
Handler = Callable[..., Reply]
#: Salesforce refuses request URIs longer than 16,384 bytes (a long SOQL in ``?q=``).
MAX_URI_LENGTH = 16_384


class _Reset(Exception):
    """Abort the request by resetting the TCP connection."""


class Router:
    """Dispatches ``/services/data/vNN.N/<path>`` calls to the REST and Bulk handlers."""

    def __init__(self, rest: RestApi, composite: Composite, bulk: BulkJobs,
                 faults: FaultInjector, ingest: IngestApi | None = None) -> None:
        self.bulk = bulk
        self.faults = faults
        r, c = rest, composite
        i = ingest or IngestApi(IngestJobs(rest.engine, bulk.job_seconds, faults=faults, limits=rest.limits))
        self.ingest = i
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r""), r.resources),
            ("GET", re.compile(r"limits"), r.limits_resource),
            ("GET", re.compile(r"sobjects"), r.describe_global),
            ("GET", re.compile(r"sobjects/(\w+)"), r.sobject_basic),
            ("POST", re.compile(r"sobjects/(\w+)"), r.create),
            ("GET", re.compile(r"sobjects/(\w+)/describe"), r.describe),
            ("GET", re.compile(r"sobjects/(\w+)/deleted"), r.deleted),
            ("GET", re.compile(r"sobjects/(\w+)/updated"), r.updated),
            ("GET", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})"), r.get_record),
            ("PATCH", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})"), r.update),
            ("DELETE", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})"), r.delete),
            ("GET", re.compile(r"sobjects/(\w+)/(\w+)/([^/]+)"), r.get_by_external_id),
            ("GET", re.compile(r"sobjects/(\w+)/(\w{15}|\w{18})/(\w+)"), r.blob),
            ("PATCH", re.compile(r"sobjects/(\w+)/(\w+)/([^/]+)"), r.upsert),
            ("GET", re.compile(r"query"), lambda call: r.query(call, False)),
            ("GET", re.compile(r"queryAll"), lambda call: r.query(call, True)),
            ("GET", re.compile(r"(query|queryAll)/([\w-]+)"),
             lambda call, ep, loc: r.query_more(call, loc, ep)),
            ("POST", re.compile(r"composite/sobjects"), c.create),
            ("PATCH", re.compile(r"composite/sobjects"), c.update),
            ("DELETE", re.compile(r"composite/sobjects"), c.delete),
            ("PATCH", re.compile(r"composite/sobjects/(\w+)/(\w+)"), c.upsert),
            ("POST", re.compile(r"composite/sobjects/(\w+)"), c.retrieve),
            ("GET", re.compile(r"composite/sobjects/(\w+)"), c.retrieve),
            ("POST", re.compile(r"jobs/query"), self._job_create),
            ("GET", re.compile(r"jobs/query"), self._job_list),
            ("GET", re.compile(r"jobs/query/(\w+)"), self._job_info),
            ("PATCH", re.compile(r"jobs/query/(\w+)"), self._job_abort),
            ("DELETE", re.compile(r"jobs/query/(\w+)"), self._job_delete),
            ("GET", re.compile(r"jobs/query/(\w+)/results"), self._job_results),
            ("GET", re.compile(r"jobs/query/(\w+)/resultPages"), self._job_pages),
            ("POST", re.compile(r"jobs/ingest"), i.create),
            ("GET", re.compile(r"jobs/ingest"), i.list),
            ("GET", re.compile(r"jobs/ingest/(\w+)"), i.info),
            ("PATCH", re.compile(r"jobs/ingest/(\w+)"), i.change_state),
            ("DELETE", re.compile(r"jobs/ingest/(\w+)"), i.delete),
            ("PUT", re.compile(r"jobs/ingest/(\w+)/batches"), i.upload),
            ("GET", re.compile(r"jobs/ingest/(\w+)/(\w+)"), i.results),
        ]

    def dispatch(self, call: Call) -> Reply:
        """Run the handler for ``call`` (OrgError 404 NOT_FOUND if there is none)."""
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(call.path)
            if match and method == call.method:
                return handler(call, *match.groups())
        raise not_found()

    def _job_create(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise OrgError(400, "INVALIDJOB", "The request body must be a JSON object")
        full = f"/services/data/v{call.version}/jobs/query"
        fault = self.faults.take(BULK_KINDS, call.method, full)
        info = self.bulk.create(
            body, call.version,
            fail_message=fault.message if fault and fault.kind == "bulk_failed" else None,
            stuck=bool(fault and fault.kind == "bulk_stuck"))
        return Reply(200, info)

    def _job_list(self, call: Call) -> Reply:
        return Reply(200, self.bulk.list(call.version, call.params.get("queryLocator")))

    def _job_info(self, call: Call, job_id: str) -> Reply:
        return Reply(200, self.bulk.info(job_id))

    def _job_abort(self, call: Call, job_id: str) -> Reply:
        body = call.json()
        return Reply(200, self.bulk.abort(job_id, body if isinstance(body, dict) else {}))

    def _job_delete(self, call: Call, job_id: str) -> Reply:
        self.bulk.delete(job_id)
        return Reply(204)

    def _job_results(self, call: Call, job_id: str) -> Reply:
        data, count, locator = self.bulk.results(job_id, call.version, call.params.get("locator"),
                                                 call.params.get("maxRecords"))
        reply = Reply(200, data, content_type="text/csv",
                      headers={"Sforce-NumberOfRecords": str(count), "Sforce-Locator": locator})
        fault = self.faults.take(RESULT_KINDS, "GET", f"/services/data/v{call.version}/{call.path}")
        if fault is not None:
            reply.truncate = str(fault.params.get("mode", "short"))
        return reply

    def _job_pages(self, call: Call, job_id: str) -> Reply:
        return Reply(200, self.bulk.result_pages(job_id, call.version, call.params.get("locator")))


class OrgApp:
    """Everything one request needs: auth, limits, faults, the REST router, admin."""

    def __init__(self, engine: Any, auth: Authenticator, tokens: TokenStore, limits: ApiLimits,
                 faults: FaultInjector, bulk: BulkJobs, admin_token: str,
                 ingest: IngestJobs | None = None) -> None:
        self.engine, self.auth, self.tokens = engine, auth, tokens
        self.limits, self.faults = limits, faults
        self.rest = RestApi(engine, limits)
        self.ingest = ingest or IngestJobs(engine, bulk.job_seconds, faults=faults, limits=limits)
        self.router = Router(self.rest, Composite(engine, faults), bulk, faults, IngestApi(self.ingest))
        self.admin = Admin(self, admin_token)

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        """Answer one request on ``req``."""
        self.faults.log_request(req.command, req.path)
        url = urlsplit(req.path)
        path = _DOMAIN_PREFIX.sub("", url.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        method = req.command
        if len(req.path) > MAX_URI_LENGTH:
            return _send(req, Reply(414, [{"message": f"URI length exceeds {MAX_URI_LENGTH} bytes",
                                           "errorCode": "URI_TOO_LONG"}]))
        if path.startswith("/__devorg/"):
            status, payload = self.admin.handle(method, path, req.headers, body)
            return _send(req, Reply(status, payload))
        if method == "POST" and path.rstrip("/") == "/services/oauth2/token":
            answer = self.auth.oauth_token(body, req.headers.get("Authorization"))
            return _send(req, Reply(answer.status, answer.body, answer.content_type))
        soap = re.fullmatch(r"/services/Soap/u/(\d+\.\d+)(?:/.*)?", path)
        if method == "POST" and soap:
            answer = self.auth.soap_login(body, soap.group(1))
            return _send(req, Reply(answer.status, answer.body, answer.content_type))
        if path.rstrip("/") == "/services/data":
            return _send(req, Reply(200, versions_body()))
        data = _DATA.match(path)
        if not data:
            return _send(req, Reply(404, not_found().body()))
        self._api(req, Call(method, (data.group(2) or "").strip("/"), data.group(1), params,
                            req.headers, body))

    def _api(self, req: BaseHTTPRequestHandler, call: Call) -> None:
        authz = req.headers.get("Authorization") or ""
        scheme, _, token = authz.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.tokens.valid(token.strip()):
            return _send(req, Reply(401, SESSION_INVALID))
        full_path = req.path
        fault = self.faults.take(HTTP_KINDS, call.method, full_path)
        if fault is not None:
            if fault.kind == "reset":
                raise _Reset()
            if fault.kind == "expired_session":
                return _send(req, Reply(401, SESSION_INVALID))
            if fault.kind == "unavailable":
                return _send(req, Reply(503, [{"message": "Server temporarily unavailable",
                                               "errorCode": "SERVER_UNAVAILABLE"}]), self.limits)
            if fault.kind == "limit_exceeded":
                return _send(req, Reply(403, LIMIT_EXCEEDED), self.limits)
            time.sleep(fault.seconds)  # stall, then answer normally
        while (action := self.faults.take(ACTION_KINDS, call.method, full_path)) is not None:
            self.admin.apply_action(action.kind, action.params)
        if not version_supported(call.version):
            return _send(req, Reply(404, not_found().body()), self.limits)
        if not self.limits.consume():
            return _send(req, Reply(403, LIMIT_EXCEEDED), self.limits)
        try:
            reply = self.router.dispatch(call)
        except OrgError as exc:
            reply = Reply(exc.status, exc.body())
        _send(req, reply, self.limits)


def _send(req: BaseHTTPRequestHandler, reply: Reply, limits: ApiLimits | None = None) -> None:
    if isinstance(reply.body, (bytes, bytearray)):
        data = bytes(reply.body)
    elif reply.body is None or reply.status in (204, 304):
        data = b""
    else:
        data = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
    req.send_response(reply.status)
    if limits is not None:
        req.send_header("Sforce-Limit-Info", limits.header())
    for key, value in reply.headers.items():
        req.send_header(key, value)
    if reply.status in (204, 304):
        req.end_headers()
        return
    claimed = len(data)
    if reply.truncate:
        data = data[: len(data) // 2]
        if reply.truncate == "short":
            claimed = len(data)
        else:
            req.close_connection = True
    req.send_header("Content-Type", reply.content_type if reply.body is not None else JSON)
    req.send_header("Content-Length", str(claimed))
    req.end_headers()
    req.wfile.write(data)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300

    def version_string(self) -> str:
        return "lht-devorg"

    def _run(self) -> None:
        try:
            self.server.app.handle(self)  # type: ignore[attr-defined]
        except _Reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - answer 500 like Salesforce, keep serving
            log.exception("internal error answering %s %s", self.command, self.path)
            self.close_connection = True
            try:
                _send(self, Reply(500, [{"message": "An unexpected error occurred.",
                                         "errorCode": "UNKNOWN_EXCEPTION"}]))
            except OSError:
                pass

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _run

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)


class OrgHTTPServer(ThreadingHTTPServer):
    """HTTPS, threaded, one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: OrgApp, context: ssl.SSLContext) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app
        self.ssl_context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


def serve_in_thread(server: OrgHTTPServer) -> threading.Thread:
    """Run ``server.serve_forever`` in a daemon thread; return the thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="devorg-server", daemon=True)
    thread.start()
    return thread
