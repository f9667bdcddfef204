"""Reader health on the gate's side: faults and restorations, tamper and power, keypads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from agent.core.clock import Clock
from agent.core.door import Emit
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.gate.lanes import ReaderLanes
from drivers.base import CardReader, Condition, ReaderHooks

log = logging.getLogger(__name__)

_CONDITION_EVENTS = {
    (Condition.TAMPER, True): EventType.READER_TAMPER,
    (Condition.TAMPER, False): EventType.READER_TAMPER_CLEARED,
    (Condition.POWER, True): EventType.READER_POWER_FAULT,
    (Condition.POWER, False): EventType.READER_POWER_RESTORED,
}


@dataclass
class ReaderHealth:
    """What status says about one reader."""

    state: str = "starting"  # starting | ok | fault
    since: datetime | None = None
    last_error: str = ""


class ReaderMonitor:
    """Turns what readers report into events and status; runs on the core loop."""

    def __init__(
        self,
        readers: Mapping[str, CardReader],
        places: Mapping[str, str],
        loop: CoreLoop,
        clock: Clock,
        emit: Emit,
    ) -> None:
        self._readers = readers
        self._places = places  # reader -> door
        self._loop = loop
        self._clock = clock
        self._emit = emit
        self.health = {name: ReaderHealth() for name in readers}
        # keys go here first (card plus PIN); True: taken, nothing more to record
        self.on_keys: Callable[[str, str], bool] | None = None

    def hooks(self, name: str, lanes: ReaderLanes) -> ReaderHooks:
        """The hooks one reader reports through: each hops onto the core loop; reads
        and scans through the reader's own lane (``agent.gate.lanes``)."""
        post = self._loop.post
        put = partial(lanes.put, name)
        return ReaderHooks(
            read=put,
            health=lambda ok, detail: post(self.health_changed, name, ok, detail),
            condition=lambda c, active, detail: post(self.condition, name, c, active, detail),
            keypad=lambda keys: post(self.keypad, name, keys),
            scan=put,  # scanners: passes
        )

    def health_changed(self, name: str, ok: bool, detail: str) -> None:
        health = self.health[name]
        state = "ok" if ok else "fault"
        if state == health.state:
            return
        was = health.state
        health.state, health.since = state, self._clock.now()
        health.last_error = "" if ok else detail
        door = self._places[name]
        if not ok:
            self._emit(EventType.READER_FAULT, door, reader=name, error=detail)
        elif was == "fault":
            self._emit(EventType.READER_RESTORED, door, reader=name)
        else:
            log.info("reader %s: %s", name, detail or "ready")

    def condition(self, name: str, condition: Condition, active: bool, detail: str) -> None:
        event = _CONDITION_EVENTS[(condition, active)]
        self._emit(event, self._places[name], reader=name, detail=detail)

    def keypad(self, name: str, keys: str) -> None:
        if self.on_keys is not None and self.on_keys(name, keys):
            return
        # the keys may be a PIN: only how many were typed is recorded
        self._emit(EventType.KEYPAD_ENTRY, self._places[name], reader=name, length=len(keys))
