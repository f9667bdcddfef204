"""Fire and evacuation drills, run on the core loop.

A drill is started by the office (``cmd/drill``) or a guard at the console, with a
kind and an end. While it runs, the drill is a cause of the gate's mode (``Modes.drill``:
a fire drill releases what the fire input would, an evacuation drill every door) and
every event recorded carries ``drill: {id, kind}`` (the journal's marker). A real fire
input during an evacuation drill is a real fire: its events carry no drill mark and
the alarm says which drill it overrode. During a fire drill the fire input counts as
the drill's own (drills are often run from the fire panel).

Each door is watched from the release command to its relay showing the unlocked state
(then it has released) and, where a contact is fitted, to the door opening (somebody
went through; a door open before the drill is reported as such); ``drill_ended``
reports it. The
drill is kept in the state store as it changes, so an agent restarted mid-drill
carries it on to its end (or ends it at once when that end has passed).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from agent.core.clock import Clock
from agent.core.door import Door
from agent.core.kinds import DrillKind, EventType, coil_energised
from agent.core.loop import CoreLoop, Timer
from agent.core.modes import Modes
from agent.errors import Rejected
from agent.gate.inputs import InputRouter
from agent.gate.journal import Journal
from agent.models.config import GateConfig
from agent.models.drills import MAX_MINUTES, DoorDrill, DrillRecord
from agent.store.state import StateStore

log = logging.getLogger(__name__)

STATE_KEY = "drill"
RELAY_CHECK_S = 1.0  # a relay that has not shown the unlocked state is looked at again


class DrillDesk:
    """Starts, marks, watches, ends and reports drills; every method on the core loop."""

    def __init__(self, config: GateConfig, *, clock: Clock, loop: CoreLoop, state: StateStore,
                 doors: Mapping[str, Door], inputs: InputRouter, journal: Journal,
                 ) -> None:  # fmt: skip
        # devices (so contacts) never change under a running App: a new one is built
        self._contacts = frozenset(d.id for d in config.doors if d.contact is not None)
        self._clock = clock
        self._loop = loop
        self._state = state
        self._doors = doors
        self._inputs = inputs
        self._journal = journal
        self._record: DrillRecord | None = None
        self._t0 = 0.0  # the drill's start on this run's monotonic clock
        self._end_timer: Timer | None = None
        self._relay_timer: Timer | None = None
        # what else ``drill_ended`` says (the muster's counts), asked once the release ended
        self.report_extra: Callable[[], Mapping[str, Any]] | None = None

    def summary(self) -> dict[str, Any] | None:
        """The drill running, for status and the console; None when there is none."""
        rec = self._record
        if rec is None:
            return None
        return {**rec.tag(), "by": rec.by, "started_at": rec.started_at.isoformat(),
                "ends_at": rec.ends_at.isoformat(), "note": rec.note}  # fmt: skip

    # -- start and stop ---------------------------------------------------------------
    def start(self, kind: DrillKind, by: str, *, minutes: int | None = None,
              until: datetime | None = None, note: str = "", request_id: str | None = None,
              ) -> dict[str, Any]:  # fmt: skip
        """Start a drill now; Rejected (one line) when one runs, a fire is on, or the end
        is not in the next ``MAX_MINUTES`` minutes."""
        if self._record is not None:
            raise Rejected(f"a {self._record.kind.value} drill is running "
                           f"({self._record.id}): stop it first")  # fmt: skip
        modes = self._inputs.modes
        if modes.fire:
            raise Rejected("the fire input is active: no drill during a fire alarm")
        now = self._clock.now()
        ends_at = now + timedelta(minutes=minutes) if minutes is not None else until
        if ends_at is None or not now < ends_at <= now + timedelta(minutes=MAX_MINUTES):
            raise Rejected(f"a drill must end after now and within {MAX_MINUTES} minutes")
        releases = Modes(drill=kind).releases
        doors = {
            name: DoorDrill(expected=releases(door.config.release_on_fire),
                            contact=name in self._contacts,
                            open_at_start=name in self._contacts and door.is_open)
            for name, door in self._doors.items()
        }  # fmt: skip
        rec = DrillRecord(
            id=secrets.token_hex(6), kind=kind, by=by, note=note, request_id=request_id,
            started_at=now, ends_at=ends_at, previous_mode=modes.mode.value, doors=doors,
        )  # fmt: skip
        self._begin(rec, 0.0)
        try:
            self._journal.emit(
                EventType.DRILL_STARTED, None, kind=kind.value, by=by,
                ends_at=ends_at.isoformat(), previous_mode=rec.previous_mode,
                doors=[n for n, d in doors.items() if d.expected],
                **({"note": note} if note else {}),
                **({"request_id": request_id} if request_id else {}),
            )  # fmt: skip
        except Exception:  # not recorded: not started
            self._forget()
            raise
        self._release(by)
        return {**(self.summary() or {}), "mode": self._inputs.modes.mode.value}

    def stop(self, by: str) -> dict[str, Any]:
        """End the drill running now and return its report; Rejected when there is none."""
        if self._record is None:
            raise Rejected("no drill is running")
        return self.end(by, "stopped")

    def end(self, by: str, reason: str) -> dict[str, Any]:
        """Restore the doors, record ``drill_ended`` with the report, forget the drill."""
        self._check_relays()  # a last look before the release ends
        rec = self._record
        assert rec is not None
        ended_s = self._offset()
        mode = self._inputs.set_drill(None, by)  # marked: the drill is still the cause
        report = rec.report(ended_s, by, reason, mode.value)
        report.update(self.report_extra() if self.report_extra is not None else {})
        self._journal.emit(EventType.DRILL_ENDED, None, **report)
        self._forget()
        log.info("drill %s ended (%s): not released: %s", rec.id, reason,
                 ", ".join(report["not_released"]) or "none")  # fmt: skip
        return report

    def resume(self) -> None:
        """At start: carry on a drill an earlier run left, or end it if its time passed."""
        text = self._state.get(STATE_KEY)
        if not text:
            return
        try:
            rec = DrillRecord.model_validate_json(text)
        except ValidationError as exc:
            log.error("drill: the saved drill cannot be read (%s); it is ended", exc.errors()[:1])
            self._state.set(STATE_KEY, "")
            self._journal.emit(EventType.DRILL_ENDED, None, reason="unreadable_after_restart",
                               not_released=[], doors={})  # fmt: skip
            return
        now = self._clock.now()
        elapsed = max((now - rec.started_at).total_seconds(), 0.0)
        self._begin(rec.model_copy(update={"restarts": rec.restarts + 1}), elapsed)
        if not self._clock.is_trusted():  # no telling how long the agent was down
            self.end("drill", "restart_clock_untrusted")
        elif now >= rec.ends_at:
            self.end("drill", "ended_while_stopped")
        else:
            self._release("drill_resume")

    # -- while it runs ----------------------------------------------------------------
    def _begin(self, rec: DrillRecord, elapsed: float) -> None:
        self._record = rec
        self._t0 = self._clock.monotonic() - elapsed
        self._journal.marker = self._mark
        self._save()
        remaining = (rec.ends_at - self._clock.now()).total_seconds()
        self._end_timer = self._loop.call_later(max(remaining, 0.0), self._time_up)

    def _forget(self) -> None:
        for timer in (self._end_timer, self._relay_timer):
            if timer is not None:
                timer.cancel()
        self._end_timer = self._relay_timer = None
        self._record = None
        self._journal.marker = None
        self._state.set(STATE_KEY, "")

    def _release(self, by: str) -> None:
        """Command the release and note when each door was commanded."""
        rec = self._record
        assert rec is not None
        at = self._offset()
        doors = {n: d if d.relay_s is not None or not d.expected
                 else d.model_copy(update={"commanded_s": round(at, 3)})
                 for n, d in rec.doors.items()}  # fmt: skip
        self._record = rec.model_copy(update={"doors": doors})
        self._inputs.set_drill(rec.kind, by)
        for name, d in doors.items():  # resumed: it opened while the agent was down
            opened = d.opened_s is not None or d.open_at_start
            if d.expected and not opened and self._doors[name].is_open:
                self._note(name, opened_s=at)
        self._check_relays()

    def _time_up(self) -> None:
        if self._record is not None:
            self.end("drill", "time")

    def _check_relays(self) -> None:
        """Note each expected door whose relay now shows unlocked; look again soon if any
        has not."""
        if self._relay_timer is not None:  # this call is that look, or makes it needless
            self._relay_timer.cancel()
            self._relay_timer = None
        rec = self._record
        if rec is None:
            return
        waiting = False
        for name, d in rec.doors.items():
            if not d.expected or d.relay_s is not None or d.commanded_s is None:
                continue
            door = self._doors[name]
            unlocked = coil_energised(door.config.fail_mode, False)
            if door.released and door.relay.is_energised == unlocked:
                self._note(name, relay_s=self._offset())
            else:
                waiting = True
        if waiting:
            self._relay_timer = self._loop.call_later(RELAY_CHECK_S, self._check_relays)

    def _mark(self, type_: EventType, door: str | None) -> Mapping[str, Any] | None:
        """The journal's marker: the drill's tag, except on a real fire's events."""
        if self._record is None:
            return None
        if type_ is EventType.DOOR_OPENED and door in self._record.doors:
            d = self._record.doors[door]
            if d.expected and d.opened_s is None and d.commanded_s is not None:
                self._note(door, opened_s=self._offset())
        rec = self._record
        fire = self._inputs.modes.fire
        if rec.kind is DrillKind.EVACUATION and (fire or type_ is EventType.FIRE_ALARM):
            if type_ is EventType.FIRE_ALARM:  # the real fire wins: no drill mark from here
                if rec.real_fire_s is None:
                    self._record = rec.model_copy(update={"real_fire_s": round(self._offset(), 2)})
                    self._loop.post(self._save)
                return {"real_fire": True, "during_drill": rec.tag()}
            return None
        return {"drill": rec.tag()}

    def _note(self, name: str, **facts: float) -> None:
        rec = self._record
        assert rec is not None
        rounded = {k: round(v, 3) for k, v in facts.items()}
        doors = {**rec.doors, name: rec.doors[name].model_copy(update=rounded)}
        self._record = rec.model_copy(update={"doors": doors})
        # saved after the event being recorded: never a write inside its transaction
        self._loop.post(self._save)

    def _offset(self) -> float:
        return max(self._clock.monotonic() - self._t0, 0.0)

    def _save(self) -> None:
        if self._record is not None:
            self._state.set(STATE_KEY, self._record.model_dump_json())


class DrillMethods:
    """``GatePort``'s drill methods, for the App: each runs on the core loop."""

    loop: CoreLoop
    drills: DrillDesk

    def start_drill(self, kind: DrillKind, by: str, *, minutes: int | None = None,
                    until: datetime | None = None, note: str = "",
                    request_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        return self.loop.run_sync(self.drills.start, kind, by, minutes=minutes, until=until,
                                  note=note, request_id=request_id)  # fmt: skip

    def stop_drill(self, by: str) -> dict[str, Any]:
        return self.loop.run_sync(self.drills.stop, by)

    def drill(self) -> dict[str, Any] | None:
        return self.loop.run_sync(self.drills.summary)
