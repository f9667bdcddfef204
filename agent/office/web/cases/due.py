"""Due times counted in working days: Saturdays, Sundays and the site's holidays skipped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta


def parse_holidays(text: str) -> frozenset[date]:
    """Holidays from a comma-separated list of ISO dates (the setting's form)."""
    return frozenset(date.fromisoformat(part.strip()) for part in text.split(",") if part.strip())


def add_working_days(start: date, days: int, holidays: Iterable[date]) -> date:
    """The day ``days`` working days after ``start``."""
    off = frozenset(holidays)
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            left -= 1
    return day


def due_at(received: datetime, days: int, holidays: Iterable[date]) -> datetime:
    """The same time of day, ``days`` working days after ``received``."""
    later = add_working_days(received.date(), days, holidays)
    return received + timedelta(days=(later - received.date()).days)
