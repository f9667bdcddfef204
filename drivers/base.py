"""The three device kinds the agent drives. Real and simulated backends implement these."""

from __future__ import annotations

import itertools
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from drivers.cards import CardNumber, CardRead, SecureProof

log = logging.getLogger(__name__)


class DriverOptions(BaseModel):
    """Options a backend takes from its config table; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MonotonicClock(Protocol):
    """All a driver asks of time: a clock that never jumps."""

    def monotonic(self) -> float: ...


class Spawner(Protocol):
    """Where a driver gets its threads: the agent's runner, which joins them at stop."""

    @property
    def stopping(self) -> threading.Event: ...

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread: ...


class Feedback(StrEnum):
    """What a reader shows the person at it after a decision."""

    GRANT = "grant"  # green, short beep
    DENY = "deny"  # red, long beep


class Condition(StrEnum):
    """States a reader reports about itself besides cards."""

    TAMPER = "tamper"
    POWER = "power"  # active: the reader's supply failed


def _no_health(_ok: bool, _detail: str) -> None:
    return None


def _no_condition(_condition: Condition, _active: bool, _detail: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Scan:
    """Text a QR or barcode scanner read. It may be a pass, a bearer credential: not shown."""

    text: str = field(repr=False)
    reader: str
    at: float  # monotonic time it arrived
    scan_id: int


@dataclass(frozen=True)
class ReaderHooks:
    """Where a reader reports, each callable from any driver thread."""

    read: Callable[[CardRead], None]
    health: Callable[[bool, str], None] = _no_health  # (working, detail)
    condition: Callable[[Condition, bool, str], None] = _no_condition
    keypad: Callable[[str], None] | None = None  # keys typed on a reader's keypad
    scan: Callable[[Scan], None] | None = None  # text from a QR or barcode scanner


@dataclass(frozen=True)
class DriverContext:
    """What a backend gets besides its options: time, and for GPIO a pin factory."""

    clock: MonotonicClock
    pin_factory: object | None = None  # a gpiozero Factory; None means gpiozero's default
    secure: SecureSite | None = None  # the site's secure-card keys, for readers that can


@dataclass(frozen=True)
class SecureSite:
    """What a reader needs to verify secure cards (``[secure]``): the site master key,
    which each card's keys are diversified from, the card application and the relay
    budget. Read by the gate from its key file; never logged (no key in its repr)."""

    master_key: bytes = field(repr=False)
    application_id: int
    relay_budget_s: float


class Device(ABC):
    """A device with a name (its config id) that can be closed."""

    kind: ClassVar[str]
    Options: ClassVar[type[DriverOptions]] = DriverOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        self.name = name
        self.driver_name = ""  # the registry's name for the backend, set when it is made
        self.options = options
        self.context = context

    def close(self) -> None:  # noqa: B027 - most devices have nothing to release
        """Release the device. Safe to call twice."""


class CardReader(Device):
    """Delivers card reads through its hooks. Counts and logs frames it could not decode."""

    kind = "reader"

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self.frame_errors = 0
        self.last_error = ""
        self._hooks: ReaderHooks | None = None
        self._threads: Spawner | None = None
        self._read_ids = itertools.count(1)

    def start(self, hooks: ReaderHooks, threads: Spawner) -> None:
        """Begin delivering reads; hooks may be called from a driver thread."""
        self._hooks = hooks
        self._threads = threads
        self._open()

    def _open(self) -> None:
        """Open the hardware (or start the thread that does); called by ``start``."""

    def feedback(self, result: Feedback) -> None:
        """Show a decision (LED, buzzer) if the reader can; must not block."""

    def _deliver(self, card: CardNumber, proof: SecureProof | None = None) -> CardRead:
        """Stamp a decoded card (and a secure card's proof) with this reader, the time and
        a fresh read id; pass it on."""
        at, read_id = self.context.clock.monotonic(), next(self._read_ids)
        read = CardRead(card, self.name, at, read_id, proof)
        if self._hooks is not None:
            self._hooks.read(read)
        return read

    def _deliver_scan(self, text: str) -> Scan:
        """Stamp text a scanner read with this reader, the time and a fresh id; pass it on."""
        scan = Scan(text, self.name, self.context.clock.monotonic(), next(self._read_ids))
        if self._hooks is not None and self._hooks.scan is not None:
            self._hooks.scan(scan)
        return scan

    def _frame_error(self, why: str) -> None:
        self.frame_errors += 1
        log.warning("reader %s: bad frame (%s); %d so far", self.name, why, self.frame_errors)

    def _health(self, ok: bool, detail: str = "") -> None:
        self.last_error = "" if ok else detail
        if self._hooks is not None:
            self._hooks.health(ok, detail)

    def _condition(self, condition: Condition, active: bool, detail: str = "") -> None:
        if self._hooks is not None:
            self._hooks.condition(condition, active, detail)


class Relay(Device):
    """An output that energises a lock or strike. Door semantics live above it."""

    kind = "relay"

    @abstractmethod
    def set_energised(self, energised: bool) -> None:
        """Drive the coil; must be idempotent and never raise for a repeat."""

    @property
    @abstractmethod
    def is_energised(self) -> bool: ...


class DigitalInput(Device):
    """A contact or button. ``active`` means pressed, door open, or alarm on."""

    kind = "input"

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self._on_change: Callable[[bool], None] | None = None

    def start(self, on_change: Callable[[bool], None]) -> None:
        """Begin reporting changes; ``on_change`` may be called from a driver thread."""
        self._on_change = on_change
        self._open()

    def _open(self) -> None:
        """Open the hardware; called by ``start``."""

    def _changed(self, active: bool) -> None:
        if self._on_change is not None:
            self._on_change(active)

    @property
    @abstractmethod
    def is_active(self) -> bool: ...


@runtime_checkable
class CardStimulus(Protocol):
    """A reader that takes taps from software (the simulator): what the control socket drives."""

    name: str

    def present(self, card: str) -> CardRead: ...


@runtime_checkable
class ScanStimulus(Protocol):
    """A scanner that takes scanned text from software (the simulator)."""

    name: str

    def scan(self, text: str) -> Scan: ...


@runtime_checkable
class InputStimulus(Protocol):
    """An input that takes presses and levels from software (the simulator)."""

    name: str

    def set(self, active: bool) -> None: ...

    def press(self) -> None: ...
