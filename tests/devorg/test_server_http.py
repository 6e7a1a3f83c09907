"""HTTP/1.1 framing on the wire: chunked request bodies and keep-alive, sent by hand over TLS.

jsforce's SOAP and OAuth logins and ``sf org login jwt`` send their bodies with
``Transfer-Encoding: chunked``; these tests send exactly that on a raw TLS socket and read
the answers with http.client's response parser, so nothing of a client library hides
how the org frames requests.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest

from lht_devorg import DevOrg

SOAP = (
    "<?xml version='1.0' encoding='utf-8'?>"
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:login>'
    "<urn:username>{username}</urn:username><urn:password>{password}</urn:password>"
    "</urn:login></soapenv:Body></soapenv:Envelope>"
)


class _KeptOpen:
    """The connection's buffered reader, which a finished response must not close."""

    def __init__(self, reader) -> None:
        self._reader = reader

    def __getattr__(self, name: str):
        return getattr(self._reader, name)

    def close(self) -> None:
        pass


class Wire:
    """One TLS connection to the org; requests are written byte for byte."""

    def __init__(self, org: DevOrg) -> None:
        context = ssl.create_default_context(cafile=org.ca_path)
        raw = socket.create_connection(("127.0.0.1", org.port), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.reader = self.sock.makefile("rb")

    def send(self, head: str, chunks: list[bytes] | None = None, body: bytes = b"") -> None:
        """Write ``head`` (request line and headers, CRLF-joined) then the body."""
        data = head.replace("\n", "\r\n").encode() + b"\r\n"
        if chunks is not None:
            data += b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
        self.sock.sendall(data + body)

    def response(self, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
        """Read one response off the connection: status, headers (lower-cased), body."""
        answer = http.client.HTTPResponse(self.sock, method=method)
        answer.fp.close()
        answer.fp = _KeptOpen(self.reader)  # one buffered reader across responses
        answer.begin()
        body = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def wire(org: DevOrg) -> Iterator[Wire]:
    connection = Wire(org)
    yield connection
    connection.close()


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _password_form(org: DevOrg) -> bytes:
    return urlencode(
        {
            "grant_type": "password",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
            "username": org.username,
            "password": org.password + org.security_token,
        }
    ).encode()


def test_chunked_oauth_password_grant_is_read_whole(org, wire):
    wire.send(
        "POST /services/oauth2/token HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\n",
        chunks=_split(_password_form(org), 7),
    )
    status, _, body = wire.response()
    answer = json.loads(body)
    assert status == 200, body
    assert answer["instance_url"] == org.instance_url and answer["access_token"]


def test_chunked_soap_login_is_read_whole(org, wire):
    envelope = SOAP.format(username=org.username, password=org.password + org.security_token)
    wire.send(
        "POST /services/Soap/u/59.0 HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: text/xml; charset=UTF-8\nSOAPAction: login\n"
        "Transfer-Encoding: chunked\n",
        chunks=_split(envelope.encode(), 50),
    )
    status, _, body = wire.response()
    assert status == 200, body
    assert ET.fromstring(body).findtext(".//{urn:partner.soap.sforce.com}sessionId")


def test_connection_is_reused_after_a_chunked_request(org, wire):
    wire.send(
        "POST /services/oauth2/token HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\n",
        chunks=_split(_password_form(org), 11),
    )
    status, headers, body = wire.response()
    assert status == 200 and headers.get("connection", "").lower() != "close"
    token = json.loads(body)["access_token"]
    wire.send(
        f"GET /services/data/v59.0/limits HTTP/1.1\nHost: 127.0.0.1\n"
        f"Authorization: Bearer {token}\n"
    )
    status, _, body = wire.response("GET")
    assert status == 200 and "DailyApiRequests" in json.loads(body)


def test_chunked_json_body_creates_a_record(org, wire):
    payload = json.dumps({"Name": "Chunked Corp"}).encode()
    wire.send(
        f"POST /services/data/v59.0/sobjects/Account HTTP/1.1\nHost: 127.0.0.1\n"
        f"Authorization: Bearer {org.new_token()}\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n",
        chunks=_split(payload, 4),
    )
    status, _, body = wire.response()
    assert status == 201, body
    record = org.engine.get_record("Account", json.loads(body)["id"], fields=["Name"])
    assert record["Name"] == "Chunked Corp"


def test_pipelined_requests_are_answered_in_order(org, wire):
    token = org.new_token()
    head = (
        f"GET /services/data/v59.0/{{}} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {token}\n"
    )
    wire.send(head.format("limits") + "\n" + head.format("sobjects"))
    first, second = wire.response("GET"), wire.response("GET")
    assert first[0] == second[0] == 200
    assert "DailyApiRequests" in json.loads(first[2]) and "sobjects" in json.loads(second[2])


def test_expect_100_continue_gets_an_interim_answer(org, wire):
    form = _password_form(org)
    wire.send(
        "POST /services/oauth2/token HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/x-www-form-urlencoded\nExpect: 100-continue\n"
        f"Content-Length: {len(form)}\n"
    )
    assert wire.reader.readline().startswith(b"HTTP/1.1 100")
    assert wire.reader.readline() == b"\r\n"
    wire.sock.sendall(form)
    status, _, body = wire.response()
    assert status == 200, body


def test_head_answers_like_get_without_a_body(org, wire):
    wire.send(
        f"HEAD /services/data/v59.0/limits HTTP/1.1\nHost: 127.0.0.1\n"
        f"Authorization: Bearer {org.new_token()}\n"
    )
    status, headers, body = wire.response("HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
