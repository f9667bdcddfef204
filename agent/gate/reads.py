"""The card-read path: credential, allow-list lookup, decision, durable event, then relay."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Literal, Protocol

from agent.core.anomaly import DenialWatch, Trip, WatchMark
from agent.core.clock import Clock
from agent.core.decision import SUSPICIOUS, DecisionContext, Reason, decide
from agent.core.door import Door
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.core.modes import Modes
from agent.core.pin import pin_required
from agent.core.presence import Verdict
from agent.core.schedules import Schedule, compile_all
from agent.errors import StorageFault
from agent.gate.pin_entry import PinDesk
from agent.gate.plate_reads import PlateReads
from agent.gate.ports import DecisionRecord
from agent.gate.presence import PresenceKeeper
from agent.gate.secure_reads import SecureReads
from agent.models.config import GateConfig
from agent.models.wire import Event
from agent.store.allowlist import AllowListStore
from agent.store.counters import CardCounters
from agent.store.credentials import CredentialHasher
from agent.store.presence import PresenceStore
from drivers.base import CardReader, Feedback
from drivers.cards import CardRead


class EmitEvent(Protocol):
    """Appends an event durably and returns it (with its seq)."""

    def __call__(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event: ...


class EventSink(Protocol):
    """Records events durably (``agent.gate.journal.Journal``)."""

    def __call__(self, type_: EventType, door: str | None = None, /, **details: Any) -> object: ...

    def record(
        self, type_: EventType, door: str | None, details: dict[str, Any], when: datetime
    ) -> int:
        """Stage an event in the open group; returns its seq."""
        ...

    def group(self) -> AbstractContextManager[list[Callable[[], None]]]:
        """One commit for the events recorded inside; the effects added run after it."""
        ...


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
        events: EventSink,
        counters: CardCounters,
        presence: PresenceStore,
    ) -> None:
        self._clock = clock
        self._loop = loop
        self._hasher = hasher
        self._allowlist = allowlist
        self._doors = doors
        self._readers = readers
        self._modes = modes
        self._events = events
        self._zone = config.zone()
        self.places = {
            r.id: ReaderPlace(d.id, r.direction) for d in config.doors for r in d.readers
        }
        self.watch = DenialWatch(config.alarms)
        self.listeners: list[Callable[[DecisionRecord], None]] = []
        self.learning: dict[str, Callable[[CardRead], None]] = {}  # reader -> one-shot taker
        self.last_read: dict[str, datetime] = {}
        # the open group's denials as counted, undone if its commit fails, and what
        # runs only after that commit
        self._counted: list[WatchMark] = []
        self._after: list[Callable[[], None]] = []
        self._schedules: dict[str, Schedule] = {}
        self._policy = config.clock.untrusted_policy
        self._override_only = True
        self.secure = SecureReads(config, counters)
        self.presence = PresenceKeeper(config, presence)
        self.pins: PinDesk | None = None  # card plus PIN (set by the App)
        self.plates = PlateReads(readers, hasher, allowlist, clock, config.plates.visitor_hours)
        self.reconfigure(config)

    def reconfigure(self, config: GateConfig) -> None:
        self._schedules = compile_all(config.schedules, config.holidays)
        self._policy = config.clock.untrusted_policy
        self._override_only = config.storage.after_restore == "override_only"
        self.watch.reconfigure(config.alarms)
        self.secure.reconfigure(config)
        self.presence.reconfigure(config)

    def handle(self, read: CardRead) -> DecisionRecord | None:
        """Decide one read: its event is durable before its relay moves."""
        return self.handle_all([read])[0]

    def handle_all(
        self, reads: Sequence[CardRead], more: Callable[[], list[CardRead]] | None = None
    ) -> list[DecisionRecord | None]:
        """Decide reads that arrived together, in order, and any that arrive before the
        commit. Their events share it (one fsync, however many readers were tapped at
        once); every relay moves after it. If the log cannot be written, every card is
        refused (nothing recorded). Returns a record per read, ``reads`` first. ``more``
        gives the reads that came meanwhile (the core loop's gathered items by default)."""
        take_more = more or self._loop.more
        records: list[DecisionRecord | None] = []
        decided: list[str] = []  # readers owed a light whatever happens
        failure: Exception | None = None
        self._counted = []
        try:
            with self._events.group() as effects:
                self._after = effects
                pending = list(reads)
                while pending:
                    for read in pending:
                        try:
                            record = self._decide(read, decided)
                        except StorageFault:
                            raise
                        except Exception as exc:  # one read's fault must not cost the others
                            failure = failure or exc
                            record = None
                        records.append(record)
                        if record is not None:
                            effects.append(partial(self._act, record))
                    pending = take_more()  # reads that came meanwhile join this commit
        except StorageFault:
            self.presence.changed()  # moves counted in the lost commit: occupancy counts again
            # refusals that could not be recorded must not feed a lockout nobody recorded
            for mark in reversed(self._counted):
                self.watch.restore(mark)
            for reader in decided:
                self._readers[reader].feedback(Feedback.DENY)  # nothing recorded: refused
            raise
        finally:
            self._counted, self._after = [], []
        if failure is not None:
            raise failure
        return records

    def _decide(self, read: CardRead, decided: list[str]) -> DecisionRecord | None:
        """Decide and stage the event; the relay waits for the commit (``_act``)."""
        if self.learning and (take := self.learning.pop(read.reader, None)) is not None:
            take(read)  # enrolment: the card is shown to the installer, not decided
            return None
        place = self.places[read.reader]
        if read.sighting is not None and read.sighting.unreadable:  # a guard decides
            self.plates.unreadable(read, place.door, self._events.record)
            return None
        decided.append(read.reader)
        door = self._doors[place.door]
        credential, masked = self._hasher.identify(read.card)
        entry, restored = self._allowlist.lookup_marked(credential)
        read_credential = credential
        if entry is None and read.sighting is not None:  # one OCR confusion, if allowed
            if self.plates.by_pass(read, credential, place.door, self._after):
                return None  # a visitor pass's car: the pass desk decides after the commit
            credential, masked, entry, restored = self.plates.tolerate(read, credential, masked)
        facts = self.secure.facts(read, credential)
        mono = self._clock.monotonic()
        now = self._clock.now()  # the one wall-clock read: decision and event share it
        self.last_read[read.reader] = now
        passage, verdict = self.presence.verdict(read.reader, entry, now)
        ctx = DecisionContext(
            door=place.door,
            now=now,
            local=now.astimezone(self._zone),
            mode=self._modes.door_mode(door.released),
            clock_trusted=self._clock.is_trusted(),
            untrusted_policy=self._policy,
            reader_locked=self.watch.locked("reader", read.reader, mono),
            card_locked=self.watch.locked("card", credential, mono),
            list_stale=restored and self._override_only,
            schedules=self._schedules,
            proof=facts.proof,
            door_policy=self.secure.door_policy.get(place.door, "plain"),
            passback=verdict is Verdict.DENY,
            area_full=self.presence.area_full(passage, entry),
            car_park=self.presence.car_park(passage),
        )
        if self.pins is not None:
            ctx = self._with_pin(ctx, read, credential, mono)
        decision = decide(entry, ctx)
        if decision.reason is Reason.PIN_REQUIRED and self.pins is not None and entry:
            self.pins.wait_for(read, credential, place.door, entry.pin_hash or "")
            return None  # decided once the PIN has been typed, or its time is up
        holder = entry.holder_id if entry else None
        kind = entry.kind.value if entry else None
        unit = entry.unit if entry else None
        details: dict[str, Any] = {
            "granted": decision.granted,
            "reason": decision.reason.value,
            "reader": read.reader,
            "direction": place.direction,
            "card": masked,
            "credential": credential,
            "holder_id": holder,
            "kind": kind,
            "unit": unit,
        }
        if read.sighting is not None:
            details |= self.plates.details(read, credential, read_credential)
        if passage is not None:  # the office relays the move to the site's other gates
            details["passage"] = [passage.from_area, passage.to_area]
        granted = EventType.ACCESS_GRANTED if decision.granted else EventType.ACCESS_DENIED
        seq = self._events.record(granted, place.door, details, now)
        if decision.granted and passage is not None and entry is not None:
            self.presence.granted(self._events.record, place.door, passage, entry, verdict,
                                  details, now, seq)  # fmt: skip
        if self.pins is not None:
            self.pins.settled(read, decision, self._events.record, details, seq)
        if self.secure.concerns(read, entry, ctx):
            card = {"card": masked, "credential": credential, "holder_id": holder}
            card |= {"kind": kind, "unit": unit}
            self.secure.after(self._events.record, read, facts, decision, entry, ctx, card, mono)
        if not decision.granted and decision.reason in SUSPICIOUS:
            self._counted.append(self.watch.mark(read.reader, credential))
            for trip in self.watch.record(read.reader, credential, mono):
                self._tripped(trip, place.door, masked)
        return DecisionRecord(read.read_id, read.reader, place.door, place.direction,
                              decision.granted, decision.reason.value, masked, holder, kind,
                              unit, seq)  # fmt: skip

    def _with_pin(
        self, ctx: DecisionContext, read: CardRead, credential: str, mono: float
    ) -> DecisionContext:
        """The PIN's part of the moment: asked for now (or already typed), its result."""
        assert self.pins is not None
        result = self.pins.result_for(read)
        rule = self.pins.rule(ctx.door)
        locked = self.pins.locked(credential, mono)
        if result is None and rule is None and not locked:
            return ctx  # most reads: nothing to do with a PIN
        asked = result is not None or pin_required(rule, ctx.local, ctx.schedules,
                                                   ctx.clock_trusted)  # fmt: skip
        return replace(ctx, pin_required=asked, pin=result, pin_locked=locked)

    def _act(self, record: DecisionRecord) -> None:
        """After the commit: the relay first, then the reader's light, then listeners."""
        door = self._doors[record.door]
        if record.granted and not door.released:
            door.pulse("card")
        self._readers[record.reader].feedback(Feedback.GRANT if record.granted else Feedback.DENY)
        for listener in self.listeners:
            listener(record)

    def _tripped(self, trip: Trip, door_id: str, masked: str) -> None:
        subject = trip.key if trip.scope == "reader" else masked
        self._events(
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
                self._events, EventType.LOCKOUT_ENDED, door_id, scope=trip.scope, subject=subject
            )
            lockout_s = trip.lockout_s

            def time_its_end() -> None:  # once the lockout's own event is stored
                self._loop.call_later(lockout_s, ended)

            self._after.append(time_its_end)
