"""SOQL date literals (``TODAY``, ``LAST_N_DAYS:30``, ``THIS_QUARTER``...) as ranges of days.

The org's time zone is UTC and its fiscal year is the calendar year starting in January
(Salesforce's defaults); weeks start on Sunday (the en_US locale). Each literal stands for
the half-open range of days ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt

_DAY = dt.timedelta(days=1)


def _month_start(day: dt.date, shift: int = 0) -> dt.date:
    months = day.year * 12 + day.month - 1 + shift
    return dt.date(months // 12, months % 12 + 1, 1)


def _quarter_start(day: dt.date, shift: int = 0) -> dt.date:
    first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return _month_start(first, 3 * shift)


def _year_start(day: dt.date, shift: int = 0) -> dt.date:
    return dt.date(day.year + shift, 1, 1)


def _week_start(day: dt.date, shift: int = 0) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() + 1) % 7) + dt.timedelta(weeks=shift)


_UNITS = {
    "week": _week_start,
    "month": _month_start,
    "quarter": _quarter_start,
    "year": _year_start,
    "fiscal_quarter": _quarter_start,
    "fiscal_year": _year_start,
}


def date_range(name: str, n: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days ``[start, end)`` date literal ``name`` (lower-case, ``n`` for ``:n``) covers."""
    if name in ("yesterday", "today", "tomorrow"):
        start = today + _DAY * ("yesterday", "today", "tomorrow").index(name) - _DAY
        return start, start + _DAY
    if name in ("last_90_days", "next_90_days"):
        name, n = name.replace("90", "n"), 90
    if name == "last_n_days":
        return today - _DAY * int(n or 0), today + _DAY
    if name == "next_n_days":
        return today + _DAY, today + _DAY * (int(n or 0) + 1)
    if name == "n_days_ago":
        return today - _DAY * int(n or 0), today - _DAY * (int(n or 0) - 1)
    for unit, start_of in _UNITS.items():
        if name in (f"last_{unit}", f"this_{unit}", f"next_{unit}"):
            shift = ("last", "this", "next").index(name.split("_", 1)[0]) - 1
            return start_of(today, shift), start_of(today, shift + 1)
        if name == f"last_n_{unit}s":
            return start_of(today, -int(n or 0)), start_of(today)
        if name == f"next_n_{unit}s":
            return start_of(today, 1), start_of(today, 1 + int(n or 0))
        if name == f"n_{unit}s_ago":
            return start_of(today, -int(n or 0)), start_of(today, 1 - int(n or 0))
    raise ValueError(f"unknown date literal {name}")
