"""A door of ``kind = "barrier"``: the relay raises the arm; ``agent.core.barrier`` decides.

It is a ``Door`` to the rest of the gate: a grant's ``pulse`` raises the arm, a
release (fire, drill, the office) raises and holds it, ``lock`` lowers it only when the
barrier says it is safe. The door contact, when fitted, still reports a forced arm.
"""

from __future__ import annotations

import logging

from agent.core.barrier import Action, Barrier, Move, Notice, StartTimer, TimerName, Timings
from agent.core.clock import Clock
from agent.core.door import Door, DoorSpec, Emit, LockOutput
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop, Timer

log = logging.getLogger(__name__)

NOTICES = {
    "vehicle_tailgate": EventType.VEHICLE_TAILGATE,
    "barrier_loop_fault": EventType.BARRIER_LOOP_FAULT,
    "barrier_loop_restored": EventType.BARRIER_LOOP_RESTORED,
}


class BarrierDoor(Door):
    """A barrier arm driven through the ``Barrier`` state machine, on the core loop."""

    def __init__(
        self,
        config: DoorSpec,
        relay: LockOutput,
        loop: CoreLoop,
        clock: Clock,
        emit: Emit,
        timings: Timings,
    ) -> None:
        super().__init__(config, relay, loop, clock, emit)
        self.barrier = Barrier(timings)
        self._timers: dict[TimerName, Timer] = {}

    def apply(self, actions: list[Action]) -> None:
        """Carry out what the barrier asked: the relay, then timers, then events."""
        for action in actions:
            if isinstance(action, Move):
                self._drive(not action.up)  # up: "unlocked", so the arm's contact is authorised
            elif isinstance(action, StartTimer):
                if (old := self._timers.pop(action.name, None)) is not None:
                    old.cancel()
                self._timers[action.name] = self._loop.call_later(
                    action.seconds, self._fired, action.name, action.token
                )
            elif isinstance(action, Notice):
                self._emit(NOTICES[action.kind], self.id, **action.details)

    def _fired(self, name: TimerName, token: int) -> None:
        self._timers.pop(name, None)
        self.apply(self.barrier.timer(name, token))

    # -- the Door interface -------------------------------------------------------
    def pulse(self, cause: str, seconds: float | None = None) -> None:
        """A grant, exit, visitor or remote open: raise for one more vehicle."""
        log.debug("barrier %s: raised (%s)", self.id, cause)
        self.apply(self.barrier.grant())

    def lock(self) -> None:
        """Lower if nothing holds the arm up; a vehicle on the loop always does."""
        if not self.released and self.barrier.held:
            self.apply(self.barrier.hold(False))
        self.apply(self.barrier.lower())

    def safe_lock(self) -> None:
        """Crash path: lower only where lowering is safe, and never raise."""
        try:
            self.lock()
        except Exception:
            log.exception("barrier %s: could not lower the arm", self.id)

    def set_released(self, released: bool) -> None:
        if released == self.released:
            return
        self.released = released
        if released:
            self._cancel_held()
        self.apply(self.barrier.hold(released))

    def _closed(self) -> None:
        # the contact of a barrier reports the arm; its closing never lowers it (the
        # loops and timers do), so only the alarms are cleared here
        self._closed_alarms()

    # -- loops ----------------------------------------------------------------------
    def safety_loop(self, present: bool) -> None:
        self.apply(self.barrier.safety_loop(present))

    def arming_loop(self, present: bool) -> None:
        self.apply(self.barrier.arming_loop(present))

    def detector_fault(self, faulty: bool) -> None:
        self.apply(self.barrier.detector(faulty))
