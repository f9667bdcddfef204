"""The gate's tailgating watch: each watched door's cycles against its authorisations
(``tailgate_suspected``), and exits by holders with no recorded entry at directional
readers (``exit_without_entry``, counted in the status).

A door is watched when it has a contact and a ``[doors.tailgate]`` table; the table is
read at each change, so a live config change turns the watch on or off. A released
door (fire, drill, release mode) never raises. All calls on the core loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, cast

from agent.core.clock import Clock
from agent.core.door import Door, Emit
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop, Timer
from agent.core.tailgate import (
    Direction,
    DoorCycles,
    LastDirections,
    Suspicion,
    Whereabouts,
    exit_without_entry,
)
from agent.gate.ports import DecisionRecord
from agent.models.config import GateConfig
from agent.models.tailgate import TailgateConfig

if TYPE_CHECKING:
    from agent.gate.app import App

# grants read back from the event log at start, so a restart does not forget who is in
SEED_GRANTS = 5_000


class DoorTailgating:
    """One door's watch (a ``DoorWatch``): feeds ``DoorCycles`` and times the held check."""

    def __init__(
        self,
        door_id: str,
        rule: Callable[[], TailgateConfig | None],
        *,
        loop: CoreLoop,
        clock: Clock,
        emit: Emit,
    ) -> None:
        self.door_id = door_id
        self._rule = rule
        self._loop = loop
        self._clock = clock
        self._emit = emit
        self.cycles: DoorCycles | None = None  # None while the door is not watched
        self._timer: Timer | None = None

    def _watching(self, door: Door) -> DoorCycles | None:
        rule = self._rule()
        if rule is None or door.is_open is None:
            self.cycles = None
        elif self.cycles is None:
            self.cycles = DoorCycles(rule)
        else:
            self.cycles.rule = rule
        if self.cycles is not None and door.released:
            self.cycles.reset()  # a released door lets anyone through: nothing is owed
        return self.cycles

    def authorised(self, door: Door) -> None:
        cycles = self._watching(door)
        if cycles is not None and not door.released:
            cycles.authorised(self._clock.monotonic())

    def contact(self, door: Door, is_open: bool) -> None:
        cycles = self._watching(door)
        if cycles is None:
            return
        now = self._clock.monotonic()
        found = None
        if is_open:
            found = cycles.opened(now, counted=not door.forced and not door.released)
        else:
            cycles.closed(now)
        self._time_held(cycles, door)
        self._raise(found)

    def _time_held(self, cycles: DoorCycles, door: Door) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = cycles.held_due()
        if due is not None:
            wait = max(0.0, due - self._clock.monotonic())
            self._timer = self._loop.call_later(wait, self._held, door)

    def _held(self, door: Door) -> None:
        self._timer = None
        cycles = self._watching(door)
        if cycles is not None and not door.released:
            self._raise(cycles.held(self._clock.monotonic()))

    def _raise(self, found: Suspicion | None) -> None:
        if found is not None:
            self._emit(EventType.TAILGATE_SUSPECTED, self.door_id, **found.details())


class Tailgating:
    """Every door's watch, and the exits without an entry."""

    def __init__(
        self,
        config: Callable[[], GateConfig],
        *,
        doors: Mapping[str, Door],
        loop: CoreLoop,
        clock: Clock,
        emit: Emit,
        whereabouts: Whereabouts | None = None,
    ) -> None:
        self._loop = loop
        self._emit = emit
        self.doors: dict[str, DoorTailgating] = {}
        for door_id, door in doors.items():
            rule = partial(_rule, config, door_id)
            watch = DoorTailgating(door_id, rule, loop=loop, clock=clock, emit=emit)
            self.doors[door_id] = door.watch = watch
        ways = {r.direction for d in config().doors for r in d.readers}
        # only a gate with readers both ways records entries that an exit can lack
        self.directional = ways == {"in", "out"}
        self.whereabouts = whereabouts or LastDirections()
        self.exits_without_entry = 0

    def seed(self, grants: list[tuple[str, Direction]]) -> None:
        """The last grants recorded before this start, oldest first."""
        for holder_id, direction in grants:
            self.whereabouts.passed(holder_id, direction)

    def decided(self, record: DecisionRecord) -> None:
        """A decision listener: a grant at an "out" reader to a holder not seen going in."""
        if not self.directional or not record.granted or not record.holder_id:
            return
        if record.direction not in ("in", "out"):
            return
        direction = cast(Direction, record.direction)
        if exit_without_entry(self.whereabouts, record.holder_id, direction):
            self.exits_without_entry += 1
            # posted: the read's group is committing its own events; this one follows
            event = partial(self._emit, EventType.EXIT_WITHOUT_ENTRY, record.door,
                            holder_id=record.holder_id)  # fmt: skip
            self._loop.post(event)


def _rule(config: Callable[[], GateConfig], door_id: str) -> TailgateConfig | None:
    try:
        return config().door(door_id).tailgate
    except KeyError:  # a door gone from the config: not watched
        return None


def watch_tailgating(app: App) -> Tailgating:
    """The App's watch: on its doors, its read path, and seeded from its event log."""
    watch = Tailgating(lambda: app.config, doors=app.doors, loop=app.loop, clock=app.clock,
                       emit=app.emit)  # fmt: skip
    app.reads.listeners.append(watch.decided)
    if watch.directional:
        grants = app.events.matching(types=[EventType.ACCESS_GRANTED.value], newest=True,
                                     limit=SEED_GRANTS)  # fmt: skip
        watch.seed([
            (str(e.details["holder_id"]), cast(Direction, e.details["direction"]))
            for e in grants
            if e.details.get("holder_id") and e.details.get("direction") in ("in", "out")
        ])  # fmt: skip
    return watch
