"""A vehicle barrier's arm as a pure state machine: events in, relay commands out.

The one rule above all others: the arm is never commanded down while the safety loop
(the induction loop under the arm) reports a vehicle, or while that loop is faulty,
or while a release (fire, drill) holds it up, whatever the timers say. Every path
that lowers goes through ``_may_lower``; the property tests drive every interleaving
of grants, loops, faults, holds and timers against it.

No I/O and no clock here: the gate's ``BarrierDoor`` feeds events and carries out the
returned actions (relay, timers, events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Phase(StrEnum):
    """Where the arm is in its cycle (as status shows it)."""

    DOWN = "down"
    WAITING = "waiting"  # raised for a vehicle that has not reached the safety loop
    OCCUPIED = "occupied"  # a vehicle is on the safety loop
    CLOSING = "closing"  # the vehicle left; the close delay runs
    HELD = "held"  # a release holds it up


class TimerName(StrEnum):
    ARM = "arm"  # max raise without a vehicle, or the close delay
    STUCK = "stuck"  # the safety loop reporting a vehicle implausibly long


@dataclass(frozen=True, slots=True)
class Timings:
    """``max_raise_s``: up with no vehicle before it lowers; ``close_delay_s``: after the
    vehicle leaves the safety loop; ``stuck_s``: presence that long is reported a fault."""

    max_raise_s: float = 30.0
    close_delay_s: float = 1.5
    stuck_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Move:
    """Drive the arm: up (True) or down (False)."""

    up: bool


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)start a named timer; when it fires, call ``timer(name, token)``."""

    name: TimerName
    seconds: float
    token: int


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to record: ``vehicle_tailgate``, ``barrier_loop_fault``, ..."""

    kind: str
    details: dict[str, object] = field(default_factory=dict)


Action = Move | StartTimer | Notice


@dataclass
class Barrier:
    """One arm. Every method returns the actions to carry out, in order."""

    timings: Timings = field(default_factory=Timings)
    up: bool = False  # as last commanded
    present: bool = False  # the safety loop reports a vehicle
    armed: bool = False  # the arming loop (before the barrier) reports a vehicle
    detector_fault: bool = False  # the loop detector's fault output
    stuck: bool = False  # the safety loop reported presence for over stuck_s
    held: bool = False
    allowed: int = 0  # vehicles this raise lets through (one per grant)
    passed: int = 0  # vehicles that crossed the safety loop on this raise
    tailgates: int = 0  # since start, for status
    tokens: dict[TimerName, int] = field(default_factory=lambda: dict.fromkeys(TimerName, 0))

    # -- what it is ------------------------------------------------------------
    @property
    def fault(self) -> bool:
        return self.detector_fault or self.stuck

    @property
    def phase(self) -> Phase:
        if not self.up:
            return Phase.DOWN
        if self.held:
            return Phase.HELD
        if self.present:
            return Phase.OCCUPIED
        return Phase.CLOSING if self.passed >= max(self.allowed, 1) else Phase.WAITING

    def _may_lower(self) -> bool:
        return self.up and not (self.present or self.fault or self.held)

    def _timer(self, name: TimerName, seconds: float) -> StartTimer:
        self.tokens[name] += 1
        return StartTimer(name, seconds, self.tokens[name])

    def _forget(self, name: TimerName) -> None:
        self.tokens[name] += 1  # a timer already running fires stale and does nothing

    # -- events ------------------------------------------------------------------
    def grant(self) -> list[Action]:
        """A granted read, a guard's raise or an exit: one more vehicle may pass."""
        if self.held:
            return []
        actions: list[Action] = []
        if not self.up:
            self.up, self.allowed, self.passed = True, 0, 0
            actions.append(Move(True))
        self.allowed += 1
        if not self.present:  # wait for it; a vehicle on the loop keeps the arm up anyway
            actions.append(self._timer(TimerName.ARM, self.timings.max_raise_s))
        return actions

    def safety_loop(self, present: bool) -> list[Action]:
        if present == self.present:
            return []
        self.present = present
        if present:
            self._forget(TimerName.ARM)
            return [self._timer(TimerName.STUCK, self.timings.stuck_s)]
        self._forget(TimerName.STUCK)
        actions: list[Action] = []
        if self.stuck:
            self.stuck = False
            actions.append(Notice("barrier_loop_restored", {"cause": "stuck"}))
        if not self.up or self.held:
            return actions  # crossing under a held arm, or behind a closed one: not ours
        self.passed += 1
        if self.passed > self.allowed:
            self.tailgates += 1
            actions.append(
                Notice("vehicle_tailgate", {"vehicles": self.passed, "allowed": self.allowed})
            )
        if self.passed >= self.allowed:
            actions.append(self._timer(TimerName.ARM, self.timings.close_delay_s))
        else:  # more vehicles were granted: wait for the next one
            actions.append(self._timer(TimerName.ARM, self.timings.max_raise_s))
        return actions

    def arming_loop(self, present: bool) -> list[Action]:
        self.armed = present
        return []

    def detector(self, faulty: bool) -> list[Action]:
        """The loop detector's fault output (or its input lost)."""
        if faulty == self.detector_fault:
            return []
        self.detector_fault = faulty
        if faulty:
            return [Notice("barrier_loop_fault", {"cause": "detector"})]
        return [Notice("barrier_loop_restored", {"cause": "detector"}), *self._close_later()]

    def hold(self, on: bool) -> list[Action]:
        """A release (fire, drill, the office): up and held; when it ends, close as usual."""
        if on == self.held:
            return []
        self.held = on
        self._forget(TimerName.ARM)
        if on:
            if self.up:
                return []
            self.up = True
            return [Move(True)]
        self.allowed = self.passed = 0
        return self._close_later()

    def timer(self, name: TimerName, token: int) -> list[Action]:
        if token != self.tokens[name]:
            return []  # replaced or forgotten since it was started
        if name is TimerName.STUCK:
            if self.present and not self.stuck:
                self.stuck = True
                return [Notice("barrier_loop_fault", {"cause": "stuck"})]
            return []
        return self.lower()

    def lower(self) -> list[Action]:
        """Lower now if that is safe; otherwise nothing (the loop's clearing closes it)."""
        if not self._may_lower():
            return []
        self._forget(TimerName.ARM)
        self.up, self.allowed, self.passed = False, 0, 0
        return [Move(False)]

    def _close_later(self) -> list[Action]:
        if not self.up or self.present or self.fault or self.held:
            return []
        return [self._timer(TimerName.ARM, self.timings.close_delay_s)]
