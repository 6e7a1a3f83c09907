"""Shared helpers for the engine tests: a controllable clock and small seeded engines."""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc
SMALL = {"User": 3, "Account": 40, "Contact": 30, "Lead": 10, "Opportunity": 20, "Case": 10,
         "Task": 20, "Invoice__c": 20, "Attachment": 3}


class Clock:
    """A clock tests move by hand (aware UTC datetimes, like the default one)."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 3, 1, 12, 0, 0, 456000, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float = 1) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now
