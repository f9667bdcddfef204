"""The one entry point a reader driver calls: ``read_secure``.

Which card is it? The gate first asks for the site's DESFire application
(SelectApplication, native ``90 5A``): a DESFire card that the office provisioned
answers ``91 00``. Otherwise it selects NTAG 424 DNA's NDEF application by DF name
(ISO SelectFile ``00 A4 04 00 ... D2760000850101``): ``90 00`` makes it an NTAG 424.
A card that answers neither (a UID-only clone, a blank or foreign card) is not genuine,
and so is one whose refusal of the DESFire probe is not a known refusal code.
Working on the answers alone keeps the driver free of reader-specific ATS parsing.

Everything that goes wrong on the card's side ends as one ``SecureFailure``: a
message that does not verify is ``card_not_genuine``, a card that leaves mid-exchange
``card_torn``, an exchange slower than ``SiteKeys.relay_budget_s`` ``relay_suspected``.
"""

from __future__ import annotations

import os

from drivers.cards import GENUINE, SecureProof
from drivers.secure.base import (
    NOT_GENUINE,
    RELAY,
    TORN,
    CardGone,
    CardTransport,
    Clock,
    SecureFailure,
    native,
    split_status,
)
from drivers.secure.desfire import SELECT_APPLICATION, Random, read_desfire
from drivers.secure.ev2 import ProtocolViolation
from drivers.secure.keys import NTAG_DF_NAME, SiteKeys
from drivers.secure.ntag424 import originality_holds, parse_sun_ndef, verify_sun

DESFIRE, NTAG424 = "desfire", "ntag424"
NDEF_FILE = bytes.fromhex("E104")
READ_SIG = 0x3C
# answers to the DESFire probe that send the gate on to NTAG 424: illegal command,
# application not found, ISO "instruction / class not supported". Anything else (a
# flipped bit, a stray 91 00 with data) is a card that does not behave: not genuine.
PROBE_REFUSALS = frozenset({b"\x91\x1c", b"\x91\xa0", b"\x6d\x00", b"\x6e\x00"})

__all__ = ["CardGone", "CardTransport", "SecureFailure", "SiteKeys", "read_secure"]


def iso_select_df(transport: CardTransport, name: bytes) -> bool:
    """ISO SelectFile by DF name; whether the card answered 90 00."""
    apdu = bytes([0x00, 0xA4, 0x04, 0x00, len(name)]) + name + b"\x00"
    _, sw1, sw2 = split_status(transport.exchange(apdu))
    return (sw1, sw2) == (0x90, 0x00)


def _iso_ok(response: bytes) -> bytes:
    data, sw1, sw2 = split_status(response)
    if (sw1, sw2) != (0x90, 0x00):
        raise ProtocolViolation(f"ISO command refused ({sw1:02X}{sw2:02X})")
    return data


def read_ndef(transport: CardTransport) -> bytes:
    """Select the NDEF file (E104) and read it (ISO ReadBinary, up to 256 bytes)."""
    _iso_ok(transport.exchange(bytes([0x00, 0xA4, 0x00, 0x0C, 0x02]) + NDEF_FILE))
    return _iso_ok(transport.exchange(bytes([0x00, 0xB0, 0x00, 0x00, 0x00])))


def read_ntag424(transport: CardTransport, keys: SiteKeys) -> tuple[bytes, int, bool | None]:
    """After the NDEF application is selected: (UID, SUN counter, originality).

    With an originality key in ``keys`` (NXP's by default) the chip must also show
    NXP's signature over its UID (Read_Sig, sent plain here); otherwise the tag is not
    genuine whatever its keys. Without one, originality is ``None`` (not checked).
    """
    picc_data, mac = parse_sun_ndef(keys.ntag_url, read_ndef(transport))
    sun = verify_sun(keys.ntag_meta_key(), keys.ntag_file_key, picc_data, mac)
    if not keys.originality_key:
        return sun.uid, sun.counter, None
    signature, sw1, sw2 = split_status(transport.exchange(native(READ_SIG, b"\x00")))
    if (sw1, sw2) != (0x91, 0x00) or not originality_holds(
        sun.uid, signature, keys.originality_key
    ):
        raise ProtocolViolation("NXP's originality signature does not hold: not an NXP chip")
    return sun.uid, sun.counter, True


def _read(
    transport: CardTransport, keys: SiteKeys, rng: Random, kinds: list[str]
) -> tuple[bytes, SecureProof]:
    probe = transport.exchange(native(SELECT_APPLICATION, keys.aid))
    if probe == b"\x91\x00":
        uid, credential_id = read_desfire(transport, keys, rng)
        return uid, SecureProof(kind=DESFIRE, verdict=GENUINE, credential_id=credential_id)
    kinds.append(NTAG424)
    if probe not in PROBE_REFUSALS:
        raise ProtocolViolation(f"unexpected answer to SelectApplication: {probe.hex()}")
    if not iso_select_df(transport, NTAG_DF_NAME):
        raise ProtocolViolation("neither the site's application nor an NTAG 424 DNA")
    uid, counter, originality = read_ntag424(transport, keys)
    proof = SecureProof(kind=NTAG424, verdict=GENUINE, counter=counter, originality=originality)
    return uid, proof


def read_secure(
    transport: CardTransport, keys: SiteKeys, clock: Clock, rng: Random = os.urandom
) -> tuple[bytes, SecureProof]:
    """Run the card session; returns the card's real UID and a genuine proof.

    Raises only ``SecureFailure`` for anything on the card's side. The UID is for the
    driver to turn into a ``CardNumber``; the proof rides on the ``CardRead``.
    """
    started = clock()
    kinds = [DESFIRE]
    try:
        uid, proof = _read(transport, keys, rng, kinds)
    except CardGone as exc:
        raise SecureFailure(TORN, kinds[-1], str(exc), clock() - started) from None
    except (ProtocolViolation, ValueError, IndexError) as exc:
        # ValueError covers SunInvalid, bad padding and bad hex: a card that lies
        raise SecureFailure(NOT_GENUINE, kinds[-1], str(exc), clock() - started) from None
    elapsed = clock() - started
    if elapsed > keys.relay_budget_s:
        raise SecureFailure(RELAY, proof.kind, f"{elapsed:.3f} s", elapsed)
    return uid, SecureProof(
        kind=proof.kind,
        verdict=GENUINE,
        credential_id=proof.credential_id,
        counter=proof.counter,
        originality=proof.originality,
        elapsed_s=elapsed,
    )
