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
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
