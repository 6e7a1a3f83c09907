"""Shared helpers for the engine tests: a controllable clock, small seeded engines, and a
query's whole result as REST records or as Bulk CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lht_devorg.core.engine import OrgEngine

UTC = dt.timezone.utc
SMALL = {
    "User": 3,
    "Account": 40,
    "Contact": 30,
    "Lead": 10,
    "Opportunity": 20,
    "Case": 10,
    "Task": 20,
    "Invoice__c": 20,
    "Attachment": 3,
}


class Clock:
    """A clock tests move by hand (aware UTC datetimes, like the default one)."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 3, 1, 12, 0, 0, 456000, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float = 1) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


def rest_records(eng: OrgEngine, soql: str, *, include_deleted: bool) -> list[dict]:
    """Every record ``soql`` returns, as REST shows them (API 59.0)."""
    rs = eng.execute(soql, include_deleted=include_deleted)
    try:
        return eng.page_records(rs, 0, 100_000, api_version="59.0")
    finally:
        eng.release(rs)


def bulk_csv(eng: OrgEngine, soql: str, *, include_deleted: bool = False, **kw: Any) -> bytes:
    """The whole Bulk CSV of ``soql``, header included, from a materialized result."""
    rs = eng.execute(soql, include_deleted=include_deleted, bulk=True)
    try:
        return eng.page_csv(rs, 0, 100_000, **kw)
    finally:
        eng.release(rs)
