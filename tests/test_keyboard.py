"""Keyboard-wedge readers: the pure key decoder on evtest-shaped sequences, and the reader loop.

There is no /dev/uinput here, so no virtual keyboard can be made. The reader loop is
run on evdev's own reading code (``EventIO.read``, which unpacks ``struct input_event``
records from a file descriptor) over a pipe; only opening the device node is replaced.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from evdev import ecodes
from evdev.eventio import EventIO
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.core.clock import ManualClock
from drivers import registry
from drivers.base import DriverContext
from drivers.cards import CardNumber, parse_card
from drivers.frames import BadFrame, card_from_text
from drivers.keyboard import EventSource, KeyboardReader, KeyDecoder
from tests.reader_rig import Reports, wait_for

Event = tuple[int, int, int]
EV_KEY, EV_SYN, EV_MSC = ecodes.EV_KEY, ecodes.EV_SYN, ecodes.EV_MSC
INPUT_EVENT = struct.Struct("llHHi")  # struct input_event on a 64-bit kernel
# HID usages a USB keyboard reports as MSC_SCAN before each key event
_USAGE = {
    **{str(d): 0x7001E + (d - 1) for d in range(1, 10)},
    "0": 0x70027,
    **{c: 0x70004 + ord(c) - ord("a") for c in "abcdefghijklmnopqrstuvwxyz"},
    "\n": 0x70028,
}
_CODE = {
    **{str(d): getattr(ecodes, f"KEY_{d}") for d in range(10)},
    **{c: getattr(ecodes, f"KEY_{c.upper()}") for c in "abcdefghijklmnopqrstuvwxyz"},
    "\n": ecodes.KEY_ENTER,
}
SHIFT = ecodes.KEY_LEFTSHIFT


def key(char: str, value: int) -> list[Event]:
    """One key going down (1), up (0) or repeating (2), as evtest shows a USB keyboard."""
    lower = char.lower()
    return [(EV_MSC, ecodes.MSC_SCAN, _USAGE[lower]), (EV_KEY, _CODE[lower], value), (EV_SYN, 0, 0)]


def typed(text: str) -> list[Event]:
    """What a reader sends typing ``text``: capitals come with a held shift."""
    events: list[Event] = []
    for char in text:
        if char.isupper():
            events += [(EV_MSC, ecodes.MSC_SCAN, 0x700E1), (EV_KEY, SHIFT, 1), (EV_SYN, 0, 0)]
        events += key(char, 1) + key(char, 0)
        if char.isupper():
            events += [(EV_MSC, ecodes.MSC_SCAN, 0x700E1), (EV_KEY, SHIFT, 0), (EV_SYN, 0, 0)]
    return events


def decoder(**options: Any) -> KeyDecoder:
    opts = {"encoding": "decimal", "bits": 32, "technology": "uid", **options}
    return KeyDecoder(lambda text: card_from_text(text, **opts))


UID = parse_card("uid:04A224B2")
UID_LE_DECIMAL = "2988745220"  # 0xB224A204: the UID's bytes read lowest first


def test_decimal_uid_reader_lowest_byte_first() -> None:
    assert decoder(byte_order="little").feed(typed(UID_LE_DECIMAL + "\n")) == [UID]
    # the same keys read big-endian are a different card: byte_order matters
    assert decoder(byte_order="big").feed(typed(UID_LE_DECIMAL + "\n")) == [
        parse_card("uid:B224A204")
    ]


def test_hex_reader_with_shifted_and_plain_letters() -> None:
    hex_reader = decoder(encoding="hex")
    assert hex_reader.feed(typed("04A224B2\n")) == [UID]
    assert hex_reader.feed(typed("04a224b2\n")) == [UID]
    seven = decoder(encoding="hex", bits=56).feed(typed("04A224B2C35D80\n"))
    assert seven == [parse_card("uid:04A224B2C35D80")]


def test_noise_keys_repeats_and_other_events_are_ignored() -> None:
    events = [(EV_KEY, ecodes.KEY_NUMLOCK, 1), (EV_KEY, ecodes.KEY_NUMLOCK, 0)]
    events += typed(UID_LE_DECIMAL[:4])
    events += key("0", 2)  # autorepeat of a key already down is not another digit
    events += [(EV_KEY, ecodes.KEY_CAPSLOCK, 1), (ecodes.EV_LED, ecodes.LED_CAPSL, 1)]
    events += typed(UID_LE_DECIMAL[4:])
    events += [(EV_KEY, ecodes.KEY_KPENTER, 1), (EV_KEY, ecodes.KEY_KPENTER, 0)]
    assert decoder(byte_order="little").feed(events) == [UID]


def test_keypad_digits_count_as_digits() -> None:
    events = [(EV_KEY, getattr(ecodes, f"KEY_KP{d}"), 1) for d in "789888"]
    events.append((EV_KEY, ecodes.KEY_ENTER, 1))
    (card,) = decoder(technology="prox", bits=24).feed(events)
    assert card == parse_card("w26:12:3456")


def test_lines_that_do_not_parse_are_errors_and_the_next_line_reads() -> None:
    hex_reader = decoder(encoding="hex")
    out = hex_reader.feed(
        typed("04G224B2\n")  # g is no hex digit: the line is spoiled, not shortened
        + typed("\n")  # a bare Enter is no read at all
        + typed("1" * 40 + "\n")
        + typed("0102030405\n")  # five bytes from a reader set to four
        + typed("04A224B2\n")
    )
    assert out == [
        BadFrame("unexpected key"),
        BadFrame("line too long"),
        BadFrame("id does not fit in 32 bits"),
        UID,
    ]
    decimal = decoder().feed(typed("12a4\n") + typed("4294967296\n"))
    assert decimal == [BadFrame("not a decimal id"), BadFrame("id does not fit in 32 bits")]


def test_prox_ids_match_other_readers_of_the_card() -> None:
    (w26,) = decoder(technology="prox", bits=24).feed(typed("789888\n"))
    assert isinstance(w26, CardNumber)
    assert w26.canonical(24) == parse_card("w26:12:3456").canonical(24)
    (em,) = decoder(technology="prox", encoding="hex", bits=40).feed(typed("0A000C0D80\n"))
    assert em == parse_card("em:0A000C0D80")


def test_options_are_checked() -> None:
    options = KeyboardReader.Options
    with pytest.raises(ValidationError):
        options.model_validate({"technology": "uid"})  # neither device nor name
    with pytest.raises(ValidationError):
        options.model_validate({"technology": "uid", "device": "/dev/x", "name": "y"})
    with pytest.raises(ValidationError):
        options.model_validate({"technology": "uid", "name": "y", "bits": 26})
    with pytest.raises(ValidationError):
        options.model_validate(
            {"technology": "prox", "name": "y", "bits": 26, "byte_order": "little"}
        )
    assert options.model_validate({"technology": "prox", "name": "y", "bits": 26})


uids = st.binary(min_size=4, max_size=10)
noise_events = st.sampled_from(
    [
        (EV_KEY, SHIFT, 1),
        (EV_KEY, SHIFT, 0),
        (EV_KEY, ecodes.KEY_CAPSLOCK, 1),
        (EV_SYN, 0, 0),
        (EV_KEY, ecodes.KEY_2, 0),  # a stray key-up
        (EV_KEY, ecodes.KEY_A, 2),  # an autorepeat
        (EV_MSC, ecodes.MSC_SCAN, 0x7001F),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    cards=st.lists(uids, min_size=1, max_size=5),
    encoding=st.sampled_from(["decimal", "hex"]),
    byte_order=st.sampled_from(["big", "little"]),
)
def test_decoder_reads_every_typed_uid_through_noise(
    data: st.DataObject,
    cards: list[bytes],
    encoding: str,
    byte_order: Literal["big", "little"],
) -> None:
    """A reader set to one UID length; any shift, key-up or repeat noise in between."""
    length = data.draw(st.sampled_from(sorted({len(uid) for uid in cards})))
    cards = [uid for uid in cards if len(uid) == length]
    events: list[Event] = []
    for uid in cards:
        value = int.from_bytes(uid, byte_order)
        text = str(value) if encoding == "decimal" else f"{value:X}"
        events += typed(text + "\n")
    spots = st.tuples(st.integers(0, len(events)), noise_events)
    for at, noise in sorted(data.draw(st.lists(spots, max_size=40)), reverse=True):
        events.insert(at, noise)
    out = decoder(encoding=encoding, bits=length * 8, byte_order=byte_order).feed(events)
    assert out == [CardNumber.from_uid(uid) for uid in cards]


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.sampled_from([EV_SYN, EV_KEY, EV_MSC]), st.integers(0, 120), st.integers(0, 2))
    )
)
def test_decoder_survives_any_key_events(events: list[Event]) -> None:
    for item in decoder(encoding="hex").feed(events):
        assert isinstance(item, CardNumber | BadFrame)


# -- the reader loop, on evdev's event reading over a pipe ---------------------------------


class PipeEvents(EventIO):
    """evdev's EventIO over a pipe: ``read()`` unpacks the records we write, as from a node."""

    def __init__(self) -> None:
        self.fd, self._writer = os.pipe()
        os.set_blocking(self.fd, False)  # InputDevice opens its node O_NONBLOCK too

    def send(self, events: list[Event]) -> None:
        os.write(self._writer, b"".join(INPUT_EVENT.pack(0, 0, *event) for event in events))

    def unplug(self) -> None:
        if self._writer >= 0:
            os.close(self._writer)
            self._writer = -1

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class PipeKeyboard(KeyboardReader):
    """The real reader with its device node opened from a list of pipes instead."""

    def __init__(self, sources: list[PipeEvents], **options: Any) -> None:
        opts = {"device": "/dev/input/event-test", "retry_min_s": 0.02, "retry_max_s": 0.1}
        model = KeyboardReader.Options.model_validate({**opts, **options})
        super().__init__("gate-in", model, DriverContext(ManualClock()))
        self.sources = sources

    def _open_device(self) -> EventSource:
        if not self.sources:
            raise FileNotFoundError("no such device")
        return self.sources.pop(0)


