"""QR and barcode scanners that type what they read (USB keyboard wedge), read through evdev.

``readers = [{ id = "main-qr", driver = "scanner-keyboard", name = "Scanner HID KBW" }]``
The scanner is grabbed by default, so the codes it types reach no console or login
prompt. Keys are read as US positions: set the scanner to the US layout.
"""

from __future__ import annotations

import contextlib
import errno
import select
import threading
from collections.abc import Iterable
from typing import ClassVar

from evdev import ecodes
from pydantic import StrictBool, model_validator

from drivers.base import DriverContext, DriverOptions
from drivers.frames import BadFrame
from drivers.keyboard import EventSource, open_input
from drivers.scan_text import MAX_SCAN_LEN, ScanDecoded, Scanner, ScannerOptions, finish_line
from drivers.streaming import ReaderOptions

KEY_DOWN, KEY_UP = 1, 0

_LETTERS = {getattr(ecodes, f"KEY_{c.upper()}"): c for c in "abcdefghijklmnopqrstuvwxyz"}
# Digits ignore Shift: readers set up for layouts that shift their digits type them so.
_PLAIN = {
    **{getattr(ecodes, f"KEY_{d}"): str(d) for d in range(10)},
    **{getattr(ecodes, f"KEY_KP{d}"): str(d) for d in range(10)},
    ecodes.KEY_DOT: ".",
    ecodes.KEY_KPDOT: ".",
    ecodes.KEY_MINUS: "-",
    ecodes.KEY_KPMINUS: "-",
    ecodes.KEY_SLASH: "/",
    ecodes.KEY_KPSLASH: "/",
    ecodes.KEY_SPACE: " ",
}
_SHIFTS = frozenset({ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT})
_END_KEYS = frozenset({ecodes.KEY_ENTER, ecodes.KEY_KPENTER, ecodes.KEY_TAB})
_IGNORED = frozenset(
    {
        ecodes.KEY_CAPSLOCK,
        ecodes.KEY_NUMLOCK,
        ecodes.KEY_LEFTCTRL,
        ecodes.KEY_RIGHTCTRL,
        ecodes.KEY_LEFTALT,
        ecodes.KEY_RIGHTALT,
        ecodes.KEY_LEFTMETA,
        ecodes.KEY_RIGHTMETA,
    }
)


class ScanKeyDecoder:
    """Keyboard-wedge scanners: key events to lines (US positions; letters follow Shift).

    Key-ups, autorepeats and other modifiers are ignored; any key outside the set a
    pass or a barcode uses spoils the line rather than being dropped, so a misread is
    refused whole instead of becoming other text.
    """

    def __init__(self, strip_prefix: str = "", strip_suffix: str = "") -> None:
        self._strip = (strip_prefix, strip_suffix)
        self._typed: list[str] = []
        self._spoiled = ""
        self._shift = False

    def feed(self, events: Iterable[tuple[int, int, int]]) -> list[ScanDecoded]:
        out: list[ScanDecoded] = []
        for event_type, code, value in events:
            if event_type != ecodes.EV_KEY:
                continue
            if code in _SHIFTS:
                self._shift = value != KEY_UP
                continue
            if value != KEY_DOWN or code in _IGNORED:
                continue
            if code in _END_KEYS:
                if (decoded := self._end_line()) is not None:
                    out.append(decoded)
            elif (char := self._char(code)) is None:
                self._spoiled = self._spoiled or "unexpected key"
            elif len(self._typed) >= MAX_SCAN_LEN:
                self._spoiled = self._spoiled or "line too long"
            else:
                self._typed.append(char)
        return out

    def _char(self, code: int) -> str | None:
        if code in _LETTERS:
            return _LETTERS[code].upper() if self._shift else _LETTERS[code]
        return _PLAIN.get(code)

    def _end_line(self) -> ScanDecoded | None:
        text, spoiled = "".join(self._typed), self._spoiled
        self._typed.clear()
        self._spoiled = ""
        if spoiled:
            return BadFrame(spoiled)
        return finish_line(text, *self._strip)


class KeyboardScannerOptions(ScannerOptions):
    """Which input device is the scanner."""

    device: str | None = None  # /dev/input/by-id/usb-...-event-kbd
    name: str | None = None  # or the device's evdev name, as `evtest` lists it
    grab: StrictBool = True  # keep the typed codes from every other program

    @model_validator(mode="after")
    def _one_device(self) -> KeyboardScannerOptions:
        if (self.device is None) == (self.name is None):
            raise ValueError("give exactly one of device (a path) or name")
        return self


class KeyboardScanner(Scanner):
    """A keyboard-wedge scanner read through evdev on a runner thread."""

    Options: ClassVar[type[ReaderOptions]] = KeyboardScannerOptions
    POLL_S = 0.1  # how long select waits: bounds how late ``stop`` is noticed

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, KeyboardScannerOptions)
        super().__init__(name, options, context)
        self.keyboard_options = options
        self._source: EventSource | None = None
        self._decoder = ScanKeyDecoder(options.strip_prefix, options.strip_suffix)

    def _open_device(self) -> EventSource:
        """Open (and grab) the scanner's input device; OSError if it is not there."""
        opts = self.keyboard_options
        return open_input(opts.device, opts.name, opts.grab)

    def _connect(self) -> None:
        self._source = self._open_device()
        # keys typed before the device went away must not join the next code
        opts = self.keyboard_options
        self._decoder = ScanKeyDecoder(opts.strip_prefix, opts.strip_suffix)
        self.text_repeats.forget()

    def _serve(self, stopping: threading.Event) -> None:
        source = self._source
        assert source is not None
        while not stopping.is_set():
            ready, _, _ = select.select([source], [], [], self.POLL_S)
            if not ready:
                continue
            try:
                events = [(event.type, event.code, event.value) for event in source.read()]
            except BlockingIOError:
                continue
            if not events:  # readable with nothing to read: the other end is gone
                raise OSError(errno.ENODEV, "input device closed")
            self._lines(self._decoder.feed(events))

    def _disconnect(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(OSError):
                source.close()
