"""The nfcpy reader against nfcpy's own udp link, with a tag emulated in another process.

The emulator is nfcpy's ``listen`` on the other end of ``udp:127.0.0.1:PORT``: it binds
the port and answers the reader's anticollision rounds. A card is presented while that
process runs and removed when it ends, so a restart is a new process on the same port.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import nfc.clf
import pydantic
import pytest

from agent.errors import CardFormatError
from drivers import registry
from drivers.base import DriverContext
from drivers.cards import CardNumber, CardRead
from drivers.nfc import NfcReader, card_of
from tests import reader_rig
from tests.reader_rig import RealClock, Reports

UID4 = bytes.fromhex("5A1C93E7")
UID7 = bytes.fromhex("04B27C1A6E5D80")
IDM = bytes.fromhex("012E4CD5A3178B09")
RANDOM_UID = bytes.fromhex("08D41F60")

# over udp a poll can wait a second for an answer that never comes
wait_for = partial(reader_rig.wait_for, timeout=10.0)

# The tag side: nfcpy's listen() on the udp link until the process is stopped.
EMULATOR = """
import sys, nfc, nfc.clf
port, kind, ident = sys.argv[1], sys.argv[2], bytearray.fromhex(sys.argv[3])
sak = bytes.fromhex(sys.argv[4] if len(sys.argv) > 4 else "00")
clf = nfc.ContactlessFrontend("udp:127.0.0.1:" + port)
if kind == "A":
    sens_res = bytearray.fromhex("0400" if len(ident) == 4 else "4400")
    tag = nfc.clf.LocalTarget("106A", sens_res=sens_res, sdd_res=ident, sel_res=sak)
else:
    tag = nfc.clf.LocalTarget("212F", sensf_res=b"\\x01" + ident + bytes(8) + b"\\x12\\xfc")
