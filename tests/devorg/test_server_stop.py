"""Stopping the org: requests under way get their answer, then every connection is closed,
idle TLS keep-alive connections included (they must not keep ``stop()`` waiting)."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import psutil
import requests

from lht_devorg import DevOrg

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


def _closed_by_the_server(sock: ssl.SSLSocket) -> bool:
    """True once the server has closed or reset the connection: reading what is left ends
    (end of stream, or a reset) rather than waiting."""
    sock.settimeout(20)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def test_stopping_the_org_closes_idle_tls_connections() -> None:
    org = DevOrg(counts=COUNTS).start()
    try:
        context = ssl.create_default_context(cafile=org.ca_path)
        idle = context.wrap_socket(
            socket.create_connection(("127.0.0.1", org.port)), server_hostname="127.0.0.1"
        )  # handshake done, nothing sent
        kept = context.wrap_socket(
            socket.create_connection(("127.0.0.1", org.port)), server_hostname="127.0.0.1"
        )
        kept.sendall(
            f"GET /services/data/v59.0/limits HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {org.access_token}\r\n\r\n".encode()
        )
        assert kept.recv(12).startswith(b"HTTP/1.1 200")  # answered; the connection stays open
    finally:
        org.stop()
    # the org's ends are closed when stop() returns, though the client has not closed its own
    assert [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.laddr and c.laddr.port == org.port
    ] == []
    assert _closed_by_the_server(idle)
    assert _closed_by_the_server(kept)
    idle.close()
    kept.close()


def test_a_request_under_way_when_the_org_stops_gets_its_answer() -> None:
    org = DevOrg(counts=COUNTS).start()
    stall = org.faults.add("stall", path="/limits", seconds=0.5)
    answers: list[int] = []

    def call() -> None:
        answers.append(
            requests.get(
                f"{org.instance_url}/services/data/v59.0/limits",
                verify=org.ca_path,
                headers={"Authorization": f"Bearer {org.access_token}"},
                timeout=30,
            ).status_code
        )

    caller = threading.Thread(target=call)
    try:
        caller.start()
        while stall.fired == 0 and caller.is_alive():  # the request is in the org's hands
            time.sleep(0.01)
    finally:
        org.stop()
    caller.join(30)
    assert answers == [200]
