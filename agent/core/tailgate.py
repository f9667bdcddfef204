"""Tailgating and piggy-backing, as far as a door contact can tell: door cycles against
the authorisations that paid for them, and exits by holders with no recorded entry.

A door contact cannot count people. What it can tell is that the door opened more
often than anyone was let through it, or stood open long enough for several people
after one was let in. Every authorisation (a card or pass granted, the exit button, a
remote open) buys ``cycles_per_grant`` passages, each good for ``window_s``; a door
cycle that finds none left is an extra cycle, and an opening held ``several_passages_s``
takes one more. Pure: fed with monotonic times, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Literal, Protocol

Direction = Literal["in", "out"]
Reason = Literal["extra_cycle", "held_for_several"]


class TailgateRule(Protocol):
    """A door's tailgating settings (``TailgateConfig`` in the config models)."""

    @property
    def window_s(self) -> float: ...
    @property
    def cycles_per_grant(self) -> int: ...
    @property
    def several_passages_s(self) -> float: ...  # 0: not checked
    @property
    def settle_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Suspicion:
    """What the counter saw: the alarm's details."""

    reason: Reason
    cycles: int  # door cycles begun in the last window_s
    grants: int  # authorisations (grants, exit requests, remote opens) in the last window_s
    window_s: float
    open_s: float | None = None  # held_for_several: how long the door had been open

    def details(self) -> dict[str, object]:
        out: dict[str, object] = {"reason": self.reason, "cycles": self.cycles,
                                  "grants": self.grants, "window_s": self.window_s}  # fmt: skip
        if self.open_s is not None:
            out["open_s"] = round(self.open_s, 1)
        return out


@dataclass(slots=True)
class _Cycle:
    started: float
    counted: bool  # False: forced open (its own alarm) or a released door
    spare: int = 0  # passages paid for while it stood open (someone else let through)
    held_checked: bool = False


class DoorCycles:
    """One door's authorisations against its cycles (open, then closed for ``settle_s``)."""

    def __init__(self, rule: TailgateRule) -> None:
        self.rule = rule
        self._passages: deque[float] = deque()  # expiry of each unspent passage, oldest first
        self._grants: deque[float] = deque()  # when each authorisation came
        self._cycles: deque[float] = deque()  # when each counted cycle began
        self._cycle: _Cycle | None = None  # the current one, or the last until it settles
        self._open = False
        self._closed_at = 0.0
        self._quiet_at = float("-inf")  # an episode's alarms fold into one until then
        self.held_back = 0  # suspicions folded into an alarm already raised

    def _prune(self, now: float) -> None:
        since = now - self.rule.window_s
        for times in (self._grants, self._cycles):
            while times and times[0] < since:
                times.popleft()
        while self._passages and self._passages[0] <= now:
            self._passages.popleft()

    def authorised(self, now: float) -> None:
        """A grant, exit request or remote open: the door may cycle once (or more) for it."""
        self._prune(now)
        self._grants.append(now)
        cycle = self._cycle
        if self._open and cycle is not None and cycle.counted:
            # let through the door that already stands open: a passage of this opening
            cycle.spare += self.rule.cycles_per_grant
            return
        self._passages.extend([now + self.rule.window_s] * self.rule.cycles_per_grant)

    def opened(self, now: float, counted: bool) -> Suspicion | None:
        """The contact opened; ``counted`` is False for a forced or released door."""
        self._open = True
        cycle = self._cycle
        if cycle is not None and now - self._closed_at < self.rule.settle_s:
            return None  # closed too briefly to be a cycle: chatter, or a door bouncing back
        self._cycle = _Cycle(now, counted)
        if not counted:
            return None
        self._prune(now)
        self._cycles.append(now)
        if self._passages:
            self._passages.popleft()
            return None
        return self._suspect("extra_cycle", now)

    def closed(self, now: float) -> None:
        self._open = False
        self._closed_at = now

    def held_due(self) -> float | None:
        """When the open door should be checked for several passages, or None."""
        cycle, several = self._cycle, self.rule.several_passages_s
        if not self._open or cycle is None or not cycle.counted or cycle.held_checked:
            return None
        return cycle.started + several if several else None

    def held(self, now: float) -> Suspicion | None:
        """Check a door still open: held this long after one passage takes another."""
        due = self.held_due()
        if due is None or now < due:
            return None
        cycle = self._cycle
        assert cycle is not None
        cycle.held_checked = True
        if cycle.spare:
            return None
        self._prune(now)
        if self._passages:
            self._passages.popleft()
            return None
        return self._suspect("held_for_several", now, now - cycle.started)

    def reset(self) -> None:
        """The door was released (or the rule changed): nothing before counts."""
        self._passages.clear()
        self._cycle = None

    def _suspect(self, reason: Reason, now: float, open_s: float | None = None) -> Suspicion | None:
        folded = now < self._quiet_at
        self._quiet_at = now + self.rule.window_s  # one episode until a quiet window
        if folded:
            self.held_back += 1
            return None
        window = self.rule.window_s
        return Suspicion(reason, len(self._cycles), len(self._grants), window, open_s)


class Whereabouts(Protocol):
    """Which way each holder last went at this gate. Presence can stand in for it."""

    def last_direction(self, holder_id: str) -> Direction | None: ...
    def passed(self, holder_id: str, direction: Direction) -> None: ...


class LastDirections:
    """``Whereabouts`` in memory, the most recent ``limit`` holders (oldest forgotten)."""

    def __init__(self, limit: int = 20_000) -> None:
        self._limit = limit
        self._last: OrderedDict[str, Direction] = OrderedDict()

    def last_direction(self, holder_id: str) -> Direction | None:
        return self._last.get(holder_id)

    def passed(self, holder_id: str, direction: Direction) -> None:
        self._last[holder_id] = direction
        self._last.move_to_end(holder_id)
        if len(self._last) > self._limit:
            self._last.popitem(last=False)


def exit_without_entry(seen: Whereabouts, holder_id: str, direction: Direction) -> bool:
    """Note a granted passage; True for an exit by a holder whose last way was not in."""
    before = seen.last_direction(holder_id)
    seen.passed(holder_id, direction)
    return direction == "out" and before != "in"
