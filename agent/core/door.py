"""One door: its lock relay, its contact, and the alarms a door can raise.

Lock semantics live here, coil semantics in the relay driver: a fail-secure strike
is locked with the coil off, a fail-safe maglock is locked with the coil on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from agent.core.clock import Clock
from agent.core.kinds import EventType, FailMode, coil_energised
from agent.core.loop import CoreLoop, Timer

log = logging.getLogger(__name__)

# A strike lets go a little late and people push a little late: an opening this
# soon after a pulse ended still counts as authorised.
OPEN_GRACE_S = 1.5


class DoorSpec(Protocol):
    """What a door needs of its configuration (``DoorConfig`` in the config models)."""

    @property
    def id(self) -> str: ...
    @property
    def pulse_s(self) -> float: ...
    @property
    def held_open_s(self) -> float: ...
    @property
    def fail_mode(self) -> FailMode: ...
    @property
    def release_on_fire(self) -> bool: ...


class LockOutput(Protocol):
    """The relay a door drives (any ``drivers.base.Relay``)."""

    def set_energised(self, energised: bool) -> None: ...
    @property
    def is_energised(self) -> bool: ...


class Emit(Protocol):
    """Records an event: (type, door, details)."""

    def __call__(self, type_: EventType, door: str | None = None, /, **details: Any) -> object: ...


class DoorWatch(Protocol):
    """Sees a door's authorisations and contact changes (the tailgating watch)."""

    def authorised(self, door: Door) -> None: ...
    def contact(self, door: Door, is_open: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class DoorState:
    """A door as status reports it."""

    locked: bool
    open: bool | None
    released: bool
    forced: bool
    held: bool
    fail_mode: FailMode

    def as_dict(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__slots__}


class Door:
    """Door state machine driven by the core loop; every method runs on the loop thread."""

    def __init__(
        self, config: DoorSpec, relay: LockOutput, loop: CoreLoop, clock: Clock, emit: Emit
    ) -> None:
        self.config = config
        self.id = config.id
        self.relay = relay
        self._loop = loop
        self._clock = clock
        self._emit = emit
        self.locked = True
        self.released = False
        self.is_open: bool | None = None  # None: no contact fitted
        self.forced = False
        self.held = False
        self._relock: Timer | None = None
        self._held_timer: Timer | None = None
        self._authorised_until = 0.0
        self.watch: DoorWatch | None = None

    # -- lock -------------------------------------------------------------
    def _drive(self, locked: bool) -> None:
        self.relay.set_energised(coil_energised(self.config.fail_mode, locked))
        self.locked = locked

    def lock(self) -> None:
        """Lock now unless released; cancels any pending relock."""
        self._cancel_relock()
        if not self.released:
            self._drive(True)

    def safe_lock(self) -> None:
        """Crash path: lock regardless of release and never raise."""
        try:
            self._cancel_relock()
            self._drive(True)
        except Exception:
            log.exception("door %s: could not lock the relay", self.id)

    def pulse(self, cause: str, seconds: float | None = None) -> None:
        """Unlock for the pulse time (restarting it if already unlocked), then relock."""
        seconds = seconds or self.config.pulse_s
        self._cancel_relock()
        self._drive(False)
        self._authorised_until = self._clock.monotonic() + seconds + OPEN_GRACE_S
        self._relock = self._loop.call_later(seconds, self._pulse_over)
        if self.watch is not None:  # every cause of a pulse lets someone through
            self.watch.authorised(self)
        log.debug("door %s: unlocked for %.1fs (%s)", self.id, seconds, cause)

    def _pulse_over(self) -> None:
        self._relock = None
        if not self.released:
            self._drive(True)

    def _cancel_relock(self) -> None:
        if self._relock is not None:
            self._relock.cancel()
            self._relock = None

    def set_released(self, released: bool) -> None:
        """Emergency release: held unlocked until cleared, then locked."""
        if released == self.released:
            return
        self.released = released
        if released:
            self._cancel_relock()
            self._drive(False)
            self._cancel_held()
        else:
            self._drive(True)

    # -- contact ----------------------------------------------------------
    def _authorised(self) -> bool:
        return self.released or not self.locked or self._clock.monotonic() < self._authorised_until

    def sync_contact(self, is_open: bool) -> None:
        """The contact's state at start: an open door is reported, a closed one is noted."""
        if is_open:
            self.contact_changed(True)
        else:
            self.is_open = False

    def contact_changed(self, is_open: bool) -> None:
        if is_open == self.is_open:
            return
        self.is_open = is_open
        if is_open:
            self._opened()
        else:
            self._closed()
        if self.watch is not None:  # after the door's own events: they come first
            self.watch.contact(self, is_open)

    def _opened(self) -> None:
        if self._authorised():
            self._emit(EventType.DOOR_OPENED, self.id, authorised=True)
            if not self.released:
                self._held_timer = self._loop.call_later(
                    self.config.held_open_s, self._held_too_long
                )
        else:
            self.forced = True
            self._emit(EventType.DOOR_FORCED_OPEN, self.id)

    def _closed(self) -> None:
        self._closed_alarms()
        # relock on close: one grant lets one person through, not whoever follows
        if not self.locked and not self.released:
            self.lock()
            self._authorised_until = 0.0

    def _held_too_long(self) -> None:
        self._held_timer = None
        if self.is_open and not self.released:
            self.held = True
            self._emit(EventType.DOOR_HELD_OPEN, self.id, limit_s=self.config.held_open_s)

    def _closed_alarms(self) -> None:
        """The door closed: it is no longer forced or held open."""
        self._cancel_held()
        self._emit(EventType.DOOR_CLOSED, self.id)
        if self.forced:
            self.forced = False
            self._emit(EventType.DOOR_FORCED_CLEARED, self.id)
        if self.held:
            self.held = False
            self._emit(EventType.DOOR_HELD_CLEARED, self.id)

    def _cancel_held(self) -> None:
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None

    def state(self) -> DoorState:
        return DoorState(
            self.locked, self.is_open, self.released, self.forced, self.held, self.config.fail_mode
        )
