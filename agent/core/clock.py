"""Injected time: the system clock in production, a manual clock in tests."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

# A Pi without an RTC boots at its last saved time or at 1970; anything before
# this release date cannot be real wall-clock time.
EARLIEST_PLAUSIBLE = datetime(2026, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    """What the agent asks of time."""

    def now(self) -> datetime:
        """Aware UTC wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; for timers and latencies."""
        ...

    def is_trusted(self) -> bool:
        """True when wall-clock time is believed correct (NTP synced)."""
        ...


class SystemClock:
    """The machine's clocks. Trust needs a plausible date and, if given, a sync marker file."""

    def __init__(self, sync_marker: str | None = None) -> None:
        self._sync_marker = sync_marker

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def is_trusted(self) -> bool:
        if self.now() < EARLIEST_PLAUSIBLE:
            return False
        return self._sync_marker is None or os.path.exists(self._sync_marker)


class ManualClock:
    """A clock that moves only when told to; wall and monotonic time advance together."""

    def __init__(self, start: datetime | None = None, trusted: bool = True) -> None:
        self._now = start or datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._mono = 1000.0
        self._lock = threading.Lock()
        self.trusted = trusted

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def is_trusted(self) -> bool:
        return self.trusted

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds

    def set(self, when: datetime) -> None:
        """Jump wall time (as NTP would); monotonic time is untouched."""
        with self._lock:
            self._now = when.astimezone(UTC)
