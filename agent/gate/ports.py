"""What the parts around a gate may ask of it. They get these Protocols, never the App."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent.core.clock import Clock
from agent.core.decision import GateMode
from agent.core.kinds import DrillKind, EventType
from agent.models.config import GateConfig
from agent.models.messages import GateStatus
from agent.models.passes import PassUpdate
from agent.models.wire import AllowListEntry, Event
from agent.store.listfile import Finish, StageWrite
from drivers.base import CardReader, DigitalInput


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One card read decided: what the gate did, and the event that records it."""

    read_id: int
    reader: str
    door: str
    direction: str
    granted: bool
    reason: str
    card: str  # masked
    holder_id: str | None
    kind: str | None
    unit: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class PassOutcome:
    """One visitor pass shown at a door (scanned or typed): what the gate did and why.

    ``reason`` is ``granted``, ``emergency_release`` (door held open, no use counted) or
    why it was refused: malformed, forged, unknown (a short code never delivered here),
    wrong_site, wrong_gate, wrong_door, lockdown, clock_untrusted, not_yet_valid,
    expired, revoked, used_up, storage_fault. ``seq`` is the event that records it.
    """

    granted: bool
    reason: str
    door: str
    pass_id: str | None  # None when the text was no pass at all
    unit: str | None  # only for a pass whose signature is good
    uses_left: int | None
    valid_until: datetime | None
    by: str  # "scanner:<reader id>", or whoever typed the code
    via: str  # "code" (the full code, QR) or "short_code"
    seq: int | None
    reader: str | None = None
    scan_id: int | None = None


@dataclass(frozen=True, slots=True)
class LearnedCard:
    """A card read for enrolment: its canonical notation (what the office registers) and
    masked form. Only the installer's terminal sees the notation."""

    reader: str
    card: str
    masked: str


@dataclass(frozen=True)
class ConfigState:
    """The configuration in force, the installer's file under it, and the office revision."""

    config: GateConfig
    base: GateConfig
    revision: int


@dataclass(frozen=True)
class DeviceMap:
    """The gate's devices by config id; fixed for the life of one App."""

    readers: Mapping[str, CardReader]
    reader_door: Mapping[str, str]
    inputs: Mapping[str, DigitalInput]
    doors: tuple[str, ...]


class AllowListWriter(Protocol):
    """The allow-list as the office link changes it."""

    def version(self) -> int | None: ...

    def count(self) -> int: ...

    def restore_mark(self) -> dict[str, Any] | None:
        """Set while a list restored from a backup is in force (the office must resend)."""
        ...

    def stage_with(
        self, snapshot_id: str, version: int, chunk: int, chunks: int, write: StageWrite
    ) -> bool: ...

    def commit_staged(self, snapshot_id: str, version: int, finish: Finish = None) -> int: ...

    def discard_staged(self) -> None: ...

    def patch(
        self,
        base: int,
        version: int,
        upserts: Iterable[AllowListEntry],
        removals: Iterable[str],
    ) -> None: ...


class GatePort(Protocol):
    """A running gate, as the office link and the control socket see it.

    Every method is safe to call from any thread: whatever touches gate state runs
    on the gate's core loop.
    """

    @property
    def clock(self) -> Clock: ...

    @property
    def allowlist(self) -> AllowListWriter: ...

    @property
    def devices(self) -> DeviceMap: ...

    def config_state(self) -> ConfigState: ...

    def record(self, type_: EventType, door: str | None = None, /, **details: Any) -> Event:
        """Append an event (on the core loop) and return it."""
        ...

    def add_event_listener(self, listener: Callable[[Event], None]) -> None: ...

    def add_decision_listener(self, listener: Callable[[DecisionRecord], None]) -> None: ...

    def status(self, recent: int = 10) -> GateStatus: ...

    def set_lockdown(
        self, on: bool, by: str = "local", request_id: str | None = None
    ) -> GateMode: ...

    def set_release(
        self, on: bool, by: str = "local", request_id: str | None = None
    ) -> GateMode: ...

    def open_door(self, door: str, by: str, request_id: str | None = None) -> None: ...

    def apply_config(self, config: GateConfig, revision: int, restart: bool) -> None:
        """Take a validated config: live when ``restart`` is false, else restart soon."""
        ...

    def preflight(self, config: GateConfig) -> list[tuple[str, str]]:
        """(key path, why) for each device of ``config`` that could not be opened here."""
        ...

    def settle(self) -> None:
        """Return once the core loop has handled everything posted before the call."""
        ...

    def learn(self, reader: str, timeout: float) -> LearnedCard:
        """The next card read on ``reader``, not decided; GateError after ``timeout``."""
        ...

    def admit_pass(self, door: str, code: str, by: str) -> PassOutcome:
        """Check a visitor pass typed or pasted at ``door`` (its full code or short code)
        and open the door if it is good, exactly as a scanned pass would; ``by`` says who
        (recorded in the event). Every outcome is an event; GateError for an unknown door."""
        ...

    def update_passes(self, update: PassUpdate) -> dict[str, Any]:
        """Revoke passes and store passes delivered ahead (Rejected if one is not genuine)."""
        ...

    def add_pass_listener(self, listener: Callable[[PassOutcome], None]) -> None: ...

    def start_drill(self, kind: DrillKind, by: str, *, minutes: int | None = None,
                    until: datetime | None = None, note: str = "",
                    request_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Start a fire or evacuation drill ending after ``minutes`` or at ``until``;
        Rejected (one line) when one runs, the fire input is on, or the end is wrong."""
        ...

    def stop_drill(self, by: str) -> dict[str, Any]:
        """End the drill running now; its report (``drill_ended``). Rejected if none runs."""
        ...

    def drill(self) -> dict[str, Any] | None:
        """The drill running (id, kind, by, started_at, ends_at, note), or None."""
        ...

    def forgive_holder(self, holder_id: str, by: str, reason: str = "",
                       request_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Forget where a holder is (``passback_forgiven``); Rejected for a bad holder id."""
        ...

    def send_picture(self, picture_id: str, incident: str, request_id: str) -> dict[str, Any]:
        """One kept plate picture for the office's incident (``picture_sent``); Rejected if
        the gate does not hold it."""
        ...

    def correct_occupancy(self, by: str, area: str, kind: str, count: int | None = None,
                          delta: int | None = None, reason: str = "",
                          ) -> dict[str, Any]:  # fmt: skip
        """Correct an area's count of one kind (``occupancy_corrected``); Rejected (one line)
        for an unknown area or kind, a negative count, or nothing to change."""
        ...
