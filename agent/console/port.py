"""What the console may ask of a gate, as Protocols: it never sees the App."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol, runtime_checkable

from agent.core.clock import Clock
from agent.core.kinds import EventType
from agent.models.messages import GateStatus
from agent.models.wire import Event
from agent.store.guards import Account


class ConsolePort(Protocol):
    """A running gate as the console sees it; every method is safe from any thread."""

    @property
    def clock(self) -> Clock: ...

    @property
    def door_ids(self) -> tuple[str, ...]: ...

    def status(self, recent: int = 0) -> GateStatus:
        """Doors, mode, office link (and the newest ``recent`` events)."""
        ...

    def events_of(self, types: Collection[str], limit: int) -> list[Event]:
        """The newest ``limit`` events of those types, oldest first."""
        ...

    def record(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event:
        """Append an event (durably, on the core loop) and return it."""
        ...

    def open_door(self, door: str, by: str, request_id: str | None = None) -> None:
        """Pulse a door once (recorded as ``remote_open`` with ``by``)."""
        ...

    def add_event_listener(self, listener: Callable[[Event], None]) -> None:
        """``listener`` hears every event on the core loop: it must not block."""
        ...

    def account(self, guard_id: str) -> Account | None:
        """The guard account of that id (office list or break-glass), if any."""
        ...


@runtime_checkable
class PassDesk(Protocol):
    """A gate that checks visitor passes offline (issue 12, item 4). Optional."""

    def admit_pass(self, door: str, code: str, by: str) -> Any: ...
