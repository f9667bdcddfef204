"""The OSDP driver against libosdp's own peripheral device (PD), over a pty pair.

The driver opens the pty's far end with pyserial exactly as it opens a USB RS-485
adapter; the PD is libosdp's real implementation, so both ends speak the real
protocol, secure channel included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from osdp import (
    Capability,
    CardFormat,
    Command,
    CommandLEDColor,
    Event,
    KeyStore,
    LibFlag,
    LogLevel,
    PDCapabilities,
    PDInfo,
    PeripheralDevice,
    StatusReportType,
)
from pydantic import ValidationError

from drivers import registry
from drivers.base import Condition, DriverContext, Feedback
from drivers.cards import CardNumber, CardRead, parse_card
from drivers.osdp import OsdpReader, card_from_event, keys_from_event, read_scbk
from drivers.wiegand_format import STANDARD_FORMATS, FormatSet, FrameError, encode
from tests import reader_rig
from tests.reader_rig import RealClock, Reports

ADDRESS = 5
FULL_CAPS = [
    (Capability.LEDControl, 1, 1),
    (Capability.AudibleControl, 1, 1),
    (Capability.CommunicationSecurity, 1, 1),
]

# longer than the shared default: a PD comes online through libosdp's own handshake
wait_for = partial(reader_rig.wait_for, timeout=20.0)


class PdEnd:
    """The PD's side of the pty: where the reader's RS-485 pair would be wired."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd

    def read(self, max_bytes: int) -> bytes:
        try:
            return os.read(self.fd, max_bytes) if self.fd >= 0 else b""
        except OSError:  # nothing waiting, or the end was cut
            return b""

    def write(self, data: bytes) -> int:
        try:
            return os.write(self.fd, data) if self.fd >= 0 else 0
        except OSError:
            return 0

    def flush(self) -> None:
        return None

    def cut(self) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)


