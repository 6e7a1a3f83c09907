"""A clock for a local org that tests (or a demo) can move: the real UTC time plus an offset.

Salesforce's getDeleted/getUpdated cover whole minutes only, so a test that deletes a record
and wants the next sync to see it moves the org's clock past the minute instead of sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class ShiftedClock:
    """This host's UTC time plus ``offset_seconds`` (either sign); :meth:`advance` moves it."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError(
                "an org's clock only moves forward; build a ShiftedClock with a negative offset instead"
            )
        self.offset += timedelta(seconds=seconds)
