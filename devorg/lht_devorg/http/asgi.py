"""The local org's HTTPS transport: uvicorn (httptools) over TLS, answers from a thread pool.

HTTP/1.1 framing is uvicorn's: Content-Length and chunked request bodies, keep-alive,
pipelining, ``Expect: 100-continue``. A body over ``max_body_bytes`` is not read: a declared
Content-Length over it is refused at once, a chunked body once it passes it (the app answers
413 and the connection closes), so no request can make the org hold more than that. The TLS handshake runs on uvicorn's event loop, so a
slow client never blocks the others. The org's engine is synchronous, so each request is
answered by ``app.handle`` (``Incoming -> Outgoing``) in a worker thread.

Two faults act on the connection itself, which ASGI does not expose: a *reset* (the TCP
connection is reset, SO_LINGER 0) and a *drop* (the body is cut short of its
Content-Length and the connection closed). For them, the protocol subclass below puts
the connection's asyncio transport into the ASGI scope.

Stopping goes through uvicorn's public controls (``should_exit``, then ``force_exit``,
``timeout_graceful_shutdown`` as a backstop): requests under way get ``STOP_SECONDS`` to
finish, then the connections still open are aborted (an idle TLS connection would
otherwise wait for the client's close_notify), so ``stop()`` is prompt.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPMessage
from typing import Any, Protocol

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

#: Seconds an idle kept-alive connection stays open (Salesforce keeps them for minutes).
KEEP_ALIVE_SECONDS = 300
#: Requests answered at once; more wait for a free worker.
WORKERS = 64
#: Bytes of a response body handed to the connection at once (its buffer stays small).
SLICE = 1 << 20
#: Seconds requests under way get to finish when the org stops.
STOP_SECONDS = 2
#: Request bodies over this are refused (413) before they are read: Bulk API 2.0's upload
#: maximum (150 MB, measured after base64 encoding), so no body Salesforce takes is refused.
MAX_BODY_BYTES = 150_000_000
_TRANSPORT, _TARGET = "lht_devorg.transport", "lht_devorg.target"


@dataclass
class Incoming:
    """One request as received: method, target as sent (path and query), headers, body.

    ``body_over_limit``: the limit the body passed, unread (``body`` is empty); None when read.
    """

    method: str
    target: str
    headers: HTTPMessage
    body: bytes = b""
    body_over_limit: int | None = None


@dataclass
class Outgoing:
    """One answer: status, headers, body, and how the connection ends.

    ``reset``: nothing is sent, the TCP connection is reset. ``drop``: ``body`` is sent
    after headers that may announce more (Content-Length), then the connection closes.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reset: bool = False
    drop: bool = False


class Handler(Protocol):
    """What the transport serves: a synchronous ``Incoming -> Outgoing``."""

    def handle(self, request: Incoming) -> Outgoing: ...


class _OrgHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the connection's transport and the request
    target exactly as sent in each scope (a URL parser reads ``//services/...`` as a host),
    and each open connection's transport in ``open_transports`` (one set per server: see
    :func:`_protocol_class`)."""

    open_transports: set[asyncio.Transport]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.open_transports.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open_transports.discard(self.transport)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[_TRANSPORT] = self.transport  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self.scope[_TARGET] = self.url  # type: ignore[literal-required]
        super().on_headers_complete()


def _protocol_class(open_transports: set[asyncio.Transport]) -> type[_OrgHttpProtocol]:
    """The protocol class of one server, keeping its connections' transports in ``open_transports``."""
    return type("OrgHttpProtocol", (_OrgHttpProtocol,), {"open_transports": open_transports})


