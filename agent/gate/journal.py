"""Recording events: durable first, then acted on, then announced.

Every event is committed before anything it caused happens (no effect without its
record). Events recorded inside ``group()`` share one commit, so reads that arrived
together cost one fsync between them; the group's effects (relays, reader lights)
run right after that commit, and only then are the events announced: a log line
each and the listeners (the uplink's outbox, Home Assistant), which is also when the
wire model of each event is built. All calls on the core loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from agent.core.clock import Clock
from agent.core.kinds import EventType
from agent.errors import StorageFault
from agent.gate.describe import describe, level
from agent.gate.storage_watch import Scheduler, StorageWatch
from agent.models.wire import Event
from agent.store.event_schema import Stored
from agent.store.eventlog import EventLog, Stage

log = logging.getLogger(__name__)
events_log = logging.getLogger("agent.events")  # one line per event, its own level

Effect = Callable[[], None]
# sees each event as it is recorded and names details to add to it (a drill's mark), or None
Marker = Callable[[EventType, str | None], Mapping[str, Any] | None]


class Journal:
    """The core loop's way into the event log: emit one event, or a group with one fsync."""

    def __init__(
        self,
        events: EventLog,
        clock: Clock,
        loop: Scheduler,
        listeners: list[Callable[[Event], None]],
    ) -> None:
        self._events = events
        self._clock = clock
        self.listeners = listeners  # the App's list: parts add to it after construction
        self.storage = StorageWatch(clock, loop, self.emit)
        self._stage: Stage | None = None  # the open group's writer
        self._staged: list[Stored] = []
        self._effects: list[Effect] = []
        self._tries = 0  # events the open group has tried to write
        self.marker: Marker | None = None  # set only while a drill runs

    def _marked(self, type_: EventType, door: str | None, details: dict[str, Any]) -> None:
        extra = self.marker(type_, door) if self.marker is not None else None
        for key, value in (extra or {}).items():
            details.setdefault(key, value)  # what the caller said stays

    def emit(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event:
        """Record one event now (or with the open group) and return it."""
        if self.marker is not None:
            self._marked(type_, door, details)
        if self._stage is not None:
            self._tries += 1
            stored = self._stage(type_, door, details, self._clock.now())
            self._staged.append(stored)
            return self._events.to_event(stored)
        try:
            event = self._events.append(type_, door, **details)
        except StorageFault as exc:
            self.storage.failed(exc)
            raise
        self.storage.stored()
        self._announce(event)
        return event

    __call__ = emit

    def record(
        self, type_: EventType, door: str | None, details: dict[str, Any], when: datetime
    ) -> int:
        """Stage an event stamped ``when`` in the open group; returns its seq."""
        assert self._stage is not None, "record() belongs inside group()"
        if self.marker is not None:
            details = dict(details)  # the caller's dict is not ours to change
            self._marked(type_, door, details)
        self._tries += 1
        stored = self._stage(type_, door, details, when)
        self._staged.append(stored)
        return stored.seq

    @contextmanager
    def group(self) -> Iterator[list[Effect]]:
        """Events recorded inside commit together when the block ends (one fsync).

        Yields a list for the block to add effects to: they run after that commit, in
        order, and before the events are announced. If the commit fails, none of them
        runs and ``StorageFault`` is raised. A group inside a group joins it.
        """
        if self._stage is not None:
            yield self._effects
            return
        staged: list[Stored] = []
        effects: list[Effect] = []
        self._tries = 0
        try:
            with self._events.together() as stage:
                self._stage, self._staged, self._effects = stage, staged, effects
                try:
                    yield effects
                finally:
                    self._stage, self._staged, self._effects = None, [], []
        except StorageFault as exc:
            for _ in range(max(1, self._tries)):  # every event it could not keep
                self.storage.failed(exc)
            raise
        failure: Exception | None = None
        for effect in effects:
            try:
                effect()
            except Exception as exc:  # one door's fault must not keep the others shut
                if failure is None:
                    failure = exc
                else:
                    log.error("effect after a group commit failed", exc_info=exc)
        for stored in staged:
            self._announce(stored)
        self.storage.stored()  # after the doors: a recovery report is a commit of its own
        if failure is not None:
            raise failure

    def _announce(self, event: Event | Stored) -> None:
        if events_log.isEnabledFor(level(event.type)):
            text = describe(event.type, event.door, event.details)
            events_log.log(level(event.type), "%s [seq %d]", text, event.seq)
        if self.listeners:  # the wire model only for someone who wants it
            wire = event if isinstance(event, Event) else self._events.to_event(event)
            for listener in self.listeners:
                listener(wire)
