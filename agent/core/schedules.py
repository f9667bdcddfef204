"""Weekly schedules with holidays, evaluated on local time.

A window belongs to the day it starts on: ``fri 22:00-06:00`` covers Friday night
into Saturday morning, and whether Friday is a holiday decides it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from agent.core.kinds import WEEKDAYS


class WindowSpec(Protocol):
    """A configured time window (``TimeWindow`` in the config models)."""

    @property
    def days(self) -> Sequence[str]: ...
    @property
    def start(self) -> time: ...
    @property
    def end(self) -> time: ...


class ScheduleSpec(Protocol):
    """A configured schedule (``ScheduleConfig``): what the core needs of it."""

    @property
    def windows(self) -> Sequence[WindowSpec]: ...
    @property
    def holidays(self) -> str | None: ...
    @property
    def holiday_windows(self) -> Sequence[WindowSpec]: ...


@dataclass(frozen=True)
class Schedule:
    """A compiled schedule: minute ranges per weekday plus a holiday set."""

    regular: tuple[tuple[tuple[int, int], ...], ...]  # per weekday: (start, end) minutes
    holiday: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date]

    @classmethod
    def compile(cls, config: ScheduleSpec, holidays: Iterable[date] = ()) -> Schedule:
        return cls(_by_day(config.windows), _by_day(config.holiday_windows), frozenset(holidays))

    def allows(self, local: datetime) -> bool:
        """True if ``local`` (wall time in the gate's zone) falls in a window."""
        minute = local.hour * 60 + local.minute
        today = local.date()
        yesterday = today - timedelta(days=1)
        for start, end in self._windows(today):
            if start <= minute < end:
                return True
        # the tail of yesterday's windows that run past midnight
        return any(end > 1440 and minute < end - 1440 for _start, end in self._windows(yesterday))

    def _windows(self, day: date) -> tuple[tuple[int, int], ...]:
        table = self.holiday if day in self.holidays else self.regular
        return table[day.weekday()]


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _by_day(windows: Iterable[WindowSpec]) -> tuple[tuple[tuple[int, int], ...], ...]:
    days: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    for window in windows:
        start, end = _minutes(window.start), _minutes(window.end)
        if end <= start:
            end += 1440  # crosses midnight (00:00 as an end is midnight)
        for name in window.days:
            days[WEEKDAYS.index(name)].append((start, end))
    return tuple(tuple(sorted(d)) for d in days)


def compile_all(
    schedules: Mapping[str, ScheduleSpec], holidays: Mapping[str, Iterable[date]]
) -> dict[str, Schedule]:
    return {
        name: Schedule.compile(cfg, holidays.get(cfg.holidays, ()) if cfg.holidays else ())
        for name, cfg in schedules.items()
    }