print("listening", flush=True)
clf.listen(tag, 120)
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class TagEmulator:
    """One emulated card at a time on a udp port, each in its own process."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[str] | None = None

    def present(self, ident: bytes, kind: str = "A", sak: int = 0) -> None:
        """Present a card: ``sak`` 0x20 makes it an ISO 14443-4 (ISO-DEP) card."""
        self.remove()
        self.process = subprocess.Popen(
            [sys.executable, "-c", EMULATOR, str(self.port), kind, ident.hex(), f"{sak:02x}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "listening"

    def remove(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            self.process.wait(10)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None


class Harness(Reports):
    """A started NfcReader and what it reported."""

    def __init__(self, reader: NfcReader) -> None:
        super().__init__()
        self.reader = self.start(reader)

    def removed_seen(self, emulator: TagEmulator) -> None:
        """Take the card away and wait until a poll has found the field empty."""
        emulator.remove()
        empty = self.reader.empty_polls
        wait_for(lambda: self.reader.empty_polls > empty, "a poll that finds no card")

    def next_read(self, count: int) -> CardRead:
        wait_for(lambda: len(self.reads) >= count, f"read {count}")
        return self.reads[count - 1]


StartReader = Callable[..., Harness]


@pytest.fixture
def emulator() -> Iterator[TagEmulator]:
    tags = TagEmulator(free_udp_port())
    yield tags
    tags.remove(signal.SIGKILL)


@pytest.fixture
def start_reader() -> Iterator[StartReader]:
    started: list[Harness] = []

    def start(**options: Any) -> Harness:
        options = {"poll_s": 0.05, "hold_s": 0.3, **options}
        reader = registry.create("reader", "nfc", "gate-in", options, DriverContext(RealClock()))
        assert isinstance(reader, NfcReader)
        harness = Harness(reader)
        started.append(harness)
        return harness

    yield start
    for harness in started:
        harness.stop()


def test_held_card_is_one_read_and_presenting_it_again_is_another(
    emulator: TagEmulator, start_reader: StartReader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.present(UID4)
    gate = start_reader(device=f"udp:127.0.0.1:{emulator.port}")
    first = gate.next_read(1)
    assert first.card == CardNumber.from_uid(UID4)
    assert (first.reader, first.read_id) == ("gate-in", 1)

    polls = gate.reader.polls
    wait_for(lambda: gate.reader.polls >= polls + 6, "six more polls of the held card")
    assert len(gate.reads) == 1

    gate.removed_seen(emulator)
    emulator.present(UID4)
    second = gate.next_read(2)
    assert second.card == CardNumber.from_uid(UID4) and second.read_id == 2
    assert gate.health == [(True, "connected")]
    # nfcpy logs sensed targets with their UIDs at DEBUG: none of that may reach the log.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert UID4.hex() not in logged.lower()
    assert "udp" in logged  # the driver did log (where it connected), just not the card


def test_cards_in_turn_keep_their_exact_uids_and_random_uids_are_ignored(
    emulator: TagEmulator, start_reader: StartReader
) -> None:
    emulator.present(RANDOM_UID)  # a phone: a new random UID on every activation
    gate = start_reader(device=f"udp:127.0.0.1:{emulator.port}")
    polls = gate.reader.polls
    wait_for(lambda: gate.reader.polls >= polls + 4 and gate.reader.random_uids == 1, "polls")
    assert gate.reads == []

    emulator.present(UID4)
    assert gate.next_read(1).card == CardNumber.from_uid(UID4)
    emulator.present(UID7)  # no gap needed: a different card is a new read at once
    seven = gate.next_read(2).card
    assert seven == CardNumber.from_uid(UID7)
    assert seven.canonical() == "uid:" + UID7.hex().upper()
    assert len(gate.reads) == 2


def test_emulator_killed_and_restarted_reads_resume(
    emulator: TagEmulator, start_reader: StartReader
) -> None:
    emulator.present(UID7)
    gate = start_reader(device=f"udp:127.0.0.1:{emulator.port}")
    assert gate.next_read(1).card == CardNumber.from_uid(UID7)

    # Over udp a vanished peer looks like an empty field: no fault to report, keep polling.
    emulator.remove(signal.SIGKILL)
    empty = gate.reader.empty_polls
    wait_for(lambda: gate.reader.empty_polls >= empty + 2, "polls of the dead peer")
    assert gate.reader.connected and len(gate.reads) == 1

    emulator.present(UID7)
    assert gate.next_read(2).card == CardNumber.from_uid(UID7)
    assert gate.health == [(True, "connected")]


def test_felica_idm_is_read_when_enabled(emulator: TagEmulator, start_reader: StartReader) -> None:
    emulator.present(IDM, kind="F")
    # Over udp each poll waits 1 s for a Type A answer before asking for FeliCa: a poll
    # takes longer than hold_s, and the card seen on every poll must still be one read.
    gate = start_reader(device=f"udp:127.0.0.1:{emulator.port}", felica=True)
    assert gate.next_read(1).card == CardNumber.from_uid(IDM)
    polls = gate.reader.polls
    wait_for(lambda: gate.reader.polls >= polls + 2, "two more polls of the held card")
    assert len(gate.reads) == 1


def test_reader_that_cannot_be_opened_is_a_fault(start_reader: StartReader) -> None:
    # No /dev/ttyNOPE9: the same OSError(ENODEV) a PN532 on an unplugged adapter gives.
    gate = start_reader(device="tty:NOPE9:pn532", retry_min_s=0.05, retry_max_s=0.1)
    wait_for(lambda: bool(gate.health), "a health report")
    ok, detail = gate.health[0]
    assert not ok and detail.startswith("cannot open:")
    assert not gate.reader.connected and gate.reads == []


def test_frontend_failing_while_polling_is_a_fault_then_a_reconnect(
    start_reader: StartReader,
) -> None:
    # The frontend opens, but sending to a broadcast address without SO_BROADCAST fails
    # in sense() with an OSError, as a USB reader pulled out mid-poll does.
    port = free_udp_port()
    gate = start_reader(device=f"udp:255.255.255.255:{port}", retry_min_s=0.05, retry_max_s=0.1)
    wait_for(lambda: len(gate.health) >= 3, "fault and reconnect")
    assert gate.health[0] == (True, "connected")
    assert gate.health[1][0] is False and gate.health[1][1].startswith("lost:")
    assert "Permission denied" in gate.health[1][1]
    assert gate.health[2] == (True, "connected")


def test_options_are_checked() -> None:
    make = registry.backend("reader", "nfc")
    assert make is NfcReader
    options = NfcReader.Options.model_validate({"device": "usb:072f:2200"})
    assert options.model_dump()["felica"] is False
    for device in ("tty:S0:pn532", "tty:serial0:pn532", "usb", "usb:04cc:2533", "udp:host:54321"):
        NfcReader.Options.model_validate({"device": device})
    for bad in ({"device": "/dev/ttyS0"}, {"device": "usb", "speed": 1}, {"poll_s": 0}):
        with pytest.raises(pydantic.ValidationError):
            NfcReader.Options.model_validate(bad)


def test_uid_comes_from_the_sensed_target_exactly() -> None:
    # 10-byte UIDs cannot go through nfcpy 1.0.4's udp emulator (its listen side answers
    # the third cascade level's SELECT only for the wrong command byte), so this one is
    # decoded from nfcpy's own target object.
    uid10 = bytes.fromhex("04A1B2C3D4E5F6071829")
    target = nfc.clf.RemoteTarget("106A", sdd_res=bytearray(uid10), sel_res=b"\x00")
    assert card_of(target) == CardNumber.from_uid(uid10)
    assert card_of(nfc.clf.RemoteTarget("106A", sdd_res=bytearray(RANDOM_UID))) is None
    felica = nfc.clf.RemoteTarget("212F", sensf_res=bytearray(b"\x01" + IDM + bytes(10)))
    assert card_of(felica) == CardNumber.from_uid(IDM)
    with pytest.raises(CardFormatError):
        card_of(nfc.clf.RemoteTarget("106A", sens_res=b"\x00\x0c", rid_res=bytes(6)))
