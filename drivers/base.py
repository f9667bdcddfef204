"""The three device kinds the agent drives. Real and simulated backends implement these."""

from __future__ import annotations

import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from drivers.cards import CardNumber, CardRead

log = logging.getLogger(__name__)


class DriverOptions(BaseModel):
    """Options a backend takes from its config table; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MonotonicClock(Protocol):
    """All a driver asks of time: a clock that never jumps."""

    def monotonic(self) -> float: ...


@dataclass(frozen=True)
class DriverContext:
    """What a backend gets besides its options: time, and for GPIO a pin factory."""

    clock: MonotonicClock
    pin_factory: object | None = None  # a gpiozero Factory; None means gpiozero's default


class Device(ABC):
    """A device with a name (its config id) that can be closed."""

    kind: ClassVar[str]
    Options: ClassVar[type[DriverOptions]] = DriverOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        self.name = name
        self.options = options
        self.context = context

    def close(self) -> None:  # noqa: B027 - most devices have nothing to release
        """Release the device. Safe to call twice."""


class CardReader(Device):
    """Delivers card reads to a callback. Counts and logs frames it could not decode."""

    kind = "reader"

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self.frame_errors = 0
        self._on_read: Callable[[CardRead], None] | None = None
        self._read_ids = itertools.count(1)

    def start(self, on_read: Callable[[CardRead], None]) -> None:
        """Begin delivering reads; ``on_read`` may be called from a driver thread."""
        self._on_read = on_read
        self._open()

    def _open(self) -> None:
        """Open the hardware; called by ``start``."""

    def _deliver(self, card: CardNumber) -> CardRead:
        """Stamp a decoded card with this reader, the time and a fresh read id; pass it on."""
        read = CardRead(card, self.name, self.context.clock.monotonic(), next(self._read_ids))
        if self._on_read is not None:
            self._on_read(read)
        return read

    def _frame_error(self, why: str) -> None:
        self.frame_errors += 1
        log.warning("reader %s: bad frame (%s); %d so far", self.name, why, self.frame_errors)


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
class InputStimulus(Protocol):
    """An input that takes presses and levels from software (the simulator)."""

    name: str

    def set(self, active: bool) -> None: ...

    def press(self) -> None: ...
