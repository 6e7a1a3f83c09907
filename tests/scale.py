"""How much data and how many repetitions the suite uses: small by default, the full counts
when ``LHT_TEST_FULL=1`` (the nightly job sets it; see the README's test section).

A test that repeats something (kills, rounds) or needs volume (rows, pages) takes its numbers
from :func:`full_or`, so `make test` stays fast while the nightly run keeps the full strength.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

#: True when the full counts are asked for.
FULL = os.environ.get("LHT_TEST_FULL", "") not in ("", "0")


def full_or(default: T, full: T) -> T:
    """``full`` under ``LHT_TEST_FULL=1``, else ``default``."""
    return full if FULL else default
