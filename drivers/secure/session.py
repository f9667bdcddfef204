"""The one entry point a reader driver calls: ``read_secure``.

Which card is it? The gate first asks for the site's DESFire application
(SelectApplication, native ``90 5A``): a DESFire card that the office provisioned
answers ``91 00``. Otherwise it selects NTAG 424 DNA's NDEF application by DF name
(ISO SelectFile ``00 A4 04 00 ... D2760000850101``): ``90 00`` makes it an NTAG 424.
A card that answers neither (a UID-only clone, a blank or foreign card) is not genuine.
Working on the answers alone keeps the driver free of reader-specific ATS parsing.

Everything that goes wrong on the card's side ends as one ``SecureFailure``: a
message that does not verify is ``card_not_genuine``, a card that leaves mid-exchange
``card_torn``, an exchange slower than ``SiteKeys.relay_budget_s`` ``relay_suspected``.
"""

from __future__ import annotations

import os
import re

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
from drivers.secure.desfire import Random, read_desfire, select_application
from drivers.secure.ev2 import ProtocolViolation
from drivers.secure.keys import NTAG_DF_NAME, SiteKeys
from drivers.secure.ntag424 import originality_holds, verify_sun

DESFIRE, NTAG424 = "desfire", "ntag424"
NDEF_FILE = bytes.fromhex("E104")
READ_SIG = 0x3C
_SUN = re.compile(rb"[?&]e=([0-9A-Fa-f]{32})&c=([0-9A-Fa-f]{16})(?:[&#]|$)")

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
    """After the NDEF application is selected: (UID, SUN counter, originality)."""
    match = _SUN.search(read_ndef(transport))
    if match is None:
        raise ProtocolViolation("no SUN message in the NDEF file")
    sun = verify_sun(
        keys.ntag_meta_key(),
        keys.ntag_file_key,
        bytes.fromhex(match.group(1).decode()),
        bytes.fromhex(match.group(2).decode()),
    )
    originality: bool | None = None
    if keys.originality_key:
        signature, sw1, sw2 = split_status(transport.exchange(native(READ_SIG, b"\x00")))
        originality = (sw1, sw2) == (0x91, 0x00) and originality_holds(
            sun.uid, signature, keys.originality_key
        )
    return sun.uid, sun.counter, originality


def _read(
    transport: CardTransport, keys: SiteKeys, rng: Random, kinds: list[str]
) -> tuple[bytes, SecureProof]:
    try:
        status = select_application(transport, keys.aid)
    except ProtocolViolation:  # not even a DESFire status word: try the NTAG below
        status = -1
    if status == 0x00:
        uid, credential_id = read_desfire(transport, keys, rng)
        return uid, SecureProof(kind=DESFIRE, verdict=GENUINE, credential_id=credential_id)
    kinds.append(NTAG424)
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
