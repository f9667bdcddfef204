"""The serial reader through a real pty (the same pyserial call a Pi makes), and its parsers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.core.clock import ManualClock
from drivers import registry
from drivers.base import DriverContext
from drivers.cards import CardNumber, parse_card
from drivers.frames import BadFrame, Em4100Parser, LineParser
from drivers.serial_reader import SerialReader
from tests.reader_rig import Reports, wait_for

W26_AS_EM = "0A000C0D80"  # low 24 bits: facility 12, card 3456


def em_frame(id_hex: str, checksum: int | None = None) -> bytes:
    """An RDM6300 frame for a 10-hex-digit id; ``checksum`` overrides the right one."""
    good = reduce(lambda acc, b: acc ^ b, bytes.fromhex(id_hex), 0)
    check = good if checksum is None else checksum
    return b"\x02" + f"{id_hex}{check:02X}".encode() + b"\x03"


class Pty:
    """A pty whose slave stands in for the reader's port, reached through a symlink."""

    def __init__(self, link: Path) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)  # the reader opens the slave by its path, as it would a UART
        tmp = link.with_suffix(".new")
        os.symlink(self.path, tmp)
        os.replace(tmp, link)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


class Harness(Reports):
    """A serial reader started as the agent starts one, with what its hooks received."""

    def __init__(self, port: Path, clock: Any, **options: Any) -> None:
        super().__init__()
        opts = {"port": str(port), "retry_min_s": 0.02, "retry_max_s": 0.1, **options}
        reader = registry.create("reader", "serial", "gate-in", opts, DriverContext(clock))
        assert isinstance(reader, SerialReader)
        self.reader = self.start(reader)

    def wait_reads(self, count: int) -> list[CardNumber]:
        wait_for(lambda: len(self.reads) >= count, f"{count} reads")
        return self.cards()

    def wait_errors(self, count: int) -> None:
        wait_for(lambda: self.reader.frame_errors >= count, f"{count} bad frames")

    def wait_connected(self, times: int = 1) -> None:
        wait_for(lambda: self.health.count((True, "connected")) >= times, "connected")


@pytest.fixture
def port(tmp_path: Path) -> Iterator[tuple[Pty, Path]]:
    link = tmp_path / "ttyRFID"
    pty = Pty(link)
    yield pty, link
    pty.close()


@pytest.fixture
def rig(port: tuple[Pty, Path]) -> Iterator[tuple[Pty, Harness]]:
    pty, link = port
    harness = Harness(link, ManualClock())
    harness.wait_connected()
    yield pty, harness
    harness.stop()


