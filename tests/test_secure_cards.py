"""Secure card sessions against the software card: genuine cards and each attack's reason."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import CardFormatError, GateError
from drivers.cards import SecureProof
from drivers.secure.base import CardGone, CardTransport, SecureFailure
from drivers.secure.hostile import BitFlip, ManualClock, Recorder, Replayer, Slow, Tearing
from drivers.secure.keys import SiteKeys
from drivers.secure.provision import provision_desfire, provision_ntag424
from drivers.secure.session import read_secure
from drivers.secure.softcard import SoftCardBase, SoftDesfire
from drivers.secure.softcard_ntag import SoftNtag424

UID = bytes.fromhex("04A1B2C3D4E5F6")
SIGNER = ec.derive_private_key(0x5EC0DE, ec.SECP224R1())  # stands in for NXP's factory key
TEST_ORIGINALITY = SIGNER.public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
)
KEYS = SiteKeys(master=bytes(range(16)), originality_key=TEST_ORIGINALITY)
OTHER_SITE = dataclasses.replace(KEYS, master=bytes(range(1, 17)))


def rng(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def desfire(keys: SiteKeys = KEYS, credential: str = "R-0042", seed: int = 1) -> SoftDesfire:
    card = SoftDesfire(UID, rng=rng(seed))
    assert provision_desfire(card, keys, credential, rng=rng(seed + 1)) == UID
    return card


def ntag(keys: SiteKeys = KEYS, seed: int = 1, signed: bool = True) -> SoftNtag424:
    card = SoftNtag424(UID, rng=rng(seed), signer=SIGNER if signed else None)
    assert provision_ntag424(card, keys, rng=rng(seed + 1)) == UID
    return card


def refused(transport: CardTransport, keys: SiteKeys = KEYS, clock: ManualClock | None = None
            ) -> SecureFailure:  # fmt: skip
    with pytest.raises(SecureFailure) as caught:
        read_secure(transport, keys, clock or ManualClock(), rng(7))
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("mode", ["full", "mac"])
def test_genuine_desfire_names_its_credential(mode: str) -> None:
    keys = dataclasses.replace(KEYS, credential_mode=mode)
    uid, proof = read_secure(desfire(keys), keys, ManualClock())
    assert uid == UID
    assert proof == SecureProof(kind="desfire", verdict="genuine", credential_id="R-0042")
    assert proof.genuine


def test_genuine_ntag424_counts_its_reads() -> None:
    card = ntag()
    counters = [read_secure(card, KEYS, ManualClock())[1].counter for _ in range(3)]
    assert counters == [1, 2, 3]
    uid, proof = read_secure(card, KEYS, ManualClock())
    assert (uid, proof.kind, proof.verdict, proof.originality) == (UID, "ntag424", "genuine", True)


def test_ntag424_without_originality_key_is_not_checked() -> None:
    keys = dataclasses.replace(KEYS, originality_key=b"")
    assert read_secure(ntag(keys, signed=False), keys, ManualClock())[1].originality is None


def test_ntag424_without_nxp_signature_is_not_genuine() -> None:
    assert refused(ntag(signed=False)).reason == "card_not_genuine"


def test_uid_only_clone_is_not_genuine() -> None:
    blank = SoftDesfire(UID)  # same UID, no application, no keys
    failure = refused(blank)
    assert (failure.reason, failure.proof().verdict) == ("card_not_genuine", "card_not_genuine")
    assert refused(SoftCardBase(UID)).reason == "card_not_genuine"  # not even DESFire


@pytest.mark.parametrize("make", [desfire, ntag])
def test_card_of_another_site_is_not_genuine(make: Callable[..., CardTransport]) -> None:
    assert refused(make(OTHER_SITE)).reason == "card_not_genuine"


def test_blank_ntag424_is_not_genuine() -> None:
    assert refused(SoftNtag424(UID, signer=SIGNER)).reason == "card_not_genuine"


def test_replayed_ev2_exchange_is_not_genuine() -> None:
    recorder = Recorder(desfire())
    read_secure(recorder, KEYS, ManualClock(), rng(3))
    replay = Replayer([answer for _, answer in recorder.transcript])
    assert refused(replay).reason == "card_not_genuine"  # our RndA differs from the recording


def test_replayed_sun_message_repeats_its_counter() -> None:
    recorder = Recorder(ntag())
    _, first = read_secure(recorder, KEYS, ManualClock())
    replay = Replayer([answer for _, answer in recorder.transcript])
    _, again = read_secure(replay, KEYS, ManualClock())
    # the message itself verifies: the gate refuses it because the counter did not rise
    assert again.counter == first.counter == 1


@pytest.mark.parametrize("make", [desfire, ntag])
def test_torn_at_every_step_is_card_torn(make: Callable[..., CardTransport]) -> None:
    recorder = Recorder(make())
    read_secure(recorder, KEYS, ManualClock())
    for position in range(len(recorder.transcript)):
        failure = refused(Tearing(make(), position))
        assert failure.reason == "card_torn", position


@pytest.mark.parametrize("make", [desfire, ntag])
def test_slow_exchange_is_relay_suspected(make: Callable[..., CardTransport]) -> None:
    clock = ManualClock()
    failure = refused(Slow(make(), clock, 0.1), clock=clock)
    assert failure.reason == "relay_suspected"
    assert failure.proof().elapsed_s == pytest.approx(failure.elapsed_s) and failure.elapsed_s > 0.3


def test_exchange_within_budget_is_genuine_with_its_time() -> None:
    clock = ManualClock()
    _, proof = read_secure(Slow(desfire(), clock, 0.01), KEYS, clock)
    assert proof.genuine and proof.elapsed_s == pytest.approx(0.07)  # 7 exchanges


def test_site_keys_refuse_what_cannot_work() -> None:
    for bad in [
        {"master": bytes(15)},
        {"aid": b"\x01\x02"},
        {"system_id": b"x" * 20},
        {"card_key_no": 0},
        {"uid_key_no": 2},
        {"credential_mode": "plain"},
    ]:
        with pytest.raises(ValueError):
            dataclasses.replace(KEYS, **bad)  # type: ignore[arg-type]


def test_failures_are_gate_errors_and_keys_stay_hidden() -> None:
    assert issubclass(SecureFailure, GateError)
    assert bytes(range(16)).hex() not in repr(KEYS)


def test_provisioning_refuses_bad_credential_ids() -> None:
    for bad in ["", "x" * 33, "naïve", "tab\there"]:
        with pytest.raises(CardFormatError, match="printable ASCII"):
            provision_desfire(SoftDesfire(UID), KEYS, bad)


def test_provisioning_a_torn_or_foreign_card_fails_with_one_line() -> None:
    with pytest.raises(CardGone):
        provision_desfire(Tearing(SoftDesfire(UID), 3), KEYS, "R-1")
    with pytest.raises(GateError) as caught:
        provision_desfire(desfire(OTHER_SITE), KEYS, "R-1")  # no longer blank
    assert "\n" not in str(caught.value)
    with pytest.raises(GateError):
        provision_ntag424(SoftDesfire(UID), KEYS)  # not an NTAG 424


@pytest.mark.parametrize("kind", ["desfire", "ntag424"])
def test_a_card_torn_at_any_point_of_provisioning_never_reads_genuine(kind: str) -> None:
    """The key that makes a card genuine goes on last, after the card's own key 0."""

    def fresh() -> SoftCardBase:
        signer = SIGNER if kind == "ntag424" else None
        return SoftDesfire(UID) if kind == "desfire" else SoftNtag424(UID, signer=signer)

    def provision(card: CardTransport) -> None:
        if kind == "desfire":
            provision_desfire(card, KEYS, "R-1")
        else:
            provision_ntag424(card, KEYS)

    recorder = Recorder(fresh())
    provision(recorder)
    for tear in range(len(recorder.transcript)):
        card = fresh()
        with pytest.raises(CardGone):
            provision(Tearing(card, tear))
        assert refused(card).reason == "card_not_genuine", tear


