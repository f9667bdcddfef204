"""The nfcpy reader with the site's [secure] keys: ISO-DEP cards run their key exchange.

Sensing is nfcpy's own (over its udp link, a tag emulated in another process, for the
first test); behind the activation seam a software DESFire or NTAG 424 answers the APDUs
nfcpy's Type 4 tag would carry. The gate's decision on the proof is tested elsewhere
(tests/test_secure_gate*.py); here: what the reader delivers, once per presentation.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import nfc.clf
import pytest

from drivers import registry
from drivers.base import DriverContext, ReaderHooks, SecureSite
from drivers.cards import CardNumber, CardRead
from drivers.nfc import NfcReader
from drivers.nfc_secure import TagTransport, site_keys, speaks_iso_dep
from drivers.secure.base import CardGone, CardTransport
from drivers.secure.hostile import Tearing
from drivers.secure.provision import provision_desfire, provision_ntag424
from drivers.secure.softcard import SoftDesfire
from drivers.secure.softcard_ntag import SoftNtag424
from tests.reader_rig import RealClock
from tests.test_nfc import Harness, TagEmulator, emulator, wait_for

__all__ = ["emulator"]

SITE = SecureSite(bytes(range(16)), 0xA1C0DE, 0.3)
KEYS = site_keys(SITE)  # no originality key in tests: NXP's own signs real chips only
KEYS_NO_SIG = dataclasses.replace(KEYS, originality_key=b"")
UID = bytes.fromhex("04A1B2C3D4E5F6")
RANDOM = bytes.fromhex("08D41F60")


def _rng(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def desfire(credential: str = "R-0042") -> SoftDesfire:
    card = SoftDesfire(UID, rng=_rng(1))
    provision_desfire(card, KEYS, credential, rng=_rng(2))
    return card


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def reader(activate: Callable[[Any, Any], CardTransport | None], site: SecureSite | None = SITE,
           clock: Any = None) -> tuple[NfcReader, list[CardRead]]:  # fmt: skip
    made = registry.create("reader", "nfc", "gate-in", {"poll_s": 0.05, "hold_s": 0.3},
                           DriverContext(clock or Clock(), secure=site))  # fmt: skip
    assert isinstance(made, NfcReader)
    reads: list[CardRead] = []
    made._hooks = ReaderHooks(read=reads.append)  # as start() would, without a device
    made.activate = activate
    if made.site_keys is not None:  # the tests' chips carry no NXP signature
        made.site_keys = KEYS_NO_SIG
    return made, reads


def target(uid: bytes, sak: int = 0x20) -> Any:
    return nfc.clf.RemoteTarget("106A", sdd_res=bytearray(uid), sel_res=bytes([sak]))


def test_a_desfire_held_on_a_real_nfcpy_poll_is_one_genuine_read(
    emulator: TagEmulator,
) -> None:
    card = desfire()
    sessions: list[Any] = []

    def activate(_frontend: Any, sensed: Any) -> CardTransport:
        assert speaks_iso_dep(sensed)
        sessions.append(sensed)
        return card

    emulator.present(UID, sak=0x20)
    options = {"device": f"udp:127.0.0.1:{emulator.port}", "poll_s": 0.05, "hold_s": 0.3}
    made = registry.create("reader", "nfc", "gate-in", options,
                           DriverContext(RealClock(), secure=SITE))  # fmt: skip
    assert isinstance(made, NfcReader)
    made.activate, made.site_keys = activate, KEYS_NO_SIG
    gate = Harness(made)
    try:
        first = gate.next_read(1)
        assert first.card == CardNumber.from_uid(UID) and first.proof is not None
        assert first.proof.genuine and first.proof.kind == "desfire"
        assert first.proof.credential_id == "R-0042"
        polls = made.polls
        wait_for(lambda: made.polls >= polls + 5, "five more polls")
        assert len(sessions) == 1 and len(gate.reads) == 1  # held: no second session
    finally:
        gate.stop()


def test_a_uid_only_clone_is_delivered_as_not_genuine_under_its_sensed_number() -> None:
    clone = SoftDesfire(UID, rng=_rng(3))  # the same UID, none of the site's keys
    gate, reads = reader(lambda _f, _t: clone)
    gate._handle(target(UID), None)
    (read,) = reads
    assert read.card == CardNumber.from_uid(UID) and read.proof is not None
    assert not read.proof.genuine and read.proof.verdict == "card_not_genuine"


def test_an_ntag_counts_each_presentation_and_a_held_one_is_not_read_again() -> None:
    tag = SoftNtag424(UID, rng=_rng(4))
    provision_ntag424(tag, KEYS_NO_SIG, rng=_rng(5))
    clock = Clock()
    gate, reads = reader(lambda _f, _t: tag, clock=clock)
    seen = gate._handle(target(UID), None)
    seen = gate._handle(target(UID), seen)  # still on the reader
    gate._handle(None, seen)  # taken away
    clock.now += 1.0
    gate._handle(target(UID), None)  # presented again
    assert [r.proof.counter for r in reads if r.proof] == [1, 2]
    assert all(r.proof and r.proof.genuine and r.proof.kind == "ntag424" for r in reads)


def test_a_random_uid_card_is_known_by_the_uid_its_session_gives() -> None:
    card = desfire()
    gate, reads = reader(lambda _f, _t: card)
    seen = gate._handle(target(RANDOM), None)
    gate._handle(target(bytes.fromhex("08AA0102")), seen)  # a new random UID, same card
    (read,) = reads
    assert read.card == CardNumber.from_uid(UID) and read.proof and read.proof.genuine


def test_a_card_pulled_mid_exchange_is_a_torn_read() -> None:
    gate, reads = reader(lambda _f, _t: Tearing(desfire(), 3))
    gate._handle(target(UID), None)
    (read,) = reads
    assert read.proof is not None and read.proof.verdict == "card_torn"


def test_without_secure_keys_or_iso_dep_a_card_is_a_number_as_before() -> None:
    never: list[Any] = []
    plain, reads = reader(lambda f, t: never.append(t), site=None)
    plain._handle(target(UID), None)
    mifare, more = reader(lambda f, t: never.append(t))
    mifare._handle(target(UID, sak=0x08), None)  # MIFARE Classic: no ISO 14443-4
    assert never == [] and [r.proof for r in reads + more] == [None, None]
    assert reads[0].card == more[0].card == CardNumber.from_uid(UID)


def test_nfcpy_errors_mid_exchange_are_a_gone_card() -> None:
    class Tag:
        def transceive(self, data: bytearray, timeout: float) -> bytearray:
            raise nfc.clf.TimeoutError("no answer")

    with pytest.raises(CardGone, match="left mid-exchange: TimeoutError"):
        TagTransport(Tag()).exchange(b"\x90\x60\x00\x00\x00")
