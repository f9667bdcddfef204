"""A Wiegand reader on two GPIO lines: a falling edge on D0 is a 0 bit, on D1 a 1 bit.

Each edge is kept with the pin factory's timestamp for it (on a Pi, lgpio hands gpiozero
the kernel's timestamp), so frames are cut at pauses on the wire even when the callbacks
run late or in a burst. A thread of the runner's waits for the lines to go quiet, then
decodes what arrived; frames that do not decode are counted and dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from itertools import pairwise
from typing import Any

from pydantic import Field, StrictBool, model_validator

from drivers.base import CardReader, DriverContext, DriverOptions, Feedback
from drivers.feedback import FeedbackPins, GpioFeedback
from drivers.streaming import RepeatFilter
from drivers.wiegand_format import (
    DEFAULT_FORMATS,
    KEY_BURSTS,
    STANDARD_FORMATS,
    FormatSet,
    FrameError,
    WiegandFormat,
    decode_key,
    split_bursts,
)

log = logging.getLogger(__name__)


class WiegandOptions(DriverOptions):
    """``{ driver = "wiegand", d0 = 17, d1 = 27 }`` plus which frame formats it accepts."""

    d0: int | str
    d1: int | str
    formats: tuple[str, ...] = DEFAULT_FORMATS  # names from STANDARD_FORMATS
    custom_formats: tuple[WiegandFormat, ...] = ()  # accepted besides ``formats``
    # a pause this long ends a frame; bits come 0.2-20 ms apart, frames far more
    frame_timeout_s: float = Field(0.025, ge=0.002, le=1.0)
    pull_up: StrictBool = True  # False: the lines have external pull-ups (a level shifter's)
    hold_s: float = Field(0.0, ge=0, le=60)  # for readers that repeat a card held on them
    feedback: FeedbackPins | None = None
    # 4- and 8-bit bursts are keys from the reader's keypad (card plus PIN), unless an
    # accepted format has that length; False: they are counted as bad frames
    keypad: StrictBool = True

    @model_validator(mode="after")
    def _check(self) -> WiegandOptions:
        if str(self.d0) == str(self.d1):
            raise ValueError("d0 and d1 must be different lines")
        unknown = [name for name in self.formats if name.upper() not in STANDARD_FORMATS]
        if unknown:
            raise ValueError(f"unknown formats {unknown}; choose from {sorted(STANDARD_FORMATS)}")
        self.format_set()  # refuses two formats of one length, or none at all
        return self

    def format_set(self) -> FormatSet:
        standard = [STANDARD_FORMATS[name.upper()] for name in self.formats]
        return FormatSet([*standard, *self.custom_formats])


class WiegandReader(CardReader):
    """Collects D0/D1 edges with their timestamps and decodes each frame after a pause."""

    Options = WiegandOptions
    MAX_EDGES = 256  # far beyond any format: more without a pause is line noise
    IDLE_POLL_S = 0.1  # how often an idle reader looks at its lines and at ``stopping``
    STUCK_S = 0.5  # a line low this long is shorted or mis-wired, not sending bits

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, WiegandOptions)
        super().__init__(name, options, context)
        self.wiegand_options = options
        self.formats = options.format_set()
        self.repeats = RepeatFilter(options.hold_s, context.clock)
        self.stuck_line = ""  # "D0" or "D1" while one is held low, else ""
        self._lock = threading.Lock()  # edges come on the pin factory's thread
        self._edges: list[tuple[Any, int]] = []  # (pin factory ticks, bit)
        self._overflow = False
        self._last_arrival = 0.0  # time.monotonic() when the newest edge was handed to us
        self._wake = threading.Event()
        self._low_since: dict[str, float] = {}
        self._lines: dict[str, Any] = {}
        self._closed = False
        self._lights: GpioFeedback | None = None
        try:
            self._lines["D0"] = self._input(options.d0)
            self._lines["D1"] = self._input(options.d1)
            if options.feedback is not None:
                self._lights = GpioFeedback(options.feedback, context.pin_factory)
        except BaseException:
            self.close()
            raise

    def _input(self, pin: int | str) -> Any:
        from gpiozero import InputDevice

        # A plain InputDevice: DigitalInputDevice would claim the pin's callback and
        # debounce it. pull_up=None (floating) needs the idle level spelled out.
        if self.wiegand_options.pull_up:
            return InputDevice(pin, pull_up=True, pin_factory=self.context.pin_factory)
        return InputDevice(
            pin, pull_up=None, active_state=False, pin_factory=self.context.pin_factory
        )

    def _open(self) -> None:
        assert self._threads is not None
        for label, handler in (("D0", self._d0_fell), ("D1", self._d1_fell)):
            pin = self._lines[label].pin
            pin.bounce = None  # any debounce swallows bits 1-2 ms apart
            pin.edges = "falling"
            pin.when_changed = handler  # a bound method: gpiozero keeps only a weak reference
        stopping = self._threads.stopping
        self._threads.spawn(f"reader-{self.name}", lambda: self._watch(stopping))
        opts = self.wiegand_options
        self._health(True, f"listening on D0={opts.d0} D1={opts.d1}")

    def feedback(self, result: Feedback) -> None:
        if self._lights is not None:
            self._lights.show(result)

    def close(self) -> None:
        self._closed = True
        for device in self._lines.values():
            device.close()
        if self._lights is not None:
            self._lights.close()

    # -- the pin factory's thread: keep it short ---------------------------------------
    def _d0_fell(self, ticks: Any, state: Any) -> None:
        self._edge(ticks, state, 0)

    def _d1_fell(self, ticks: Any, state: Any) -> None:
        self._edge(ticks, state, 1)

    def _edge(self, ticks: Any, state: Any, bit: int) -> None:
        if state:
            return  # a factory that cannot filter edges reports rises too: no bit there
        arrival = time.monotonic()
        with self._lock:
            if len(self._edges) < self.MAX_EDGES:
                self._edges.append((arrival if ticks is None else ticks, bit))
            else:
                self._overflow = True
            self._last_arrival = arrival
        self._wake.set()

    # -- the reader's thread -------------------------------------------------------------
    def _watch(self, stopping: threading.Event) -> None:
        # Real time, not the agent's clock: the frame timeout is a property of the wire.
        timeout = self.wiegand_options.frame_timeout_s
        while not stopping.is_set() and not self._closed:
            with self._lock:
                pending = bool(self._edges) or self._overflow
                quiet_for = time.monotonic() - self._last_arrival
                done = pending and quiet_for >= timeout
                if done:  # taken under the same lock as the check: no edge slips in between
                    edges, self._edges = self._edges, []
                    overflow, self._overflow = self._overflow, False
            if done:
                try:
                    self._finish(edges, overflow, timeout)
                except Exception:  # a failing hook must not stop the reader for good
                    log.exception("reader %s: handling a frame failed", self.name)
            elif pending:
                stopping.wait(timeout - quiet_for)
            else:
                self._check_lines()
                self._wake.wait(self.IDLE_POLL_S)
                self._wake.clear()

    def _finish(self, edges: list[tuple[Any, int]], overflow: bool, timeout: float) -> None:
        if overflow:
            self._frame_error(f"line noise: over {self.MAX_EDGES} edges without a pause")
            return
        keys: list[str] = []
        for frame in split_bursts(self._spacing(edges), timeout):
            if self._is_key(frame):
                try:
                    keys.append(decode_key(frame))
                except FrameError as exc:
                    self._frame_error(str(exc))
                continue
            try:
                read = self.formats.decode(frame)
            except FrameError as exc:
                self._frame_error(str(exc))
                continue
            card = read.card_number()
            log.debug("reader %s: %s frame, card %s", self.name, read.format, card.masked())
            if self.repeats.new(card):
                self._deliver(card)
        if keys and self._hooks is not None and self._hooks.keypad is not None:
            self._hooks.keypad("".join(keys))

    def _is_key(self, frame: list[int]) -> bool:
        length = len(frame)
        by_length = self.formats.by_length
        return self.wiegand_options.keypad and length in KEY_BURSTS and length not in by_length

    def _spacing(self, edges: list[tuple[Any, int]]) -> list[tuple[float, int]]:
        """Edges in wire order, each with the seconds since the one before it."""
        if not edges:
            return []
        factory = self._lines["D0"].pin_factory
        first = edges[0][0]
        # D0 and D1 are separate lines whose callbacks need not interleave in wire
        # order; the timestamps put them back. Ticks are opaque: compare them only
        # through the factory's ticks_diff.
        ordered = sorted(edges, key=lambda edge: factory.ticks_diff(edge[0], first))
        spaced = [(0.0, ordered[0][1])]
        for (before, _), (ticks, bit) in pairwise(ordered):
            spaced.append((factory.ticks_diff(ticks, before), bit))
        return spaced

    def _check_lines(self) -> None:
        """Report a line held low (a short, a reversed wire, a dead level shifter) once."""
        now = time.monotonic()
        try:
            # active_state is "low", so is_active means the line is pulled down
            low = {label: bool(device.is_active) for label, device in self._lines.items()}
        except Exception:  # closed under us while stopping
            return
        stuck = ""
        for label, is_low in low.items():
            if not is_low:
                self._low_since.pop(label, None)
            elif now - self._low_since.setdefault(label, now) >= self.STUCK_S and not stuck:
                stuck = label
        if stuck != self.stuck_line:
            self.stuck_line = stuck
            if stuck:
                self._health(False, f"{stuck} held low: check the reader's wiring and power")
            else:
                self._health(True, "lines idle high again")
