"""A visitor pass as text: ``GP1.<payload>.<signature>``, both in unpadded base32.

The payload is a compact binary form of ``VisitorPass`` (about 65 bytes); the signature
is the office's Ed25519 signature over ``"gate-agent/pass/1\\n" + payload``, a domain of
its own, so no signature of an office message can pass for a pass or the reverse.

Base32 rather than base64: it is case-blind (a keyboard-wedge scanner's Shift and Caps
Lock cannot spoil it) and fits the QR alphanumeric mode, which packs 5.5 bits a
character instead of 8. The short code a guard types is 10 characters of Crockford
base32 derived from the signature: only the office can make one, and the pass id that
events carry does not give it away.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from agent.errors import GateError
from agent.models.passes import MAX_CODE_CHARS, VisitorPass

PREFIX = "GP1."
VERSION = 1
PASS_DOMAIN = b"gate-agent/pass/1\n"
SHORT_DOMAIN = b"gate-agent/pass-short/1\n"
SIGNATURE_BYTES = 64
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: nothing to misread
SHORT_LEN = 10  # 50 bits
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
_TIMES = struct.Struct(">IIIH")  # valid_from, valid_until, issued_at, uses


class PassFormatError(GateError):
    """Text or bytes that are not a pass (the only error the decoders raise)."""


@dataclass(frozen=True)
class SignedPass:
    """A decoded pass with the exact bytes that were signed. Not yet verified."""

    visitor_pass: VisitorPass
    payload: bytes
    signature: bytes

    @property
    def text(self) -> str:
        return PREFIX + _b32(self.payload) + "." + _b32(self.signature)

    @property
    def short_code(self) -> str:
        return short_code(self.signature)

    def verify(self, key: Ed25519PublicKey) -> bool:
        """Whether the office's key signed these very bytes."""
        try:
            key.verify(self.signature, PASS_DOMAIN + self.payload)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:  # the text is a bearer credential: never in a log
        return f"SignedPass(id={self.visitor_pass.id})"


def new_pass_id() -> str:
    return secrets.token_hex(8)


def sign(visitor_pass: VisitorPass, key: Ed25519PrivateKey) -> SignedPass:
    payload = pack(visitor_pass)
    return SignedPass(visitor_pass, payload, key.sign(PASS_DOMAIN + payload))


def decode(text: str) -> SignedPass:
    """Parse a pass code (any case, surrounding blanks ignored); PassFormatError if it is
    not one. The signature is not checked here: see ``SignedPass.verify``."""
    if not isinstance(text, str) or len(text) > MAX_CODE_CHARS:
        raise PassFormatError("not a pass code")
    parts = text.strip().upper().split(".")
    if len(parts) != 3 or parts[0] + "." != PREFIX:
        raise PassFormatError(f"a pass code is {PREFIX}<payload>.<signature>")
    payload, signature = _unb32(parts[1]), _unb32(parts[2])
    if len(signature) != SIGNATURE_BYTES:
        raise PassFormatError("the signature is not 64 bytes")
    return SignedPass(unpack(payload), payload, signature)


def is_code(text: str) -> bool:
    """Whether ``text`` claims to be a full pass code (rather than a short code)."""
    return text.strip().upper().startswith(PREFIX)


# -- short codes ------------------------------------------------------------------
def short_code(signature: bytes) -> str:
    value = int.from_bytes(hashlib.sha256(SHORT_DOMAIN + signature).digest()[:8], "big")
    value >>= 64 - 5 * SHORT_LEN
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(SHORT_LEN)))


def normalise_short(text: str) -> str | None:
    """A typed short code in its stored form (case, dashes, blanks and O/I/L forgiven),
    or None when it cannot be one."""
    if not isinstance(text, str) or len(text) > 32:
        return None
    code = text.strip().upper().translate(_LOOKALIKES)
    if len(code) != SHORT_LEN or any(c not in CROCKFORD for c in code):
        return None
    return code


def display_short(code: str) -> str:
    """``ABCDE-FGHJK``: two groups of five are easier to read out and type."""
    return f"{code[:5]}-{code[5:]}"


# -- the binary payload --------------------------------------------------------------
def pack(p: VisitorPass) -> bytes:
    out = bytearray([VERSION]) + bytes.fromhex(p.id)
    for text in (p.site, p.gate or "", p.unit):
        _put(out, text)
    stamps = (p.valid_from, p.valid_until, p.issued_at)
    out += _TIMES.pack(*(int(t.timestamp()) for t in stamps), p.uses)
    _put(out, p.issued_by)
    doors = p.doors or []
    out.append(len(doors))  # 0: every door (an empty list is not a pass's value)
    for door in doors:
        _put(out, door)
    return bytes(out)


def unpack(data: bytes) -> VisitorPass:
    """The pass in ``data``; PassFormatError for anything else, whatever the bytes."""
    reader = _Reader(data)
    if reader.take(1)[0] != VERSION:
        raise PassFormatError("unknown pass version")
    fields: dict[str, Any] = {"id": reader.take(8).hex()}
    fields["site"], gate, fields["unit"] = reader.text(), reader.text(), reader.text()
    start, until, issued, fields["uses"] = _TIMES.unpack(reader.take(_TIMES.size))
    fields["gate"] = gate or None
    fields["valid_from"], fields["valid_until"], fields["issued_at"] = (
        datetime.fromtimestamp(t, UTC) for t in (start, until, issued)
    )
    fields["issued_by"] = reader.text()
    doors = [reader.text() for _ in range(reader.take(1)[0])]
    fields["doors"] = doors or None
    if not reader.done:
        raise PassFormatError("bytes after the pass")
    try:
        return VisitorPass.model_validate(fields)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "pass"
        raise PassFormatError(f"{where}: {exc.errors()[0]['msg']}") from None


def _put(out: bytearray, text: str) -> None:
    raw = text.encode()
    if len(raw) > 255:
        raise PassFormatError("a text field is over 255 bytes")
    out.append(len(raw))
    out += raw


class _Reader:
    """Reads a payload front to back; running off its end is a PassFormatError."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, n: int) -> bytes:
        if self._at + n > len(self._data):
            raise PassFormatError("the pass is cut short")
        chunk = self._data[self._at : self._at + n]
        self._at += n
        return chunk

    def text(self) -> str:
        raw = self.take(self.take(1)[0])
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise PassFormatError("a text field is not UTF-8") from None

    @property
    def done(self) -> bool:
        return self._at == len(self._data)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    if not text or not text.isascii():
        raise PassFormatError("not base32")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise PassFormatError("not base32") from None
