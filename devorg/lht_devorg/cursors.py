"""Paging positions: REST query cursors (``01g...-2000``) and Bulk 2.0 result locators."""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import OrgError
from .ids import make_id

#: A REST query cursor unused this long is gone (Salesforce: 15 minutes).
CURSOR_IDLE_SECONDS = 15 * 60
#: Open cursors per user; opening one more releases the oldest (Salesforce: 10).
MAX_OPEN_CURSORS = 10


def sf_datetime(moment: datetime) -> str:
    """Salesforce's JSON datetime format: ``2024-01-15T10:30:00.000+0000``."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def encode_locator(offset: int) -> str:
    """An opaque locator for a row offset (like Salesforce's ``MTAwMDA``)."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    """The row offset a locator stands for (OrgError 400 if it is not one of ours)."""
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        offset = int(text)
        if offset < 0 or str(offset) != text:
            raise ValueError(text)
        return offset
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise OrgError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {locator}") from None


@dataclass
class _Cursor:
    result: Any
    batch: int
    touched: float


class Cursors:
    """Open REST query cursors (query locators)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._open: dict[str, _Cursor] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count(secrets.randbelow(10**6) * 1000)

    def open(self, result: Any, batch: int) -> str:
        """Register a result set; return its cursor id (``01g...``)."""
        cursor_id = make_id("01g", next(self._serial))
        released = []
        with self._lock:
            self._expire()
            while len(self._open) >= MAX_OPEN_CURSORS:
                oldest = min(self._open, key=lambda k: self._open[k].touched)
                released.append(self._open.pop(oldest).result)
            self._open[cursor_id] = _Cursor(result, batch, time.monotonic())
        for result_set in released:
            self.engine.release(result_set)
        return cursor_id

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, c in self._open.items() if now - c.touched > CURSOR_IDLE_SECONDS]:
            self.engine.release(self._open.pop(key).result)

    def get(self, cursor_id: str) -> _Cursor:
        """The cursor (OrgError 400 INVALID_QUERY_LOCATOR if unknown or expired)."""
        with self._lock:
            self._expire()
            cursor = self._open.get(cursor_id)
            if cursor is None:
                raise OrgError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.touched = time.monotonic()
            return cursor

    def close(self, cursor_id: str) -> None:
        """Release a cursor whose last page was served."""
        with self._lock:
            cursor = self._open.pop(cursor_id, None)
        if cursor is not None:
            self.engine.release(cursor.result)

    def age_all(self, seconds: float) -> None:
        """Pretend every cursor has been idle ``seconds`` longer (tests of expiry)."""
        with self._lock:
            for cursor in self._open.values():
                cursor.touched -= seconds