def test_one_frame_is_one_read(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    pty.write(em_frame(W26_AS_EM))
    assert h.wait_reads(1) == [parse_card("em:" + W26_AS_EM)]
    assert h.reads[0].reader == "gate-in" and h.reader.frame_errors == 0


def test_same_card_as_a_wiegand_26_reader_sees(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    pty.write(em_frame(W26_AS_EM))
    (card,) = h.wait_reads(1)
    assert card.canonical(24) == parse_card("w26:12:3456").canonical(24)


def test_bytes_one_at_a_time(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    for byte in em_frame("1A2B3C4D5E"):
        pty.write(bytes([byte]))
        time.sleep(0.001)  # let each byte be its own read
    assert h.wait_reads(1) == [parse_card("em:1A2B3C4D5E")]


def test_a_burst_of_frames_of_different_cards(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    ids = ["0000000001", "00FFEEDDCC", "8000000000"]
    pty.write(b"".join(em_frame(i) for i in ids))
    assert h.wait_reads(3) == [parse_card("em:" + i) for i in ids]


def test_noise_before_and_between_frames_is_skipped(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    noise = b"\xff\x00boot\r\n\x03"
    pty.write(noise + em_frame("0102030405") + b"\x03\x7fzz" + em_frame(W26_AS_EM))
    assert h.wait_reads(2) == [parse_card("em:0102030405"), parse_card("em:" + W26_AS_EM)]
    assert h.reader.frame_errors == 0


def test_a_frame_split_across_writes_with_pauses(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    frame = em_frame("0A0B0C0D0E")
    for part in (frame[:1], frame[1:6], frame[6:13], frame[13:]):
        pty.write(part)
        time.sleep(0.03)  # longer than a pty needs to hand each part over on its own
    assert h.wait_reads(1) == [parse_card("em:0A0B0C0D0E")]


def test_bad_checksum_is_counted_and_not_delivered(rig: tuple[Pty, Harness]) -> None:
    pty, h = rig
    pty.write(em_frame("0102030405", checksum=0x00) + em_frame("0102030406"))
    assert h.wait_reads(1) == [parse_card("em:0102030406")]
    assert h.reader.frame_errors == 1


def test_a_held_card_is_one_read_until_it_is_lifted(port: tuple[Pty, Path]) -> None:
    pty, link = port
    clock = ManualClock()
    h = Harness(link, clock, hold_s=1.0)
    try:
        h.wait_connected()
        pty.write(em_frame(W26_AS_EM))
        h.wait_reads(1)
        # the module repeats the frame every few hundred ms while the card lies on it;
        # a broken frame after each repeat shows when the repeat has been handled
        for errors in range(1, 6):
            clock.advance(0.3)
            pty.write(em_frame(W26_AS_EM) + b"\x02junk\x03")
            h.wait_errors(errors)
        assert len(h.reads) == 1
        clock.advance(1.5)  # lifted for longer than hold_s, then presented again
        pty.write(em_frame(W26_AS_EM))
        assert h.wait_reads(2) == [parse_card("em:" + W26_AS_EM)] * 2
    finally:
        h.stop()


@pytest.mark.parametrize(
    ("options", "line", "expected"),
    [
        ({"encoding": "decimal", "bits": 32}, b"0000789888\r\n", "w26:12:3456"),
        ({"encoding": "hex", "bits": 24}, b"0c0d80\n", "w26:12:3456"),
        ({"encoding": "hex", "bits": 40, "strip_prefix": "ID:"}, b"ID: 0A000C0D80\r\n", None),
    ],
)
def test_line_format(
    port: tuple[Pty, Path], options: dict[str, Any], line: bytes, expected: str | None
) -> None:
    pty, link = port
    h = Harness(link, ManualClock(), format="line", **options)
    try:
        h.wait_connected()
        pty.write(b"12x4\r\n" + line)
        (card,) = h.wait_reads(1)
        assert h.reader.frame_errors == 1  # the line that is not an id
        want = parse_card(expected) if expected else parse_card("em:" + W26_AS_EM)
        assert card.canonical(24) == want.canonical(24)
        assert card.bits == options["bits"]
    finally:
        h.stop()


def test_a_vanished_port_is_a_fault_until_it_returns(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB-rfid"
    os.symlink(tmp_path / "absent", link)
    h = Harness(link, ManualClock())
    ptys: list[Pty] = []
    try:
        wait_for(lambda: h.health, "a health report")
        assert h.health[0][0] is False and h.health[0][1].startswith("cannot open")
        ptys.append(Pty(link))  # plugged in
        h.wait_connected()
        ptys[0].write(em_frame("0102030405"))
        h.wait_reads(1)
        # unplugged: the link points nowhere first, so a retry cannot find a reused pts
        os.replace(_dangling(tmp_path), link)
        ptys[0].close()
        wait_for(lambda: len(h.health) >= 3, "the loss to be reported")
        assert h.health[2][0] is False and h.health[2][1].startswith("lost")
        assert not h.reader.connected
        ptys.append(Pty(link))  # plugged in again
        h.wait_connected(times=2)
        ptys[1].write(em_frame("0A0B0C0D0E"))
        assert h.wait_reads(2)[1] == parse_card("em:0A0B0C0D0E")
        assert [ok for ok, _ in h.health] == [False, True, False, True]  # once per transition
    finally:
        h.stop()
        for pty in ptys:
            pty.close()


def _dangling(tmp_path: Path) -> Path:
    path = tmp_path / "dangling"
    os.symlink(tmp_path / "absent", path)
    return path


def test_line_options_need_the_line_format() -> None:
    with pytest.raises(ValidationError):
        SerialReader.Options.model_validate({"port": "/dev/serial0", "encoding": "hex"})
    opts = SerialReader.Options.model_validate({"port": "/dev/serial0"})
    assert opts.model_dump()["format"] == "em4100"


# -- the pure parsers -------------------------------------------------------------------


def test_parser_reasons_never_hold_the_card_number() -> None:
    parser = Em4100Parser()
    bad = em_frame("1234567890", checksum=0)
    out = parser.feed(bad + b"\x02123\x03" + b"\x02" + b"G" * 12 + b"\x03\x02ab\x02" + b"9" * 13)
    assert out == [
        BadFrame("checksum mismatch"),
        BadFrame("frame of 3 bytes, not 12"),
        BadFrame("frame is not hex"),
        BadFrame("frame cut short"),
        BadFrame("frame too long"),
    ]
    assert not any("1234567890" in item.why for item in out if isinstance(item, BadFrame))


def test_line_parser_skips_blank_lines_and_reports_long_ones() -> None:
    parser = LineParser("decimal", 32)
    out = parser.feed(b"\r\n\n" + b"7" * 200 + b"\n42\r\n")
    assert out == [BadFrame("line too long"), CardNumber.from_prox(42, 32)]


ids = st.binary(min_size=5, max_size=5).map(lambda b: b.hex().upper())


@settings(max_examples=200, deadline=None)
@given(data=st.data(), frame_ids=st.lists(ids, min_size=1, max_size=6))
def test_parser_finds_every_valid_frame_in_noise_and_splits(
    data: st.DataObject, frame_ids: list[str]
) -> None:
    gaps = len(frame_ids) + 1
    noise = data.draw(st.lists(st.binary(max_size=24), min_size=gaps, max_size=gaps))
    stream = noise[0] + b"".join(em_frame(i) + n for i, n in zip(frame_ids, noise[1:], strict=True))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    parser = Em4100Parser()
    out = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out.extend(parser.feed(stream[start:end]))
    cards = [item for item in out if isinstance(item, CardNumber)]
    expected = [parse_card("em:" + i) for i in frame_ids]
    if not any(b"\x03" in n for n in noise):
        assert cards == expected  # only an ETX ends a frame, so noise adds no card
    else:
        remaining = iter(cards)  # noise may hold a frame of its own; ours still come in order
        assert all(any(card == want for card in remaining) for want in expected)
