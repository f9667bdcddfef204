"""The pass path: code, signature, rules, durable use, durable event, then relay.

A visitor pass arrives as the text a scanner read or as what a guard typed (the full
code or its short code). Everything a pass needs is checked here with no network:
the office's signature against its public key from the config, then the rules in
``agent.core.passes``. A use is counted on disk, with its event's details kept as
pending in the same commit, before the event is written, and both before the relay
moves; a start writes the event of any use a crash left pending. Pass codes are bearer
credentials: they are never logged or recorded; events name the pass by its id.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from agent.core.clock import Clock
from agent.core.door import Door
from agent.core.guesses import GuessWatch
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.core.modes import Modes
from agent.core.passes import PassFacts, PassMoment, PassReason, admitted, judge
from agent.errors import GateError, Rejected, StorageFault
from agent.gate.pass_codes import PassCodes
from agent.gate.ports import PassOutcome
from agent.models.config import GateConfig
from agent.models.pass_codec import SignedPass, is_code
from agent.models.passes import MAX_LIFETIME, PassUpdate
from agent.models.wire import Event
from agent.store.passes import PassStore
from drivers.base import CardReader, Feedback, Scan

log = logging.getLogger(__name__)

UPKEEP_S = 3600.0


class EmitEvent(Protocol):
    """Appends an event durably and returns it (with its seq): ``App.emit``."""

    def __call__(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event: ...


class PassDesk:
    """Admits visitor passes on the core loop, from scanners and from the guard console."""

    def __init__(
        self,
        config: GateConfig,
        *,
        clock: Clock,
        loop: CoreLoop,
        store: PassStore,
        doors: Mapping[str, Door],
        readers: Mapping[str, CardReader],
        reader_door: Mapping[str, str],
        modes: Modes,
        emit: EmitEvent,
    ) -> None:
        self._codes = PassCodes(config, store)
        self._site, self._gate = config.gate.site, config.gate.gate_id
        self._clock = clock
        self._loop = loop
        self._store = self.store = store
        self._doors = doors
        self._readers = readers
        self._reader_door = reader_door
        self._modes = modes
        self._emit = emit
        self.listeners: list[Callable[[PassOutcome], None]] = []
        self._guesses = GuessWatch()
        # whether a visitor is refused at (door, reader) because the area is full (occupancy)
        self.area_full: Callable[[str, str | None], bool] = lambda door, reader: False

    # -- showing a pass (core loop) ---------------------------------------------------
    def scanned(self, scan: Scan) -> PassOutcome:
        """A scanner read a code: decide, record, open, and show the result on the scanner."""
        reader = self._readers[scan.reader]
        door = self._reader_door[scan.reader]
        try:
            outcome = self.admit(door, scan.text, f"scanner:{scan.reader}", scan)
        except StorageFault:
            reader.feedback(Feedback.DENY)  # nothing recorded: nothing opens
            raise
        reader.feedback(Feedback.GRANT if outcome.granted else Feedback.DENY)
        return outcome

    def admit(
        self, door_id: str, code: str, by: str, scan: Scan | None = None,
        plate: tuple[str, str] | None = None,
    ) -> PassOutcome:  # fmt: skip
        """Decide one pass shown at ``door_id`` (or whose car a camera read: ``plate`` is
        its (reader, masked plate)); the event is durable before the relay moves."""
        door = self._doors.get(door_id)
        if door is None:
            raise GateError(f"no door {door_id!r}; doors: {', '.join(self._doors)}")
        via = "code" if isinstance(code, str) and is_code(code) else "short_code"
        details: dict[str, Any] = {"by": by, "via": "plate" if plate else via}
        if scan is not None:
            details["reader"] = scan.reader
        if plate is not None:  # masked: the plate itself stays with the camera's driver
            details["reader"], details["card"] = plate
        signed, reason = self._read_guarded(code, via, by, door_id, details)
        uses_left: int | None = None
        if signed is not None:
            details["pass_id"] = signed.visitor_pass.id
        if signed is not None and reason is None:
            details.update(unit=signed.visitor_pass.unit,
                           valid_until=signed.visitor_pass.valid_until.isoformat())  # fmt: skip
            reason, uses_left = self._judge(signed, door, details)
        assert reason is not None
        granted = admitted(reason)
        if granted:
            event = self._emit(EventType.PASS_USED, door_id, reason=reason.value,
                               uses_left=uses_left, **details)  # fmt: skip
            if not door.released:
                door.pulse("pass")
            if reason is PassReason.GRANTED and signed is not None and uses_left is not None:
                self._recorded(signed.visitor_pass.id, signed.visitor_pass.uses - uses_left)
        else:
            event = self._emit(EventType.PASS_REFUSED, door_id, reason=reason.value, **details)
        vp = signed.visitor_pass if signed is not None and "unit" in details else None
        outcome = PassOutcome(
            granted=granted,
            reason=reason.value,
            door=door_id,
            pass_id=details.get("pass_id"),
            unit=vp.unit if vp else None,
            uses_left=uses_left,
            valid_until=vp.valid_until if vp else None,
            by=by,
            via=via,
            seq=event.seq,
            reader=scan.reader if scan else None,
            scan_id=scan.scan_id if scan else None,
        )
        for listener in self.listeners:
            listener(outcome)
        return outcome

    def _read_guarded(
        self, code: object, via: str, by: str, door_id: str, details: dict[str, Any]
    ) -> tuple[SignedPass | None, PassReason | None]:
        """``PassCodes.read``, with short codes from a source that keeps guessing wrong held off."""
        if via != "short_code":
            return self._codes.read(code, via)
        mono = self._clock.monotonic()
        wait = self._guesses.waiting(by, mono)
        if wait > 0:
            details["wait_s"] = round(wait, 1)
            return None, PassReason.THROTTLED
        signed, reason = self._codes.read(code, via)
        if reason is PassReason.UNKNOWN:
            if self._guesses.missed(by, mono):
                self._emit(EventType.PASS_GUESSING, door_id, source=by,
                           misses=self._guesses.misses(by),
                           wait_s=round(self._guesses.waiting(by, mono), 1))  # fmt: skip
        elif signed is not None:
            self._guesses.matched(by)
        return signed, reason

    def _judge(
        self, signed: SignedPass, door: Door, details: dict[str, Any]
    ) -> tuple[PassReason, int | None]:
        """The rules, then the use counted (durably, with its event's details kept as
        pending in the same commit) when they let the pass in."""
        vp = signed.visitor_pass
        used = self._store.used(vp.id)
        facts = PassFacts(
            site=vp.site,
            gate=vp.gate,
            doors=frozenset(vp.doors) if vp.doors is not None else None,
            valid_from=vp.valid_from,
            valid_until=vp.valid_until,
            issued_at=vp.issued_at,
            uses=vp.uses,
            used=used,
            revoked=self._store.is_revoked(vp.id),
        )
        moment = PassMoment(
            site=self._site,
            gate=self._gate,
            door=door.id,
            now=self._clock.now(),
            mode=self._modes.door_mode(door.released),
            clock_trusted=self._clock.is_trusted(),
        )
        reason = judge(facts, moment)
        if reason is PassReason.RELEASED:
            return reason, max(vp.uses - used, 0)  # the door is open anyway: no use counted
        if reason is not PassReason.GRANTED:
            return reason, None
        if self.area_full(door.id, details.get("reader")):
            return PassReason.AREA_FULL, None
        try:
            intent = {**details, "door": door.id, "reason": PassReason.GRANTED.value}
            left = self._store.consume(vp.id, vp.uses, vp.valid_until, intent)
        except sqlite3.Error as exc:
            log.error("pass %s: the use could not be counted (%s); refused", vp.id, exc)
            return PassReason.STORAGE_FAULT, None
        return (PassReason.USED_UP, None) if left is None else (reason, left)

    def _recorded(self, pass_id: str, used: int) -> None:
        try:
            self._store.recorded(pass_id, used)
        except sqlite3.Error as exc:  # kept as pending: the next start finds its event
            log.warning("pass %s: could not clear its pending use (%s)", pass_id, exc)

    def recover(self, logged: list[Event]) -> int:
        """At start: write the ``pass_used`` event of each use counted whose event a crash
        kept from the log (``logged``: the newest pass_used events); returns how many."""
        written = 0
        for pass_id, used, details in self._store.pending():
            seen = any(
                e.details.get("pass_id") == pass_id
                and e.details.get("uses_left") == details.get("uses_left")
                for e in logged
            )
            if not seen:
                door = details.pop("door", None)
                self._emit(EventType.PASS_USED, door, **details, recovered=True)
                log.warning("pass %s: use %d had no event (a crash); recorded now", pass_id, used)
                written += 1
            self._recorded(pass_id, used)
        return written

    # -- the office's revocations and deliveries (core loop) ----------------------------
    def update(self, update: PassUpdate) -> dict[str, Any]:
        """Check every delivered pass first, then apply: all of the message, or none of it."""
        delivered = [self._codes.genuine(i, code) for i, code in enumerate(update.deliver)]
        now = self._clock.now()
        ends = {s.visitor_pass.id: s.visitor_pass.valid_until for s in delivered}
        if unknown := [p.pass_id for p in update.plates if p.pass_id not in ends]:
            raise Rejected(f"plates: pass {unknown[0]} is not delivered in this message")
        for signed in delivered:
            vp = signed.visitor_pass
            self._store.deliver(signed.short_code, vp.id, signed.text, vp.valid_until)
        for car in update.plates:
            self._store.deliver_plate(car.plate, car.pass_id, car.masked, ends[car.pass_id])
        for revoked in update.revoke:
            self._store.revoke(revoked.id, self._remember_until(revoked.id, revoked.until, now),
                               now)  # fmt: skip
        result = {"revoked": len(update.revoke), "delivered": len(delivered)}
        if update.plates:  # said only when there were any: older answers stay the same
            result["plates"] = len(update.plates)
        self._emit(EventType.PASSES_UPDATED, None, **result, request_id=update.request_id,
                   revoked_ids=[r.id for r in update.revoke][:50],
                   delivered_ids=[s.visitor_pass.id for s in delivered][:50])  # fmt: skip
        return result

    def _remember_until(self, pass_id: str, said: datetime | None, now: datetime) -> datetime:
        """How long to keep a revocation: past the pass's end, which the office may say and
        this gate may know; failing both, as long as any pass can last."""
        known = [t for t in (said, self._store.known_until(pass_id)) if t is not None]
        if not known:
            return now + MAX_LIFETIME  # a pass ends at most that long after its issue
        return min(max(known), now + 2 * MAX_LIFETIME)  # what the office says, within reason

    # -- upkeep (core loop) ---------------------------------------------------------
    def upkeep(self) -> None:
        """Forget passes long over, hourly; never on an untrusted clock, which could run
        ahead and drop the use counts of passes still valid."""
        if self._clock.is_trusted():
            try:
                removed = self._store.prune(self._clock.now())
            except sqlite3.Error as exc:
                log.warning("passes: pruning failed: %s", exc)
            else:
                if removed:
                    log.info("passes: forgot %d row(s) of passes that have ended", removed)
        self._guesses.prune(self._clock.monotonic())
        self._loop.call_later(UPKEEP_S, self.upkeep)


class PassMethods:
    """``GatePort``'s pass methods, for the App: each runs on the core loop."""

    loop: CoreLoop
    passes: PassDesk

    def admit_pass(self, door: str, code: str, by: str) -> PassOutcome:
        return self.loop.run_sync(self.passes.admit, door, code, by)

    def update_passes(self, update: PassUpdate) -> dict[str, Any]:
        return self.loop.run_sync(self.passes.update, update)

    def add_pass_listener(self, listener: Callable[[PassOutcome], None]) -> None:
        self.loop.run_sync(self.passes.listeners.append, listener)
