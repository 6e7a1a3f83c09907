"""Time in UTC: the one ``utcnow()`` of lht, and the one conversion to aware UTC.

Every time lht stores or compares (watermarks, windows, ``_lht_extracted_at``, freshness)
is an aware UTC datetime; this module is where they come from.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """This host's clock now, aware, in UTC."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be in UTC already."""
    return (
        moment.replace(tzinfo=timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc)
    )


def parse_sf_datetime(value: str) -> datetime:
    """Salesforce's ``2024-01-15T10:30:00.000+0000`` (or ``...Z``) as an aware UTC datetime."""
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text).astimezone(timezone.utc)
