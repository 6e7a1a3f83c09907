"""Request bodies over the org's limit (150 MB, Bulk API 2.0's upload maximum) are refused
with HTTP 413 before they are read, whoever sends them: a declared Content-Length over the
limit is answered at once, a chunked body as soon as it passes the limit."""

from __future__ import annotations

import gc
import http.client
import json
import socket
import ssl
from collections.abc import Iterator

import psutil
import pytest

from lht_devorg import DevOrg
from lht_devorg.http.asgi import MAX_BODY_BYTES

COUNTS = {
    "User": 2,
    "Account": 5,
    "Contact": 0,
    "Lead": 0,
    "Opportunity": 0,
    "Case": 0,
    "Task": 0,
    "Invoice__c": 0,
    "Attachment": 0,
}
SMALL_LIMIT = 100_000


@pytest.fixture(scope="module")
def org() -> Iterator[DevOrg]:
    with DevOrg(counts=COUNTS) as running:
        yield running


@pytest.fixture(scope="module")
def small_org() -> Iterator[DevOrg]:
    with DevOrg(counts=COUNTS, max_body_bytes=SMALL_LIMIT) as running:
        yield running


def _connect(org: DevOrg) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=org.ca_path)
    raw = socket.create_connection(("127.0.0.1", org.port), timeout=30)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _answer(sock: ssl.SSLSocket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock, method="POST")
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_a_300_mb_unauthenticated_post_is_refused_before_it_is_read(org: DevOrg) -> None:
    assert MAX_BODY_BYTES == 150_000_000
    me = psutil.Process()
    gc.collect()
    before = me.memory_info().rss
    sock = _connect(org)
    sock.sendall(
        b"POST /services/data/v59.0/sobjects/Account HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n" + b"x" * 65536
    )
    status, headers, body = _answer(sock)  # no more is sent: the answer comes before the body
    sock.close()
    assert status == 413
    assert headers["connection"] == "close"
    assert json.loads(body) == [
        {
            "errorCode": "EXCEEDED_MAX_SIZE_REQUEST",
            "message": "The request body exceeds the limit of 150,000,000 bytes",
        }
    ]
    gc.collect()
    assert me.memory_info().rss - before < 50_000_000  # the org (in this process) stayed flat


def test_a_body_at_the_limit_is_read(small_org: DevOrg) -> None:
    sock = _connect(small_org)
    payload = json.dumps({"Name": "At the limit"}).encode()
    payload += b" " * (SMALL_LIMIT - len(payload))  # JSON may end in blanks
    sock.sendall(
        b"POST /services/data/v59.0/sobjects/Account HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {small_org.access_token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    status, _, body = _answer(sock)
    sock.close()
    assert status == 201, body


def test_a_chunked_body_is_refused_once_it_passes_the_limit(small_org: DevOrg) -> None:
    sock = _connect(small_org)
    sock.sendall(
        b"PUT /services/data/v59.0/jobs/ingest/7500000000000AAAAA/batches HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"Name\r\n" + b"y" * 16_000 + b"\r\n"
    for _ in range(SMALL_LIMIT // len(chunk) + 2):  # past the limit; the body never ends
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    status, headers, body = _answer(sock)
    sock.close()
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(body)[0]["errorCode"] == "EXCEEDED_MAX_SIZE_REQUEST"
