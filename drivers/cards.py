"""Card numbers as readers deliver them, the text notations people type, and masking.

A raw card number lives only here and in the reader drivers: the agent hashes it
as soon as it arrives, and every ``repr`` of a card shows the masked form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from agent.errors import CardFormatError

if TYPE_CHECKING:
    from drivers.plates import PlateSighting


class Technology(StrEnum):
    """Card families whose numbers are comparable across reader types."""

    UID = "uid"  # 13.56 MHz (MIFARE, DESFire, NTAG): the chip's UID bytes
    PROX = "prox"  # 125 kHz (EM4100, HID Prox): the id bits a reader emits
    PLATE = "plate"  # a licence plate an ANPR camera read (drivers.plates.PlateNumber)


_HEX = re.compile(r"^[0-9a-fA-F]+$")
_UID_SEPARATED = re.compile(r"^[0-9a-fA-F]{2}([:\- ][0-9a-fA-F]{2})+$")
_FAC_CARD = re.compile(r"^(\d{1,3})[:,/](\d{1,5})$")
# ``uid:``/``nfc:`` and 4 to 10 bytes of ASCII hex, nothing else (no re.IGNORECASE:
# it lets a dotless i, U+0131, match "i", which ``str.lower`` does not)
_PLAIN_UID = re.compile(r"(?:[uU][iI][dD]|[nN][fF][cC]):((?:[0-9A-Fa-f]{2}){4,10})")


@dataclass(frozen=True, slots=True)
class CardNumber:
    """A card's number: family, value and how many bits the source carried."""

    technology: Technology
    value: int = field(repr=False)
    bits: int

    def canonical(self, prox_bits: int = 24) -> str:
        """The one string every reader of this card agrees on; it is what gets hashed.

        125 kHz ids are cut to the site's ``prox_bits`` (24 = facility + card, what a
        Wiegand-26 reader sends) so an EM4100 serial reader and a Wiegand reader
        enroll the same card once.
        """
        if self.technology is Technology.UID:
            return "uid:" + self.value.to_bytes(self.bits // 8, "big").hex().upper()
        return f"prox:{self.value & ((1 << prox_bits) - 1):x}"

    def masked(self) -> str:
        return mask(self.canonical())

    def __repr__(self) -> str:
        return f"CardNumber({self.masked()})"

    @classmethod
    def from_uid(cls, uid: bytes) -> CardNumber:
        if not 4 <= len(uid) <= 10:
            raise CardFormatError(f"a UID has 4 to 10 bytes, got {len(uid)}")
        return cls(Technology.UID, int.from_bytes(uid, "big"), len(uid) * 8)

    @classmethod
    def from_prox(cls, value: int, bits: int) -> CardNumber:
        if value < 0 or value >= 1 << bits:
            raise CardFormatError(f"prox id does not fit in {bits} bits")
        return cls(Technology.PROX, value, bits)


def mask(canonical: str) -> str:
    """``uid:04A224B2`` -> ``uid:****24B2``; short prox ids keep only two hex digits."""
    family, _, digits = canonical.partition(":")
    if family == "plate":  # drivers.plates.mask_plate: province and letter, last two
        return digits[:2] + "****" + digits[-2:]
    keep = 4 if family == "uid" else 2
    return f"{family}:****{digits[-keep:]}"


def parse_card(text: str) -> CardNumber:
    """Read a card number written by a person or an office system.

    Accepted: ``uid:04A224B2`` (or ``nfc:``), ``04:A2:24:B2``, ``em:0A00123456``
    (10 hex digits of an EM4100 id), ``w26:123:45678`` or ``123,45678`` (facility
    and card), ``prox:<hex>``.
    """
    raw = text.strip()
    prefix, sep, rest = raw.partition(":")
    prefix = prefix.lower() if sep else ""
    try:
        if prefix in ("uid", "nfc"):
            return CardNumber.from_uid(_hex_bytes(rest))
        if prefix == "em":
            if len(rest) != 10 or not _HEX.match(rest):
                raise CardFormatError("an EM4100 id is 10 hex digits")
            return CardNumber.from_prox(int(rest, 16), 40)
        if prefix in ("w26", "fc"):
            return _facility_card(rest)
        if prefix == "prox":
            if not rest or not _HEX.match(rest) or len(rest) > 16:
                raise CardFormatError("prox: takes up to 16 hex digits")
            return CardNumber.from_prox(int(rest, 16), max(24, len(rest) * 4))
        if _UID_SEPARATED.match(raw):
            return CardNumber.from_uid(_hex_bytes(raw))
        if _FAC_CARD.match(raw):
            return _facility_card(raw)
    except CardFormatError:
        raise
    except ValueError as exc:
        raise CardFormatError(str(exc)) from None
    raise CardFormatError("unknown card notation; use uid:HEX, em:HEX10, w26:FAC:CARD or prox:HEX")


def canonical_text(text: str, prox_bits: int = 24) -> str:
    """``parse_card(text).canonical(prox_bits)``, and the same CardFormatError.

    The notation nearly every office file uses, ``uid:HEX``, is read by one regex and
    an upper-casing (a million-row import reads a million of them); every other text
    goes through ``parse_card``.
    """
    plain = _PLAIN_UID.fullmatch(text)
    if plain is not None:
        return "uid:" + plain.group(1).upper()
    return parse_card(text).canonical(prox_bits)


def _hex_bytes(text: str) -> bytes:
    digits = re.sub(r"[:\- ]", "", text)
    if not digits or len(digits) % 2 or not _HEX.match(digits):
        raise CardFormatError("a UID is an even number of hex digits")
    return bytes.fromhex(digits)


def _facility_card(text: str) -> CardNumber:
    match = _FAC_CARD.match(text.strip())
    if not match:
        raise CardFormatError("facility:card expected, e.g. 123:45678")
    facility, card = int(match.group(1)), int(match.group(2))
    if facility > 255 or card > 65535:
        raise CardFormatError("facility is 0-255 and card 0-65535")
    return CardNumber.from_prox(facility << 16 | card, 24)


GENUINE = "genuine"


@dataclass(frozen=True, slots=True)
class SecureProof:
    """What a reader learnt from a card that proves a key (DESFire EV2/EV3, NTAG 424 DNA).

    ``verdict`` is ``GENUINE`` or the reason the card failed (``card_not_genuine``,
    ``card_torn``, ``relay_suspected``); the gate decides with it and keeps ``counter``
    (NTAG 424's read counter) to refuse a replayed message. No key is ever carried here.
    """

    kind: str  # "desfire" or "ntag424"
    verdict: str
    credential_id: str | None = None  # named by the card's MACed data file (DESFire)
    counter: int | None = None  # NTAG 424 DNA's SUN read counter
    originality: bool | None = None  # NXP's originality signature held (None: not checked)
    elapsed_s: float = 0.0  # the exchange with the card, for the relay budget

    @property
    def genuine(self) -> bool:
        """Whether the card proved the site's key."""
        return self.verdict == GENUINE


@dataclass(frozen=True, slots=True)
class CardRead:
    """One card seen by one reader, stamped with the reader's monotonic time."""

    card: CardNumber
    reader: str
    at: float
    read_id: int = 0  # per reader, from 1: lets an answer name the very read it is about
    proof: SecureProof | None = None  # a secure card's proof; None for a number-only read
    sighting: PlateSighting | None = None  # an ANPR camera's read: confidence, picture
