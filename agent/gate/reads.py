"""The card-read path: credential, allow-list lookup, decision, durable event, then relay."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Literal, Protocol

from agent.core.anomaly import DenialWatch, Trip
from agent.core.clock import Clock
from agent.core.decision import SUSPICIOUS, DecisionContext, decide
from agent.core.door import Door
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.core.modes import Modes
from agent.core.schedules import Schedule, compile_all
from agent.errors import StorageFault
from agent.gate.ports import DecisionRecord
from agent.models.config import GateConfig
from agent.models.wire import Event
from agent.store.allowlist import AllowListStore
from agent.store.credentials import CredentialHasher
from drivers.base import CardReader, Feedback
from drivers.cards import CardRead


class EmitEvent(Protocol):
    """Appends an event durably and returns it (with its seq)."""

    def __call__(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event: ...


@dataclass(frozen=True)
class ReaderPlace:
    """Where a reader is: its door and which way it lets people through."""

    door: str
    direction: Literal["in", "out"]


class ReadHandler:
    """Decides each read on the core loop. Holds the rules that a live config change swaps."""

    def __init__(
        self,
        config: GateConfig,
        *,
        clock: Clock,
        loop: CoreLoop,
        hasher: CredentialHasher,
        allowlist: AllowListStore,
        doors: Mapping[str, Door],
        readers: Mapping[str, CardReader],
        modes: Modes,
        emit: EmitEvent,
    ) -> None:
        self._clock = clock
        self._loop = loop
        self._hasher = hasher
        self._allowlist = allowlist
        self._doors = doors
        self._readers = readers
        self._modes = modes
        self._emit = emit
        self._zone = config.zone()
        self.places = {
            r.id: ReaderPlace(d.id, r.direction) for d in config.doors for r in d.readers
        }
        self.watch = DenialWatch(config.alarms)
        self.listeners: list[Callable[[DecisionRecord], None]] = []
        self.learning: dict[str, Callable[[CardRead], None]] = {}  # reader -> one-shot taker
        self.last_read: dict[str, datetime] = {}
        self._schedules: dict[str, Schedule] = {}
        self._policy = config.clock.untrusted_policy
        self.reconfigure(config)

    def reconfigure(self, config: GateConfig) -> None:
        self._schedules = compile_all(config.schedules, config.holidays)
        self._policy = config.clock.untrusted_policy
        self.watch.reconfigure(config.alarms)

    def handle(self, read: CardRead) -> DecisionRecord | None:
        if self.learning and (take := self.learning.pop(read.reader, None)) is not None:
            take(read)  # enrolment: the card is shown to the installer, not decided
            return None
        place = self.places[read.reader]
        door = self._doors[place.door]
        credential, masked = self._hasher.identify(read.card)
        entry = self._allowlist.lookup(credential)
        mono = self._clock.monotonic()
        now = self._clock.now()
        self.last_read[read.reader] = now
        ctx = DecisionContext(
            door=place.door,
            now=now,
            local=now.astimezone(self._zone),
            mode=self._modes.door_mode(door.released),
            clock_trusted=self._clock.is_trusted(),
            untrusted_policy=self._policy,
            reader_locked=self.watch.locked("reader", read.reader, mono),
            card_locked=self.watch.locked("card", credential, mono),
            schedules=self._schedules,
        )
        decision = decide(entry, ctx)
        holder = entry.holder_id if entry else None
        kind = entry.kind.value if entry else None
        unit = entry.unit if entry else None
        # the event is durable before the relay moves: no effect without its record
        try:
            event = self._emit(
                EventType.ACCESS_GRANTED if decision.granted else EventType.ACCESS_DENIED,
                place.door,
                granted=decision.granted,
                reason=decision.reason.value,
                reader=read.reader,
                direction=place.direction,
                card=masked,
                credential=credential,
                holder_id=holder,
                kind=kind,
                unit=unit,
            )
        except StorageFault:
            self._readers[read.reader].feedback(Feedback.DENY)  # nothing recorded: refused
            raise
        if decision.granted and not door.released:
            door.pulse("card")
        self._readers[read.reader].feedback(Feedback.GRANT if decision.granted else Feedback.DENY)
        record = DecisionRecord(
            read.read_id,
            read.reader,
            place.door,
            place.direction,
            decision.granted,
            decision.reason.value,
            masked,
            holder,
            kind,
            unit,
            event.seq,
        )
        if not decision.granted and decision.reason in SUSPICIOUS:
            for trip in self.watch.record(read.reader, credential, mono):
                self._tripped(trip, place.door, masked)
        for listener in self.listeners:
            listener(record)
        return record

    def _tripped(self, trip: Trip, door_id: str, masked: str) -> None:
        subject = trip.key if trip.scope == "reader" else masked
        self._emit(
            EventType.REPEATED_DENIALS,
            door_id,
            scope=trip.scope,
            subject=subject,
            count=trip.count,
            window_s=trip.window_s,
            lockout_s=trip.lockout_s,
        )
        if trip.lockout_s:
            ended = partial(
                self._emit, EventType.LOCKOUT_ENDED, door_id, scope=trip.scope, subject=subject
            )
            self._loop.call_later(trip.lockout_s, ended)