def wiegand_bytes(bits: tuple[int, ...]) -> bytes:
    value = int("".join(map(str, bits)), 2) << (-len(bits) % 8)
    return value.to_bytes((len(bits) + 7) // 8, "big")


def card_event(data: bytes, bits: int, fmt: int = CardFormat.Wiegand) -> dict[str, Any]:
    return {
        "event": Event.CardRead, "reader_no": 0, "direction": 0,
        "format": fmt, "length": bits, "data": data,
    }  # fmt: skip


def status_event(tamper: int, power: int) -> dict[str, Any]:
    report = bytes([tamper, power])
    return {"event": Event.Status, "type": StatusReportType.Local, "report": report}


W26 = card_event(wiegand_bytes(encode(STANDARD_FORMATS["H10301"], 12, 3456)), 26)
UID7 = bytes.fromhex("04A224B2C35E80")


class Bench(Reports):
    """A pty pair, a key file, libosdp PDs on one end and OSDP readers on the other.

    The readers report here; ``on_read`` can be swapped for a hook that answers a read.
    """

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(owner="test-osdp")
        self.tmp_path = tmp_path
        self.master, self.slave = os.openpty()
        self.port = os.ttyname(self.slave)
        self.end = PdEnd(self.master)
        self.key = KeyStore.gen_key()
        self.key_file = self.write_key("site.scbk", self.key)
        self.pds: list[PeripheralDevice] = []

    def write_key(self, name: str, key: bytes) -> Path:
        path = self.tmp_path / name
        path.write_text(key.hex() + "\n")
        path.chmod(0o600)
        return path

    def pd(self, scbk: bytes | None, flags: tuple[int, ...] = (LibFlag.EnforceSecure,),
           caps: list[tuple[int, int, int]] = FULL_CAPS) -> PeripheralDevice:  # fmt: skip
        info = PDInfo(ADDRESS, self.end, scbk=scbk, flags=list(flags))
        pd = PeripheralDevice(info, PDCapabilities(caps), log_level=LogLevel.Error)
        pd.start()
        self.pds.append(pd)
        return pd

    def reader(self, **options: Any) -> OsdpReader:
        table = {"port": self.port, "address": ADDRESS, "scbk_file": str(self.key_file)}
        context = DriverContext(RealClock())
        device = registry.create("reader", "osdp", "gate-in", {**table, **options}, context)
        assert isinstance(device, OsdpReader)
        return self.start(device)

    def connected(self, times: int = 1) -> None:
        wait_for(lambda: self.health.count((True, "connected")) >= times, "the PD online")

    def close(self) -> None:
        self.stop()
        for pd in self.pds:
            if pd.thread is not None:
                pd.teardown()
        if self.end.fd >= 0:
            self.end.cut()
        os.close(self.slave)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    setup = Bench(tmp_path)
    yield setup
    setup.close()


# -- over the secure channel ------------------------------------------------------------
def test_cards_arrive_once_each_as_card_numbers(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    bench.reader()
    bench.connected()
    pd.submit_event(W26)
    wait_for(lambda: len(bench.reads) == 1, "the Wiegand read")
    pd.submit_event(card_event(UID7, 56, CardFormat.Unspecified))
    wait_for(lambda: len(bench.reads) == 2, "the UID read")
    assert [read.card for read in bench.reads] == [
        parse_card("w26:12:3456"),
        parse_card("uid:04A224B2C35E80"),
    ]
    assert [read.reader for read in bench.reads] == ["gate-in", "gate-in"]
    assert bench.health == [(True, "connected")]


def test_bad_parity_is_a_frame_error_not_a_read(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    reader = bench.reader()
    bench.connected()
    bits = list(encode(STANDARD_FORMATS["H10301"], 12, 3456))
    bits[-1] ^= 1
    pd.submit_event(card_event(wiegand_bytes(tuple(bits)), 26))
    pd.submit_event(card_event(UID7, 56, CardFormat.Unspecified))
    wait_for(lambda: bench.reads, "the good read after the bad one")
    assert [read.card for read in bench.reads] == [parse_card("uid:04A224B2C35E80")]
    assert reader.frame_errors == 1


def test_keypad_keys_reach_the_keypad_hook(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    bench.reader()
    bench.connected()
    pd.submit_event({"event": Event.KeyPress, "reader_no": 0, "data": b"1234\x7f\x0d"})
    wait_for(lambda: bench.keys, "the keys")
    assert bench.keys == ["1234*#"]
    assert bench.reads == []


def test_tamper_and_power_reports_become_conditions(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    bench.reader()
    bench.connected()
    for tamper, power in ((1, 0), (1, 1), (0, 0)):
        pd.submit_event(status_event(tamper, power))
    wait_for(lambda: len(bench.conditions) == 4, "four condition changes")
    assert bench.conditions == [
        (Condition.TAMPER, True),
        (Condition.POWER, True),
        (Condition.TAMPER, False),
        (Condition.POWER, False),
    ]


def test_feedback_sends_led_and_buzzer_commands(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    reader = bench.reader()
    bench.connected()

    # the gate answers from the read hook, on the reader's own thread: a feedback()
    # that waited for that thread would never return and no command would arrive
    def decide(read: CardRead) -> None:
        bench.reads.append(read)
        reader.feedback(Feedback.GRANT)

    bench.on_read = decide
    pd.submit_event(W26)
    led, buzzer = pd.get_command(timeout=20), pd.get_command(timeout=20)
    assert led["command"] == Command.LED and led["temporary"] is True
    assert led["on_color"] == CommandLEDColor.Green and led["timer_count"] == 10
    assert buzzer["command"] == Command.Buzzer and buzzer["on_count"] == 1
    reader.feedback(Feedback.DENY)
    led, buzzer = pd.get_command(timeout=20), pd.get_command(timeout=20)
    assert led["on_color"] == CommandLEDColor.Red
    assert buzzer["command"] == Command.Buzzer and buzzer["on_count"] == 6
    assert bench.health == [(True, "connected")]


def test_feedback_skips_what_the_reader_cannot_do(bench: Bench) -> None:
    # libosdp takes a PD offline when it NAKs a command: an LED command to a reader
    # without LEDs would cut it off
    pd = bench.pd(bench.key, caps=[(Capability.CommunicationSecurity, 1, 1)])
    reader = bench.reader()
    bench.connected()
    reader.feedback(Feedback.GRANT)
    reader.feedback(Feedback.DENY)
    for count, uid in enumerate(("04A224B2", "04A224B3"), start=1):
        pd.submit_event(card_event(bytes.fromhex(uid), 32, CardFormat.Unspecified))
        wait_for(lambda n=count: len(bench.reads) == n, f"read {count}")  # type: ignore[misc]
    assert pd.get_command(timeout=0) is None
    assert bench.health == [(True, "connected")]


# -- refused, lost, restored ------------------------------------------------------------
def test_wrong_key_is_refused_and_nothing_is_read(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    pd.submit_event(W26)
    bench.key_file = bench.write_key("other.scbk", KeyStore.gen_key())
    reader = bench.reader()
    wait_for(lambda: bench.health, "a health report")
    ((ok, detail),) = bench.health
    assert ok is False and "refused the secure channel" in detail
    assert not reader.connected
    assert bench.reads == []
    with pd.lock:
        assert pd.ctx.flush_events() == 1  # the card never left the PD


def test_silent_pd_is_a_fault_and_its_return_a_restore(bench: Bench) -> None:
    pd = bench.pd(bench.key)
    reader = bench.reader(retry_min_s=0.1, retry_max_s=0.5, online_timeout_s=1.0)
    bench.connected()
    control_panel = reader._cp
    pd.stop()  # the PD stops answering: libosdp's supervision notices
    wait_for(lambda: len(bench.health) == 2, "the fault")
    ok, detail = bench.health[1]
    assert ok is False and "stopped answering" in detail
    pd.start()
    bench.connected(times=2)
    pd.submit_event(W26)
    wait_for(lambda: bench.reads, "a read after the restore")
    assert bench.reads[0].card == parse_card("w26:12:3456")
    assert [ok for ok, _ in bench.health] == [True, False, True]
    # restarted, not rebuilt: libosdp's binding leaks memory with every CP it builds
    assert reader._cp is control_panel


def test_cut_line_is_a_fault(bench: Bench) -> None:
    bench.pd(bench.key)
    reader = bench.reader()
    bench.connected()
    bench.end.cut()
    wait_for(lambda: len(bench.health) == 2, "the fault")
    ok, detail = bench.health[1]
    assert ok is False and detail.startswith("lost: serial port failed")
    assert not reader.connected


def test_silent_line_is_a_fault_that_says_so(bench: Bench) -> None:
    bench.reader(online_timeout_s=0.5)  # no PD on the line at all
    wait_for(lambda: bench.health, "a health report")
    ((ok, detail),) = bench.health
    assert ok is False and "did not answer" in detail


def test_missing_port_is_a_fault(bench: Bench) -> None:
    bench.reader(port=str(bench.tmp_path / "ttyUSB9"))
    wait_for(lambda: bench.health, "a health report")
    ((ok, detail),) = bench.health
    assert ok is False and detail.startswith("cannot open:") and "ttyUSB9" in detail


def test_install_mode_gives_a_new_pd_the_key(bench: Bench) -> None:
    pd = bench.pd(None, flags=(LibFlag.InstallMode,))  # factory fresh: default key only
    bench.reader(install_mode=True)
    bench.connected()
    keyset = pd.get_command(timeout=20)
    assert keyset == {"command": Command.Keyset, "type": 1, "data": bench.key}
    assert pd.is_sc_active()


def test_install_mode_never_settles_for_plaintext(bench: Bench) -> None:
    pd = bench.pd(KeyStore.gen_key(), flags=())  # keyed elsewhere, and not taking keys
    pd.submit_event(W26)
    bench.reader(install_mode=True)
    wait_for(lambda: bench.health, "a health report")
    ((ok, detail),) = bench.health
    assert ok is False and "refused the secure channel" in detail
    assert bench.reads == []


# -- options and decoding -------------------------------------------------------------
def test_options_refuse_what_cannot_work(tmp_path: Path) -> None:
    context = DriverContext(RealClock())
    base = {"port": "/dev/ttyUSB0"}
    bad: list[dict[str, Any]] = [
        {"install_mode": True},  # no key to install
        {"scbk_file": "relative.key"},
        {"address": 127},
        {"baud": 12345},
        {"formats": ["H99999"]},
        {"signals": {"grant_colour": "purple"}},
    ]
    for extra in bad:
        with pytest.raises(ValidationError):
            registry.create("reader", "osdp", "r", {**base, **extra}, context)


def test_key_file_is_checked_and_never_quoted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = tmp_path / "k.scbk"
    key.write_text("00112233445566778899aabbccddeeff\n")
    key.chmod(0o644)
    assert read_scbk(key) == bytes.fromhex("00112233445566778899aabbccddeeff")
    assert "readable by everyone" in caplog.text
    key.write_text("00112233445566778899aabbccddeeZZ")
    with pytest.raises(ValueError) as error:
        read_scbk(key)
    assert "ZZ" not in str(error.value) and "0011" not in str(error.value)


def test_decoding_card_data() -> None:
    formats = FormatSet([STANDARD_FORMATS["H10301"], STANDARD_FORMATS["H10306"]])

    def card(event: dict[str, Any], reverse_uid: bool = False) -> CardNumber:
        return card_from_event(event, formats, reverse_uid)

    assert card(W26) == parse_card("12:3456")
    frame = encode(STANDARD_FORMATS["H10301"], 12, 3456)
    backwards = card_event(wiegand_bytes(frame[::-1]), 26)  # a read in reverse direction
    assert card({**backwards, "direction": 1}) == parse_card("w26:12:3456")
    em = card_event(bytes.fromhex("0A000C0D80"), 40, CardFormat.Unspecified)
    assert card(em) == parse_card("em:0A000C0D80")
    assert card(em).canonical() == parse_card("w26:12:3456").canonical()
    uid = card_event(bytes.fromhex("B224A204"), 32, CardFormat.Unspecified)
    assert card(uid, reverse_uid=True) == parse_card("uid:04A224B2")
    text = {"event": Event.CardRead, "format": CardFormat.ASCII, "direction": 0}
    assert card({**text, "data": b"04A224B2"}) == parse_card("uid:04A224B2")
    assert card({**text, "data": b"12:3456"}) == parse_card("w26:12:3456")
    with pytest.raises(FrameError):
        card(card_event(bytes(9), 72, CardFormat.Unspecified))
    with pytest.raises(FrameError):
        card(card_event(b"\x01", 26))  # announces more bits than it sends
    assert keys_from_event(b"9\x7f1\x0d\x00") == "9*1#"
