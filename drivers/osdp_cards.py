"""OSDP messages and settings: card reads and keys decoded, LED and buzzer signals, the key file."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

from osdp import CardFormat
from pydantic import BaseModel, ConfigDict, Field

from drivers.cards import CardNumber, parse_card
from drivers.wiegand_format import FormatSet, FrameError

log = logging.getLogger(__name__)

UID_BITS = frozenset({32, 56, 64, 80})  # 4-, 7-, 8- and 10-byte 13.56 MHz UIDs
_KEY_NAMES = {0x7F: "*", 0x0D: "#"}  # how OSDP keypads send * and #
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
Colour = Literal["red", "green", "amber", "blue", "magenta", "cyan", "white"]


def read_scbk(path: Path) -> bytes:
    """The 16-byte key in ``path`` (32 hex digits); errors never quote the file's text."""
    if path.stat().st_mode & 0o004:
        log.warning("key file %s is readable by everyone: make it 0640 root:gate-agent", path)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if len(text) != 32 or not _HEX.match(text):
        raise ValueError(f"{path}: a secure channel key is 32 hex digits")
    return bytes.fromhex(text)


def card_from_event(event: dict[str, Any], formats: FormatSet, reverse_uid: bool) -> CardNumber:
    """Decode an OSDP card read: Wiegand layouts first, then UIDs, then a raw 125 kHz id."""
    data = bytes(event.get("data", b""))
    if event.get("format") == CardFormat.ASCII:  # deprecated by OSDP 2.2
        text = data.decode("ascii", errors="replace").strip()
        return CardNumber.from_uid(bytes.fromhex(text)) if _HEX.match(text) else parse_card(text)
    bits = int(event.get("length", 0))
    if not 0 < bits <= len(data) * 8:
        raise FrameError(f"{bits} bits announced, {len(data)} bytes sent")
    value = int.from_bytes(data[: (bits + 7) // 8], "big") >> (-bits % 8)
    if event.get("direction") == 1:  # read backwards: the last bit came first
        value = int(f"{value:0{bits}b}"[::-1], 2)
    if bits in formats.by_length:
        return formats.decode([(value >> (bits - 1 - i)) & 1 for i in range(bits)]).card_number()
    if bits in UID_BITS:
        uid = value.to_bytes(bits // 8, "big")
        return CardNumber.from_uid(uid[::-1] if reverse_uid else uid)
    if bits <= 64:  # e.g. a 40-bit EM4100 id, comparable with em: enrolments
        return CardNumber.from_prox(value, bits)
    raise FrameError(f"unknown length: {bits} bits")


def keys_from_event(data: bytes) -> str:
    """Printable keys, with OSDP's codes for * and # translated."""
    return "".join(_KEY_NAMES.get(b, chr(b)) for b in data if b in _KEY_NAMES or 32 < b < 127)


class OsdpSignals(BaseModel):
    """The reader's own LED and buzzer after a decision (sent as OSDP commands)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grant_colour: Colour = "green"
    deny_colour: Colour = "red"
    grant_s: float = Field(1.0, ge=0.1, le=25)  # how long the LED shows the colour
    deny_s: float = Field(1.0, ge=0.1, le=25)
    grant_beep_s: float = Field(0.1, ge=0, le=25)  # 0: silent
    deny_beep_s: float = Field(0.6, ge=0, le=25)


def ticks(seconds: float) -> int:
    """OSDP times LEDs and buzzers in 100 ms units, one byte each."""
    return 0 if seconds <= 0 else max(1, min(255, round(seconds * 10)))
