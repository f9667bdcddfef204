"""The console of one gate, assembled: its view of the gate, its desk, its server part."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

from agent.console.barrier import BarrierPort, BarrierScreen
from agent.console.complaints import ComplaintScreen
from agent.console.desk import Desk
from agent.console.drills import DrillScreen
from agent.console.muster import MusterHost, MusterScreen
from agent.console.port import PassDesk
from agent.console.presence import PresenceScreen
from agent.console.routes import Console
from agent.console.server import ConsolePart
from agent.core.clock import Clock
from agent.core.kinds import EventType
from agent.core.runner import Part
from agent.gate.ports import GatePort
from agent.models.messages import GateStatus
from agent.models.wire import Event
from agent.store.credentials import CredentialHasher
from agent.store.eventlog import EventLog
from agent.store.guards import Account, GuardStore
from agent.store.paths import StatePaths


class ConsoleHost(GatePort, Protocol):
    """A gate that can carry a console: its port, its event log, state paths and runner."""

    @property
    def events(self) -> EventLog: ...

    @property
    def paths(self) -> StatePaths: ...

    def add_part(self, part: Part) -> None: ...


class ConsoleGate:
    """``ConsolePort`` over a gate's ``GatePort``, its event log and its guard accounts."""

    def __init__(self, gate: GatePort, events: EventLog, guards: GuardStore) -> None:
        self._gate = gate
        self._events = events
        self._guards = guards
        self.door_ids = gate.devices.doors
        # visitors' plates are hashed like cards before any event holds them (issue 22)
        self.hasher: CredentialHasher | None = getattr(gate, "hasher", None)

    @property
    def clock(self) -> Clock:
        return self._gate.clock

    def status(self, recent: int = 0) -> GateStatus:
        return self._gate.status(recent)

    def events_of(self, types: Collection[str], limit: int) -> list[Event]:
        return self._events.matching(types=types, limit=limit, newest=True)

    def record(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event:
        return self._gate.record(type_, door, **details)

    def open_door(self, door: str, by: str, request_id: str | None = None) -> None:
        self._gate.open_door(door, by, request_id)

    def add_event_listener(self, listener: Callable[[Event], None]) -> None:
        self._gate.add_event_listener(listener)

    def account(self, guard_id: str) -> Account | None:
        return self._guards.account(guard_id)


def attach_console(host: ConsoleHost) -> ConsolePart:
    """Build the console for ``host`` (``[console]`` of its config) and add it as a part."""
    config = host.config_state().config
    gate = ConsoleGate(host, host.events, GuardStore(host.paths))
    desk = Desk(gate, config.zone(), config.console.allow_names)
    passes = host if isinstance(host, PassDesk) else None
    console = Console(gate, desk, config.console, passes, config.gate.site, config.gate.gate_id)
    DrillScreen(console, gate, host, config.zone()).install()
    ComplaintScreen(console, gate).install()
    if isinstance(host, MusterHost):
        MusterScreen(console, host.muster, config.zone()).install()
    PresenceScreen(console, gate, host).install()
    if isinstance(host, BarrierPort) and any(d.barrier for d in config.doors):
        BarrierScreen(console, gate, host).install()
    part = ConsolePart(console, config.console)
    host.add_part(part)
    return part