def test_provisioned_card_no_longer_opens_with_factory_keys() -> None:
    card = desfire()
    factory = dataclasses.replace(KEYS, master=bytes(16))
    assert refused(card, factory).reason == "card_not_genuine"
    assert read_secure(card, KEYS, ManualClock())[1].genuine


FLIP = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _flip_refused(make: Callable[[], CardTransport], data: st.DataObject) -> None:
    recorder = Recorder(make())
    read_secure(recorder, KEYS, ManualClock(), rng(9))
    exchange_no = data.draw(st.integers(0, len(recorder.transcript) - 1))
    answer = recorder.transcript[exchange_no][1]
    byte = data.draw(st.integers(0, len(answer) - 1))
    bit = data.draw(st.integers(0, 7))
    with pytest.raises(SecureFailure) as caught:
        read_secure(BitFlip(make(), exchange_no, byte, bit), KEYS, ManualClock(), rng(9))
    assert caught.value.reason in ("card_not_genuine", "card_torn")


class Garble:
    """Replaces one answer by arbitrary bytes (truncated, lengthened, nonsense)."""

    def __init__(self, card: CardTransport, exchange_no: int, answer: bytes) -> None:
        self.card, self.exchange_no, self.answer, self.count = card, exchange_no, answer, 0

    def exchange(self, apdu: bytes) -> bytes:
        response = self.card.exchange(apdu)
        self.count += 1
        return self.answer if self.count - 1 == self.exchange_no else response


@FLIP
@given(st.sampled_from([desfire, ntag]), st.integers(0, 6), st.binary(max_size=80))
def test_any_garbled_answer_is_refused_without_another_exception(
    make: Callable[[], CardTransport], exchange_no: int, answer: bytes
) -> None:
    recorder = Recorder(make())
    read_secure(recorder, KEYS, ManualClock(), rng(9))
    if exchange_no >= len(recorder.transcript) or recorder.transcript[exchange_no][1] == answer:
        return
    with pytest.raises(SecureFailure) as caught:
        read_secure(Garble(make(), exchange_no, answer), KEYS, ManualClock(), rng(9))
    assert caught.value.reason in ("card_not_genuine", "card_torn")


@FLIP
@given(st.data())
def test_any_flipped_bit_of_a_desfire_answer_is_refused(data: st.DataObject) -> None:
    _flip_refused(desfire, data)


@FLIP
@given(st.data())
def test_any_flipped_bit_of_an_ntag_answer_is_refused(data: st.DataObject) -> None:
    _flip_refused(ntag, data)