async def _until_disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _reset(transport: asyncio.Transport) -> None:
    raw = transport.get_extra_info("socket")
    if raw is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _Asgi:
    """The ASGI application: read the body, answer in a worker thread, send."""

    def __init__(self, server: OrgHTTPServer) -> None:
        self.server = server
        #: Requests under way (read, answered or being sent); read from the stopping thread.
        self.busy = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.busy += 1
        try:
            await self._answer(scope, receive, send)
        finally:
            self.busy -= 1

    async def _answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = HTTPMessage()
        for name, value in scope["headers"]:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        limit = self.server.max_body_bytes
        declared = headers.get("Content-Length", "")
        too_large = declared.strip().isdigit() and int(declared) > limit
        chunks, size = [], 0
        while not too_large:  # a body over the limit is never read, nor its rest
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            too_large = size > limit
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        target = scope[_TARGET].decode("latin-1")
        request = (
            Incoming(scope["method"], target, headers, body_over_limit=limit)
            if too_large
            else Incoming(scope["method"], target, headers, b"".join(chunks))
        )
        chunks.clear()
        loop = asyncio.get_running_loop()
        app = self.server.app
        assert app is not None  # set before the server starts
        answer = await loop.run_in_executor(self.server.pool, app.handle, request)
        transport: asyncio.Transport = scope[_TRANSPORT]
        if answer.reset:
            _reset(transport)
            return await _until_disconnected(receive)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers
                ],
            }
        )
        if answer.drop:
            await send({"type": "http.response.body", "body": answer.body, "more_body": True})
            transport.close()  # after the buffered bytes are written
            return await _until_disconnected(receive)
        body = answer.body
        for start in range(0, len(body) - SLICE, SLICE):  # each waits while the client is behind
            await send(
                {
                    "type": "http.response.body",
                    "body": body[start : start + SLICE],
                    "more_body": True,
                }
            )
        tail = (len(body) - 1) // SLICE * SLICE if len(body) > SLICE else 0
        await send({"type": "http.response.body", "body": body[tail:]})


class OrgHTTPServer:
    """HTTPS on ``address`` (bound at construction, so the port is known) serving ``app``.

    ``app`` may be set after construction, before :meth:`serve_forever`.
    """

    def __init__(
        self,
        address: tuple[str, int],
        app: Handler | None,
        context: ssl.SSLContext,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="devorg-worker")
        self.socket = socket.create_server(address, backlog=128)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._asgi = _Asgi(self)
        self._transports: set[asyncio.Transport] = set()
        config = uvicorn.Config(
            self._asgi,
            http=_protocol_class(self._transports),
            ws="none",
            lifespan="off",
            loop="asyncio",
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=False,
            headers=[("Server", "lht-devorg")],
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=STOP_SECONDS,
            backlog=128,
        )
        config.load()
        config.ssl = context  # our trustme context rather than certificate files
        self._uvicorn = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started, self._done = threading.Event(), threading.Event()

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        """Serve until :meth:`shutdown` (``poll_interval`` is kept for callers; unused)."""
        self._started.set()
        try:
            asyncio.run(self._serve())
        finally:
            self._done.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self._uvicorn.serve(sockets=[self.socket])
        finally:
            self._abort_connections()

    def _abort_connections(self) -> None:
        """Abort every connection still open (on the server's loop)."""
        for transport in list(self._transports):
            transport.abort()

    def shutdown(self) -> None:
        """Stop serving and wait until the server has stopped: requests under way get
        ``STOP_SECONDS`` to finish, then the connections still open are aborted."""
        self._uvicorn.should_exit = True  # uvicorn stops accepting and closes idle connections
        if not self._started.is_set():
            return
        deadline = time.monotonic() + STOP_SECONDS
        while (
            (self._asgi.busy or self.socket.fileno() != -1)
            and time.monotonic() < deadline
            and not self._done.is_set()
        ):
            time.sleep(0.01)
        loop = self._loop
        if loop is not None and not self._done.is_set():
            try:
                loop.call_soon_threadsafe(self._abort_connections)
            except RuntimeError:  # the loop closed meanwhile: nothing is left to abort
                pass
        self._uvicorn.force_exit = True  # no more waiting for connections or requests
        self._done.wait(30)

    def server_close(self) -> None:
        """Close the listening socket and let the workers go."""
        self.socket.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def serve_in_thread(server: OrgHTTPServer) -> threading.Thread:
    """Run ``server.serve_forever`` in a daemon thread; return the thread."""
    thread = threading.Thread(target=server.serve_forever, name="devorg-server", daemon=True)
    thread.start()
    return thread
