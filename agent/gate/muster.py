"""The muster: who was inside when the doors were released for a fire or a drill, and
who has been accounted for since. Runs on the core loop.

A muster opens when the gate's mode gains an emergency cause (the fire input, or a fire
or evacuation drill) and closes when it has none left: ``InputRouter`` calls ``changed``
after every change of cause, once the doors have followed. Its list is the presence
records of holders inside an area (not expired) at that moment, with each holder's unit
from the allow-list (no names: the gate has none). A holder is accounted for by a tap
at one of ``[presence] muster_readers`` (the read is decided as usual; the doors are
released anyway), by leaving through an exit passage (a grant at a reader leading
``outside``), or by a guard's tick at the console. The open muster is kept in the state
store after each change, so a restart carries it on while a cause remains and ends it
(``ended_while_stopped``) when none does.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agent.core.kinds import EventType
from agent.core.presence import OUTSIDE, inside, to_us
from agent.errors import Rejected, StorageFault
from agent.gate.ports import DecisionRecord
from agent.models.muster import MusterHolder, MusterRecord, Via
from agent.store.holders import holder_units

if TYPE_CHECKING:
    from agent.gate.app import App

log = logging.getLogger(__name__)

STATE_KEY = "muster"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_MUSTER = "no muster is open: the doors are not released for a fire or a drill"


class MusterDesk:
    """Opens, ticks and ends musters; ``view`` and ``tick`` may be called from any thread."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._record: MusterRecord | None = None
        self._last: dict[str, Any] | None = None  # the counts of the muster that ended last
        self._fire = False  # the fire input as last seen: what ended the muster
        self._unreadable = False
        text = app.stores.state.get(STATE_KEY)
        if text:  # an earlier run's muster: carried on if a cause is still there
            try:
                self._record = MusterRecord.model_validate_json(text)
            except ValidationError as exc:
                log.error("muster: the saved muster cannot be read (%s)", exc.errors()[:1])
                self._unreadable = True

    @classmethod
    def attach(cls, app: App) -> MusterDesk:
        """A desk for ``app``, told of its mode changes, decisions and drill reports."""
        desk = cls(app)
        app.inputs.mode_hooks.append(desk.changed)
        app.reads.listeners.append(desk.decided)
        app.drills.report_extra = desk.drill_report
        return desk

    @property
    def enabled(self) -> bool:
        return self._app.config.presence.enabled  # no passages: nobody is known inside

    # -- opening and ending (core loop) ---------------------------------------------
    def changed(self) -> None:
        """The mode's causes changed: open a muster, or end the one open."""
        modes = self._app.inputs.modes
        emergency = modes.fire or modes.drill is not None
        if emergency and self._record is None and self.enabled:
            self._open()
        elif not emergency and self._record is not None:
            self._end("fire_cleared" if self._fire else "drill_ended")
        self._fire = modes.fire

    def resume(self) -> None:
        """At start, after the inputs and the drill: end a muster no cause is left for."""
        if self._unreadable:
            self._unreadable = False
            self._app.stores.state.set(STATE_KEY, "")
            self._app.emit(EventType.MUSTER_ENDED, reason="unreadable_after_restart")
        if self._record is None:
            return
        modes = self._app.inputs.modes
        if modes.fire or modes.drill is not None:
            self._record = self._record.model_copy(update={"restarts": self._record.restarts + 1})
            self._save()
        else:
            self._end("ended_while_stopped")

    def _open(self) -> None:
        app, now = self._app, self._app.clock.now()
        keeper = app.reads.presence
        present = inside(keeper.store.inside(0), keeper.rules, to_us(now))
        try:
            units = holder_units(app.allowlist.path, [p.holder_id for p in present])
        except StorageFault as exc:  # the list without units beats no list
            log.error("muster: units not read: %s", exc)
            units = {}
        holders = {
            p.holder_id: MusterHolder(holder_id=p.holder_id, kind=p.kind, unit=units.get(
                p.holder_id), area=str(p.area), since=_time(p.at_us))
            for p in sorted(present, key=lambda p: (p.area or "", p.holder_id))
        }  # fmt: skip
        drill = app.drills.summary()
        fire = app.inputs.modes.fire
        self._record = MusterRecord(
            id=secrets.token_hex(6), trigger="fire" if fire else "drill", started_at=now,
            drill_id=None if fire or drill is None else str(drill["id"]), holders=holders,
        )  # fmt: skip
        self._save()
        app.emit(EventType.MUSTER_STARTED, **self._record.started_details())

    def _end(self, reason: str) -> None:
        rec = self._record
        assert rec is not None
        details = rec.ended_details(reason)
        self._last = {**rec.counts(), "open": False}
        self._record = None
        self._app.stores.state.set(STATE_KEY, "")
        self._app.emit(EventType.MUSTER_ENDED, **details)

    # -- accounted for ----------------------------------------------------------------
    def decided(self, record: DecisionRecord) -> None:
        """A read decided (after its commit): a tap at a muster reader, or a way out."""
        rec = self._record
        if rec is None or record.holder_id is None or record.holder_id not in rec.holders:
            return
        if record.reader in self._app.config.presence.muster_readers:
            via: Via = "muster_reader"
        else:
            passage = self._app.reads.presence.passages.get(record.reader)
            if not record.granted or passage is None or passage.to_area != OUTSIDE:
                return
            via = "exit"
        # its own event after the read's: posted, so listeners see them in order
        self._app.loop.post(partial(self._tick, record.holder_id, f"reader:{record.reader}", via))

    def _tick(self, holder_id: str, by: str, via: Via) -> None:
        rec = self._record
        if rec is None or holder_id not in rec.holders:
            return
        if rec.holders[holder_id].ticked_at is not None:
            return  # accounted for already: the first tick stands
        self._record = rec = rec.ticked(holder_id, self._app.clock.now(), by, via)
        self._save()
        one = rec.holders[holder_id]
        self._app.emit(EventType.MUSTER_TICKED, muster=rec.id, holder_id=holder_id, kind=one.kind,
                       unit=one.unit, by=by, via=via, **rec.counts())  # fmt: skip

    def _guard_tick(self, holder_id: str, guard: str) -> MusterRecord:
        rec = self._record
        if rec is None:
            raise Rejected(NO_MUSTER)
        if holder_id not in rec.holders:
            raise Rejected(f"holder {holder_id} is not on the muster list")
        one = rec.holders[holder_id]
        if one.ticked_at is not None:
            raise Rejected(f"holder {holder_id} is accounted for already (by {one.ticked_by})")
        self._tick(holder_id, f"guard:{guard}", "guard")
        assert self._record is not None
        return self._record

    def drill_report(self) -> dict[str, Any]:
        """What ``drill_ended`` adds: the muster's counts when the drill ended (called
        after the drill's release has ended, which ended the muster unless a fire is on)."""
        if self._record is not None:
            return {"muster": {**self._record.counts(), "open": True}}
        return {"muster": self._last} if self._last is not None else {}

    def _save(self) -> None:
        if self._record is not None:
            self._app.stores.state.set(STATE_KEY, self._record.model_dump_json())

    # -- any thread ---------------------------------------------------------------------
    def view(self) -> MusterRecord | None:
        """The open muster (immutable), or None."""
        return self._app.loop.run_sync(lambda: self._record)

    def tick(self, holder_id: str, guard: str) -> MusterRecord:
        """A guard accounts for a holder; Rejected (one line) when that cannot be."""
        return self._app.loop.run_sync(self._guard_tick, holder_id, guard)


def _time(at_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=at_us)
