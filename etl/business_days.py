"""The business-day calendar filings follow: weekdays that are not US federal legal holidays.

A Daily Seg filing is made for each business day (CFTC Rule 1.32 counts any day other than a Saturday,
Sunday or legal holiday). Holidays are computed from their rules (fixed dates moved to the nearest
weekday, "nth weekday of the month" dates), so the calendar works for any year without a table.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) ``weekday`` (Mon=0) of a month; n=-1 is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A holiday on Saturday is observed on Friday, on Sunday on Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=None)
def us_federal_holidays(year: int) -> frozenset[date]:
    days = {
        _observed(date(year, 1, 1)),                # New Year's Day
        _nth_weekday(year, 1, 0, 3),                # Birthday of Martin Luther King, Jr.
        _nth_weekday(year, 2, 0, 3),                # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),               # Memorial Day
        _observed(date(year, 7, 4)),                # Independence Day
        _nth_weekday(year, 9, 0, 1),                # Labor Day
        _nth_weekday(year, 10, 0, 2),               # Columbus Day
        _observed(date(year, 11, 11)),              # Veterans Day
        _nth_weekday(year, 11, 3, 4),               # Thanksgiving Day
        _observed(date(year, 12, 25)),              # Christmas Day
    }
    if year >= 2021:
        days.add(_observed(date(year, 6, 19)))      # Juneteenth National Independence Day
    # New Year's Day of the next year observed on this year's December 31.
    next_new_year = _observed(date(year + 1, 1, 1))
    if next_new_year.year == year:
        days.add(next_new_year)
    return frozenset(d for d in days if d.year == year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in us_federal_holidays(day.year)


def next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def previous_business_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def last_business_day_in_month(day: date) -> date | None:
    """The last business day on or before ``day`` in ``day``'s month (a month-end can fall on a weekend or
    a holiday); None when the month has no business day that early."""
    month = day.month
    while not is_business_day(day):
        day -= timedelta(days=1)
        if day.month != month:
            return None
    return day


def business_days(start: date, end: date) -> list[date]:
    """Business days from ``start`` to ``end``, both included."""
    out = []
    day = start
    while day <= end:
        if is_business_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out
