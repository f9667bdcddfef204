"""Readers served by a loop on a thread: connect, read until the device fails, reconnect.

A reader that is unplugged, loses its serial port or stops answering is reported
once as faulted, retried after a pause that doubles up to a cap, and reported once
as restored when it answers again. The rest of the gate never waits for it.
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from typing import ClassVar

from pydantic import Field

from drivers.base import CardReader, DriverContext, DriverOptions, Feedback, MonotonicClock
from drivers.cards import CardNumber
from drivers.feedback import FeedbackPins, GpioFeedback

log = logging.getLogger(__name__)


class ReaderOptions(DriverOptions):
    """Options every real reader takes besides its own."""

    hold_s: float = Field(1.0, ge=0, le=60)  # a card seen again within this is still held
    retry_min_s: float = Field(0.5, gt=0, le=60)
    retry_max_s: float = Field(30.0, gt=0, le=3600)
    feedback: FeedbackPins | None = None  # LED and buzzer lines, for readers that have them


class RepeatFilter:
    """One tap per presentation: a card reported again while it is held is not a new read."""

    def __init__(self, hold_s: float, clock: MonotonicClock) -> None:
        self._hold_s = hold_s
        self._clock = clock
        self._last: tuple[str, float] | None = None

    def new(self, card: CardNumber) -> bool:
        """True when ``card`` is a new presentation; every sighting extends the hold."""
        key = card.canonical(64)
        now = self._clock.monotonic()
        last, self._last = self._last, (key, now)
        return last is None or last[0] != key or now - last[1] >= self._hold_s

    def forget(self) -> None:
        self._last = None


class StreamingReader(CardReader):
    """A reader whose device is opened and read on a thread of the runner's."""

    Options: ClassVar[type[DriverOptions]] = ReaderOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, ReaderOptions)
        super().__init__(name, options, context)
        self.reader_options = options
        self.repeats = RepeatFilter(options.hold_s, self.context.clock)
        self.connected = False
        self._lights = (
            GpioFeedback(options.feedback, self.context.pin_factory) if options.feedback else None
        )

    def _open(self) -> None:
        assert self._threads is not None
        stopping = self._threads.stopping
        self._threads.spawn(f"reader-{self.name}", lambda: self._supervise(stopping))

    def feedback(self, result: Feedback) -> None:
        if self._lights is not None:
            self._lights.show(result)

    def close(self) -> None:
        if self._lights is not None:
            self._lights.close()

    # -- the reader's thread -------------------------------------------------------
    def _supervise(self, stopping: threading.Event) -> None:
        delay = self.reader_options.retry_min_s
        faulted = False
        while not stopping.is_set():
            try:
                self._connect()
            except Exception as exc:
                if not faulted:
                    faulted = True
                    self._health(False, f"cannot open: {_describe(exc)}")
                stopping.wait(delay)
                delay = min(delay * 2, self.reader_options.retry_max_s)
                continue
            self.connected = True
            if faulted:
                faulted = False
            self._health(True, "connected")
            delay = self.reader_options.retry_min_s
            try:
                self._serve(stopping)
            except Exception as exc:
                if not stopping.is_set():
                    faulted = True
                    self._health(False, f"lost: {_describe(exc)}")
                    log.debug("reader %s failed", self.name, exc_info=True)
            finally:
                self.connected = False
                self.repeats.forget()
                try:
                    self._disconnect()
                except Exception:
                    log.debug("reader %s: disconnect failed", self.name, exc_info=True)
            if faulted:
                stopping.wait(delay)

    def _seen(self, card: CardNumber) -> None:
        """A card decoded from the device: delivered unless it is the one still held."""
        if self.repeats.new(card):
            self._deliver(card)

    @abstractmethod
    def _connect(self) -> None:
        """Open the device; raise if it is not there."""

    @abstractmethod
    def _serve(self, stopping: threading.Event) -> None:
        """Read until ``stopping`` is set (return) or the device fails (raise)."""

    def _disconnect(self) -> None:
        """Release the device after ``_serve`` ended; must not raise for a gone device."""


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
