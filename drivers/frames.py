"""Pure decoders for what serial and keyboard-wedge readers emit: bytes in, cards out.

Nothing here touches a device, a thread or a clock, so the decoders can be fed
recorded or generated input in tests. A decoder keeps only the partial frame it
has seen so far; it never drops a card it has decoded (repeats of a held card are
the driver's business) and it never puts a card number into an error's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce
from typing import Literal

from agent.errors import CardFormatError
from drivers.cards import CardNumber

STX = 0x02
ETX = 0x03
EM_PAYLOAD_LEN = 12  # 10 hex digits of id, 2 of checksum
MAX_LINE_LEN = 64  # longer than any id a reader prints: the rest is noise

Encoding = Literal["decimal", "hex"]
ByteOrder = Literal["big", "little"]
Technology = Literal["uid", "prox"]

_EM_PAYLOAD = re.compile(rb"[0-9A-Fa-f]{12}")
_DECIMAL = re.compile(r"[0-9]{1,25}")
_HEX = re.compile(r"[0-9A-Fa-f]{1,20}")
_BLANK = " \t\r\n\x00\x02\x03"  # padding and framing some line readers put round the id


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame that could not be decoded, with a reason that never holds the card number."""

    why: str


Decoded = CardNumber | BadFrame


def card_from_text(
    text: str,
    encoding: Encoding,
    bits: int,
    technology: Technology = "prox",
    byte_order: ByteOrder = "big",
) -> CardNumber:
    """The card a reader means by ``text``; CardFormatError if it is not one.

    ``byte_order="little"`` is for readers that print a UID lowest byte first, as
    many 13.56 MHz keyboard readers do with their 10-digit decimal output.
    """
    pattern = _DECIMAL if encoding == "decimal" else _HEX
    if not pattern.fullmatch(text):
        raise CardFormatError(f"not a {encoding} id")
    value = int(text, 10 if encoding == "decimal" else 16)
    if value >= 1 << bits:
        raise CardFormatError(f"id does not fit in {bits} bits")
    if technology == "uid" or byte_order == "little":
        if bits % 8:
            raise CardFormatError("byte order and UIDs need whole bytes")
        raw = value.to_bytes(bits // 8, byte_order)
        if technology == "uid":
            return CardNumber.from_uid(raw)
        value = int.from_bytes(raw, "big")
    return CardNumber.from_prox(value, bits)


class Em4100Parser:
    """RDM6300-style frames: STX, 10 hex id digits, 2 hex digits of checksum, ETX.

    The checksum is the XOR of the five id bytes. Bytes outside a frame are line
    noise and skipped; an STX inside a frame abandons that frame (it was cut short)
    and starts a new one, so one lost byte costs at most one read.
    """

    def __init__(self) -> None:
        self._frame: bytearray | None = None  # None while hunting for STX

    def feed(self, data: bytes) -> list[Decoded]:
        out: list[Decoded] = []
        for byte in data:
            if byte == STX:
                if self._frame is not None:
                    out.append(BadFrame("frame cut short"))
                self._frame = bytearray()
            elif self._frame is None:
                continue
            elif byte == ETX:
                out.append(_em4100(bytes(self._frame)))
                self._frame = None
            elif len(self._frame) < EM_PAYLOAD_LEN:
                self._frame.append(byte)
            else:
                out.append(BadFrame("frame too long"))
                self._frame = None
        return out


def _em4100(payload: bytes) -> Decoded:
    if len(payload) != EM_PAYLOAD_LEN:
        return BadFrame(f"frame of {len(payload)} bytes, not {EM_PAYLOAD_LEN}")
    if not _EM_PAYLOAD.fullmatch(payload):
        return BadFrame("frame is not hex")
    id_bytes = bytes.fromhex(payload[:10].decode("ascii"))
    if reduce(lambda acc, b: acc ^ b, id_bytes, 0) != int(payload[10:], 16):
        return BadFrame("checksum mismatch")
    return CardNumber.from_prox(int.from_bytes(id_bytes, "big"), 40)


class LineParser:
    """Readers that print each id as text and end it with CR, LF or both."""

    def __init__(
        self, encoding: Encoding, bits: int, strip_prefix: str = "", strip_suffix: str = ""
    ) -> None:
        self.encoding: Encoding = encoding
        self.bits = bits
        self.strip_prefix = strip_prefix
        self.strip_suffix = strip_suffix
        self._line = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[Decoded]:
        out: list[Decoded] = []
        for byte in data:
            if byte in b"\r\n":
                if self._overflow:
                    out.append(BadFrame("line too long"))
                elif self._line:
                    decoded = self._decode(bytes(self._line))
                    if decoded is not None:
                        out.append(decoded)
                self._line.clear()
                self._overflow = False
            elif len(self._line) < MAX_LINE_LEN:
                self._line.append(byte)
            else:
                self._overflow = True
        return out

    def _decode(self, line: bytes) -> Decoded | None:
        try:
            text = line.decode("ascii").strip(_BLANK)
        except UnicodeDecodeError:
            return BadFrame("line is not ASCII")
        text = text.removeprefix(self.strip_prefix).removesuffix(self.strip_suffix)
        text = text.strip(_BLANK)
        if not text:
            return None  # a blank line between ids is not a read
        try:
            return card_from_text(text, self.encoding, self.bits)
        except CardFormatError as exc:
            return BadFrame(str(exc))
