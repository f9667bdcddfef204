"""Abnormal behaviour: too many denials at one reader or for one card in a window."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol


class ThresholdSpec(Protocol):
    """How many denials in how long trip an alarm, and for how long to lock out."""

    @property
    def count(self) -> int: ...
    @property
    def window_s(self) -> float: ...
    @property
    def lockout_s(self) -> float: ...


class AlarmSpec(Protocol):
    """The ``[alarms]`` section as the detector reads it."""

    @property
    def reader_denials(self) -> ThresholdSpec: ...
    @property
    def card_denials(self) -> ThresholdSpec: ...


@dataclass(frozen=True)
class Trip:
    """A threshold crossed: raise an alarm, and lock out until ``until`` if set."""

    scope: str  # "reader" or "card"
    key: str  # reader id or credential hash
    count: int
    window_s: float
    lockout_s: float


Slot = tuple[str, str]


@dataclass(frozen=True)
class WatchMark:
    """A read's reader and card windows and lockouts as they were before it was counted."""

    slots: tuple[tuple[Slot, tuple[float, ...] | None, float | None], ...]


class DenialWatch:
    """Sliding windows over monotonic time; one instance per App, touched by the core thread."""

    def __init__(self, config: AlarmSpec) -> None:
        self._limits = {"reader": config.reader_denials, "card": config.card_denials}
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}

    def reconfigure(self, config: AlarmSpec) -> None:
        self._limits = {"reader": config.reader_denials, "card": config.card_denials}

    def record(self, reader: str, credential: str, now: float) -> list[Trip]:
        trips = []
        for scope, key in (("reader", reader), ("card", credential)):
            trip = self._count((scope, key), self._limits[scope], now)
            if trip:
                trips.append(trip)
        return trips

    def mark(self, reader: str, credential: str) -> WatchMark:
        """What ``record`` for this read would change, to ``restore`` if the read's event
        is never stored: a refusal nobody recorded must not count toward a lockout."""
        slots = (("reader", reader), ("card", credential))
        return WatchMark(
            tuple(
                (slot, tuple(self._seen[slot]) if slot in self._seen else None,
                 self._locked_until.get(slot))
                for slot in slots
            )
        )  # fmt: skip

    def restore(self, mark: WatchMark) -> None:
        """Put the windows and lockouts of ``mark`` back as they were."""
        for slot, seen, until in mark.slots:
            if seen is None:
                self._seen.pop(slot, None)
            else:
                self._seen[slot] = deque(seen)
            if until is None:
                self._locked_until.pop(slot, None)
            else:
                self._locked_until[slot] = until

    def _count(self, slot: tuple[str, str], limit: ThresholdSpec, now: float) -> Trip | None:
        times = self._seen.setdefault(slot, deque())
        times.append(now)
        while times and times[0] <= now - limit.window_s:
            times.popleft()
        if len(times) < limit.count:
            return None
        count = len(times)
        times.clear()  # one alarm per burst, not one per further denial
        if limit.lockout_s:
            self._locked_until[slot] = now + limit.lockout_s
        return Trip(slot[0], slot[1], count, limit.window_s, limit.lockout_s)

    def locked(self, scope: str, key: str, now: float) -> bool:
        until = self._locked_until.get((scope, key))
        if until is None:
            return False
        if now >= until:
            del self._locked_until[(scope, key)]
            return False
        return True

    def prune(self, now: float) -> None:
        """Forget idle windows so a stream of distinct unknown cards cannot grow memory."""
        longest = max(lim.window_s for lim in self._limits.values())
        for slot in [s for s, t in self._seen.items() if not t or t[-1] <= now - longest]:
            del self._seen[slot]
