"""Client calls beyond query: getDeleted, limits, and honouring Retry-After."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lht.config import Settings, credentials_from_env, settings_from_env
from lht.errors import DeletedWindowError
from lht.salesforce.client import connect
from lht.salesforce.transport import ClientStats, RunBudget, make_session


def _client(org, **overrides):
    settings = settings_from_env(
        {}, retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05, **overrides
    )
    return connect(credentials_from_env(org.env("token")), settings)


def test_deleted_lists_records_deleted_in_the_window(org):
    client = _client(org)
    now = datetime.now(timezone.utc)
    lead_id = org.engine.create("Lead", {"LastName": "Bye", "Company": "Bye Ltd"})
    # getDeleted covers whole minutes only: delete the lead "three minutes ago".
    clock = org.engine._clock
    org.engine._clock = lambda: now - timedelta(minutes=3)
    try:
        org.engine.delete("Lead", lead_id)
    finally:
        org.engine._clock = clock
    body = client.deleted("Lead", now - timedelta(minutes=10), now)
    assert lead_id in {r["id"] for r in body["deletedRecords"]}
    assert "latestDateCovered" in body


def test_deleted_beyond_salesforces_window_raises_deleted_window_error(org):
    client = _client(org)
    now = datetime.now(timezone.utc)
    with pytest.raises(DeletedWindowError, match="15 days"):
        client.deleted("Lead", now - timedelta(days=60), now)


def test_limits_report_daily_api_requests_and_feed_api_usage(org):
    client = _client(org)
    limits = client.limits()
    assert limits["DailyApiRequests"]["Max"] == org.api_daily_max
    assert client.api_usage is not None and client.api_usage[1] == org.api_daily_max


class _BusyThenFine(BaseHTTPRequestHandler):
    """503 with Retry-After on the first request, 200 afterwards."""

    calls = 0

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        type(self).calls += 1
        busy = type(self).calls == 1
        self.send_response(503 if busy else 200)
        if busy:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_retry_after_is_honoured():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BusyThenFine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stats = ClientStats()
        session = make_session(
            Settings(retry_backoff_seconds=0.01, retry_backoff_max_seconds=5), RunBudget(), stats
        )
        started = time.monotonic()
        response = session.get(f"http://127.0.0.1:{server.server_address[1]}/")
        waited = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200 and stats.calls == 2
    assert waited >= 0.9  # the backoff alone would have waited ~0.01 s