@pytest.fixture
def pipes() -> Iterator[list[PipeEvents]]:
    made = [PipeEvents(), PipeEvents()]
    yield list(made)
    for pipe in made:
        pipe.unplug()
        pipe.close()


def test_reader_loop_reads_loses_and_regains_the_device(pipes: list[PipeEvents]) -> None:
    first, second = pipes
    reader = PipeKeyboard([first], technology="uid", byte_order="little", hold_s=0.0)
    started = Reports()
    started.start(reader)
    try:
        wait_for(lambda: started.health == [(True, "connected")], "connected")
        first.send(typed(UID_LE_DECIMAL + "\n"))
        wait_for(lambda: started.reads, "a read")
        first.send(typed("12a4\n") + typed(UID_LE_DECIMAL[:3]))  # a bad line, then half an id
        wait_for(lambda: reader.frame_errors == 1, "the bad line")
        first.unplug()
        wait_for(lambda: len(started.health) == 2, "the loss")
        assert started.health[1] == (False, "lost: [Errno 19] input device closed")
        reader.sources.append(second)
        wait_for(lambda: len(started.health) == 3, "the device to return")
        assert started.health[2] == (True, "connected")
        # the half id typed before the loss does not join what comes after the return
        second.send(typed(UID_LE_DECIMAL[3:] + "\n") + typed(UID_LE_DECIMAL + "\n"))
        wait_for(lambda: len(started.reads) == 3, "reads after the return")
        rest = card_from_text(UID_LE_DECIMAL[3:], "decimal", 32, "uid", "little")
        assert [read.card for read in started.reads] == [UID, rest, UID]
        assert reader.frame_errors == 1 and started.reads[2].read_id == 3
    finally:
        started.stop()


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ({"device": "/dev/input/by-id/usb-nothing-event-kbd"}, "No such file"),
        ({"name": "IC Reader IC Reader"}, "no input device named"),
        ({"device": "regular-file"}, "ioctl"),
    ],
)
def test_a_missing_or_wrong_device_is_a_fault(
    tmp_path: Path, where: dict[str, str], why: str
) -> None:
    if where.get("device") == "regular-file":  # opens, but is no evdev node
        (tmp_path / "regular-file").write_bytes(b"\0" * 24)
        where = {"device": str(tmp_path / "regular-file")}
    options = {"technology": "uid", "retry_min_s": 0.02, **where}
    reader = registry.create("reader", "keyboard", "gate-in", options, DriverContext(ManualClock()))
    assert isinstance(reader, KeyboardReader)
    started = Reports()
    started.start(reader)
    try:
        wait_for(lambda: started.health, "a health report")
        ok, detail = started.health[0]
        assert not ok and detail.startswith("cannot open") and why.lower() in detail.lower()
    finally:
        started.stop()
    assert len(started.health) == 1  # retried quietly: one report per transition
