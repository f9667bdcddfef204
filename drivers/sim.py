"""Simulated twins of every device: they record timestamped state and take stimuli."""

from __future__ import annotations

import threading

from drivers.base import (
    CardReader,
    Condition,
    DigitalInput,
    DriverContext,
    DriverOptions,
    Feedback,
    Relay,
    Scan,
)
from drivers.cards import CardRead, SecureProof, parse_card


class SimCardReader(CardReader):
    """A reader a test or the control socket taps cards on with ``present``."""

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self.presented: list[tuple[float, str]] = []  # (monotonic time, masked card)
        self.shown: list[tuple[float, Feedback]] = []  # feedback the gate gave, with its time

    def present(self, card: str, proof: SecureProof | None = None) -> CardRead:
        """Tap a card given in any notation ``parse_card`` reads; ``proof``: what a
        secure reader would have learnt from it."""
        number = parse_card(card)
        read = self._deliver(number, proof)
        self.presented.append((read.at, number.masked()))
        return read

    def garble(self, why: str = "checksum") -> None:
        """Feed a frame that fails to decode, as line noise would."""
        self._frame_error(why)

    def _open(self) -> None:
        self._health(True, "simulated")

    def feedback(self, result: Feedback) -> None:
        self.shown.append((self.context.clock.monotonic(), result))

    def unplug(self, detail: str = "unplugged") -> None:
        """The reader stops answering, as a pulled cable would make it."""
        self._health(False, detail)

    def replug(self) -> None:
        self._health(True, "connected")

    def tamper(self, active: bool = True) -> None:
        self._condition(Condition.TAMPER, active, "housing opened" if active else "")

    def power(self, failed: bool = True) -> None:
        self._condition(Condition.POWER, failed, "supply lost" if failed else "")

    def keys(self, typed: str) -> None:
        """Keys typed on the reader's keypad."""
        if self._hooks is not None and self._hooks.keypad is not None:
            self._hooks.keypad(typed)


class SimScanner(CardReader):
    """A QR or barcode scanner a test or the control socket shows codes to with ``scan``."""

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self.shown: list[tuple[float, Feedback]] = []  # feedback the gate gave, with its time

    def scan(self, text: str) -> Scan:
        """Text read off a code held under the scanner."""
        return self._deliver_scan(text)

    def garble(self, why: str = "unreadable") -> None:
        self._frame_error(why)

    def _open(self) -> None:
        self._health(True, "simulated")

    def feedback(self, result: Feedback) -> None:
        self.shown.append((self.context.clock.monotonic(), result))


class SimRelay(Relay):
    """A relay whose every change is kept as (monotonic time, energised)."""

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self._energised = False
        self._lock = threading.Lock()
        self.history: list[tuple[float, bool]] = []

    def set_energised(self, energised: bool) -> None:
        with self._lock:
            if self.history and energised == self._energised:
                return
            self._energised = energised
            self.history.append((self.context.clock.monotonic(), energised))

    @property
    def is_energised(self) -> bool:
        return self._energised


class SimInput(DigitalInput):
    """A button, contact or alarm input driven by ``press``, ``set`` and friends."""

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self._active = False
        self.history: list[tuple[float, bool]] = []

    def set(self, active: bool) -> None:
        if active == self._active:
            return
        self._active = active
        self.history.append((self.context.clock.monotonic(), active))
        self._changed(active)

    def press(self) -> None:
        """A momentary push: active, then released."""
        self.set(True)
        self.set(False)

    @property
    def is_active(self) -> bool:
        return self._active
