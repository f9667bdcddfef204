"""Inputs and modes: door contacts, exit and visitor buttons, the fire input, lockdown,
release, and the release of a drill.

Each input is routed by a table built once from the config (name -> handler); the
mode is derived from its causes in ``Modes`` and persisted where it must survive a
restart (lockdown, a remote release).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass
from functools import partial

from agent.core.decision import GateMode
from agent.core.door import Door, Emit
from agent.core.kinds import DrillKind, EventType
from agent.core.modes import Modes, request_note
from agent.models.config import GateConfig
from agent.store.state import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """What an input's changes do, and what its state at boot does (None: nothing)."""

    changed: Callable[[bool], None]
    at_boot: Callable[[bool], None] | None = None


@dataclass(frozen=True)
class ModeRequest:
    """A lockdown or release switched on or off by someone (office, local CLI)."""

    what: str  # "lockdown" or "release"
    on: bool
    request_id: str | None = None


class InputRouter:
    """Owns the gate's modes and reacts to every input; runs on the core loop."""

    def __init__(
        self, config: GateConfig, doors: Mapping[str, Door], state: StateStore, emit: Emit
    ) -> None:
        self.config = config
        self._doors = doors
        self._state = state
        self._emit = emit
        self.modes = Modes(
            lockdown=state.get_bool("lockdown"), remote_release=state.get_bool("remote_release")
        )
        # who switched lockdown on: a later change into lockdown (a release ending) credits them
        self._lockdown_by = (state.get("lockdown_by") or "", state.get("lockdown_request_id") or "")
        self.routes: dict[str, Route] = {}
        # told after each change of the mode's causes, once the doors followed (the muster)
        self.mode_hooks: list[Callable[[], None]] = []
        for door in config.doors:
            if door.contact is not None:
                self.routes[f"{door.id}.contact"] = Route(
                    doors[door.id].contact_changed, doors[door.id].sync_contact
                )
            if door.exit_button is not None:
                self.routes[f"{door.id}.exit"] = Route(partial(self._exit_changed, door.id))
        if config.inputs.visitor_button is not None:
            self.routes["visitor"] = Route(self._visitor_changed)
        if config.inputs.fire_alarm is not None:
            self.routes["fire"] = Route(self._fire_changed, self._fire_changed)

    # -- inputs ---------------------------------------------------------------
    def changed(self, name: str, active: bool) -> None:
        self.routes[name].changed(active)

    def at_boot(self, name: str, active: bool) -> None:
        """Take an input's state at start: a fire alarm already on releases the doors."""
        route = self.routes[name]
        if route.at_boot is not None:
            route.at_boot(active)

    def _exit_changed(self, door_id: str, active: bool) -> None:
        if active:
            self._emit(EventType.EXIT_REQUEST, door_id)
            self._doors[door_id].pulse("exit")  # egress works in every mode

    def _visitor_changed(self, active: bool) -> None:
        if not active:
            return
        spec = self.config.inputs.visitor_button
        assert spec is not None
        door_id = spec.door or self.config.doors[0].id
        door = self._doors[door_id]
        opens = (
            spec.action == "log_and_open"
            and self.modes.door_mode(door.released) is not GateMode.LOCKDOWN
        )
        self._emit(EventType.VISITOR_REGISTERED, door_id, opened=opens, by="guard_button")
        if opens:
            door.pulse("visitor")

    def _fire_changed(self, active: bool) -> None:
        if active == self.modes.fire:
            return
        self._emit(EventType.FIRE_ALARM if active else EventType.FIRE_ALARM_CLEARED)
        self._change_mode(partial(setattr, self.modes, "fire", active), "fire_input")

    # -- modes ----------------------------------------------------------------
    def set_lockdown(self, on: bool, by: str, request_id: str | None = None) -> GateMode:
        if on and not self.modes.lockdown:
            self._lockdown_by = (by, request_id or "")
            self._state.set("lockdown_by", by)
            self._state.set("lockdown_request_id", request_id or "")
        change = partial(setattr, self.modes, "lockdown", on)
        self._change_mode(change, by, ModeRequest("lockdown", on, request_id))
        self._state.set_bool("lockdown", on)
        return self.modes.mode

    def set_release(self, on: bool, by: str, request_id: str | None = None) -> GateMode:
        change = partial(setattr, self.modes, "remote_release", on)
        self._change_mode(change, by, ModeRequest("release", on, request_id))
        self._state.set_bool("remote_release", on)
        return self.modes.mode

    def set_drill(self, kind: DrillKind | None, by: str) -> GateMode:
        """A drill's release on (its kind) or off (None); ``DrillDesk`` records the drill."""
        self._change_mode(partial(setattr, self.modes, "drill", kind), by)
        return self.modes.mode

    def _change_mode(
        self, change: Callable[[], None], by: str, request: ModeRequest | None = None
    ) -> None:
        """Apply a change of cause; record a new mode, or a request the mode does not show."""
        before, causes = self.modes.mode, astuple(self.modes)
        change()
        failed: list[tuple[str, Exception]] = []
        for door in self._doors.values():
            try:
                door.set_released(self.modes.releases(door.config.release_on_fire))
            except Exception as exc:  # one relay's fault must not keep the other doors shut
                failed.append((door.id, exc))
        mode = self.modes.mode
        credit = {"request_id": request.request_id} if request and request.request_id else {}
        if mode is not before:
            details: dict[str, object] = dict(mode=mode.value, previous=before.value, by=by)
            if mode is GateMode.LOCKDOWN and (request is None or request.what != "lockdown"):
                lock_by, lock_request = self._lockdown_by  # the lockdown shows only now
                details.update({"lockdown_by": lock_by} if lock_by else {})
                details.update({"lockdown_request_id": lock_request} if lock_request else {})
            self._emit(EventType.MODE_CHANGED, **details, **credit)
        elif request is not None and astuple(self.modes) != causes:
            drill = self.modes.drill is not None
            note = request_note(mode, self.modes.fire, request.what, request.on, drill)
            asked = f"{request.what} {'on' if request.on else 'off'}"
            self._emit(EventType.MODE_REQUESTED, request=asked, mode=mode.value, by=by,
                       **credit, **note)  # fmt: skip
        for door_id, fault in failed:
            log.error("door %s: its relay did not follow the %s mode: %s", door_id, mode.value,
                      fault)  # fmt: skip
            self._emit(EventType.AGENT_FAULT, door_id, error=type(fault).__name__,
                       message=str(fault)[:200])  # fmt: skip
        for hook in self.mode_hooks:
            try:
                hook()
            except Exception:  # never a fault of the change itself: the doors stay as set
                log.exception("a mode hook failed")
