"""USB keyboard-wedge readers: they type each card's id as keys and press Enter.

The reader is read through evdev and, by default, grabbed, so the ids it types never
reach a console or a login prompt. ``technology`` says what the typed number is: a
13.56 MHz UID (``uid``, often 10 decimal digits of 4 bytes, lowest byte first) or a
125 kHz id (``prox``).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import select
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar, Literal, Protocol

import evdev
from evdev import ecodes
from evdev.events import InputEvent
from pydantic import Field, StrictBool, model_validator

from agent.errors import CardFormatError
from drivers.base import DriverContext, DriverOptions
from drivers.cards import CardNumber
from drivers.frames import BadFrame, Decoded, card_from_text
from drivers.streaming import ReaderOptions, StreamingReader

KEY_DOWN = 1  # evdev values: 0 key up, 1 key down, 2 autorepeat

_KEY_CHARS: dict[int, str] = {
    **{getattr(ecodes, f"KEY_{d}"): str(d) for d in range(10)},
    **{getattr(ecodes, f"KEY_KP{d}"): str(d) for d in range(10)},
    **{getattr(ecodes, f"KEY_{c.upper()}"): c for c in "abcdef"},
}
_END_KEYS = frozenset({ecodes.KEY_ENTER, ecodes.KEY_KPENTER})
# Keys are positions, not characters: readers set up for other layouts hold shift
# for digits, and hex readers shift their letters, so modifiers carry no meaning here.
_MODIFIER_KEYS = frozenset(
    {
        ecodes.KEY_LEFTSHIFT,
        ecodes.KEY_RIGHTSHIFT,
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
MAX_TYPED = 32  # longer than any id; the rest of such a line is noise


class KeyboardOptions(ReaderOptions):
    """Which input device is the reader and how to read the number it types."""

    device: str | None = None  # /dev/input/by-id/usb-...-event-kbd
    name: str | None = None  # or the device's evdev name, as `evtest` lists it
    grab: StrictBool = True  # keep the typed ids from every other program
    technology: Literal["uid", "prox"]
    encoding: Literal["decimal", "hex"] = "decimal"
    bits: int = Field(32, ge=8, le=80)
    byte_order: Literal["big", "little"] = "big"

    @model_validator(mode="after")
    def _consistent(self) -> KeyboardOptions:
        if (self.device is None) == (self.name is None):
            raise ValueError("give exactly one of device (a path) or name")
        if self.technology == "uid" and (self.bits % 8 or not 32 <= self.bits <= 80):
            raise ValueError("a UID is 4 to 10 whole bytes: bits = 32, 40, ... 80")
        if self.byte_order == "little" and self.bits % 8:
            raise ValueError("byte_order = 'little' needs bits in whole bytes")
        return self


class KeyDecoder:
    """Key events in, cards and bad lines out: digits and a-f collect, Enter ends an id.

    Key-ups, autorepeats, non-key events and modifiers are ignored. Any other key
    spoils the line rather than being dropped, so a misread never becomes a
    different, shorter number.
    """

    def __init__(self, to_card: Callable[[str], CardNumber]) -> None:
        self._to_card = to_card
        self._typed: list[str] = []
        self._spoiled = ""

    def feed(self, events: Iterable[tuple[int, int, int]]) -> list[Decoded]:
        out: list[Decoded] = []
        for event_type, code, value in events:
            if event_type != ecodes.EV_KEY or value != KEY_DOWN or code in _MODIFIER_KEYS:
                continue
            char = _KEY_CHARS.get(code)
            if code in _END_KEYS:
                decoded = self._end_line()
                if decoded is not None:
                    out.append(decoded)
            elif char is None:
                self._spoiled = self._spoiled or "unexpected key"
            elif len(self._typed) >= MAX_TYPED:
                self._spoiled = self._spoiled or "line too long"
            else:
                self._typed.append(char)
        return out

    def _end_line(self) -> Decoded | None:
        text, spoiled = "".join(self._typed), self._spoiled
        self._typed.clear()
        self._spoiled = ""
        if spoiled:
            return BadFrame(spoiled)
        if not text:
            return None  # a bare Enter is not a read
        try:
            return self._to_card(text)
        except CardFormatError as exc:
            return BadFrame(str(exc))


class EventSource(Protocol):
    """What the reader loop needs of an input device; evdev's InputDevice is one."""

    def fileno(self) -> int: ...

    def read(self) -> Iterator[InputEvent]: ...

    def close(self) -> None: ...


class KeyboardReader(StreamingReader):
    """A keyboard-wedge reader read through evdev on a runner thread."""

    # StreamingReader's own Options fixes the attribute's type at ReaderOptions
    Options: ClassVar[type[ReaderOptions]] = KeyboardOptions
    POLL_S = 0.1  # how long select waits: bounds how late ``stop`` is noticed

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, KeyboardOptions)
        super().__init__(name, options, context)
        self.keyboard_options = options
        self._source: EventSource | None = None
        self._decoder = self._new_decoder()

    def _new_decoder(self) -> KeyDecoder:
        opts = self.keyboard_options

        def to_card(text: str) -> CardNumber:
            return card_from_text(text, opts.encoding, opts.bits, opts.technology, opts.byte_order)

        return KeyDecoder(to_card)

    def _open_device(self) -> EventSource:
        """Open (and grab) the reader's input device; raise OSError if it is not there."""
        opts = self.keyboard_options
        return open_input(opts.device, opts.name, opts.grab)

    def _connect(self) -> None:
        self._source = self._open_device()
        # keys typed before the device went away must not join the next id
        self._decoder = self._new_decoder()

    def _serve(self, stopping: threading.Event) -> None:
        source = self._source
        assert source is not None
        while not stopping.is_set():
            ready, _, _ = select.select([source], [], [], self.POLL_S)
            if not ready:
                continue
            try:
                # an unplugged reader raises OSError(ENODEV) here, ending _serve
                events = [(event.type, event.code, event.value) for event in source.read()]
            except BlockingIOError:
                continue
            if not events:
                # readable with nothing to read: the other end is closed for good
                raise OSError(errno.ENODEV, "input device closed")
            for item in self._decoder.feed(events):
                if isinstance(item, BadFrame):
                    self._frame_error(item.why)
                else:
                    self._seen(item)

    def _disconnect(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            # closing releases the grab too; a vanished device may refuse the close
            with contextlib.suppress(OSError):
                source.close()


def open_input(path: str | None, name: str | None, grab: bool) -> evdev.InputDevice[str]:
    """An input device by path, else by name, grabbed if asked; OSError if it is not there.
    Card readers and pass scanners that type as keyboards both open theirs here."""
    device = evdev.InputDevice(path) if path else _find_named(name or "")
    if grab:
        try:
            device.grab()
        except OSError:
            device.close()
            raise
    return device


def _find_named(name: str) -> evdev.InputDevice[str]:
    # listed here: evdev 2 takes ``writable=``, Debian 12's evdev 1.6 does not
    for path in sorted(glob.glob("/dev/input/event*")):
        try:
            device: evdev.InputDevice[str] = evdev.InputDevice(path)
        except OSError:
            continue  # gone between listing and opening, or not ours to read
        if device.name == name:
            return device
        device.close()
    raise FileNotFoundError(errno.ENOENT, f"no input device named {name!r}")
