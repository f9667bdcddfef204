"""Wiegand frame layouts and their decoding, as pure code (no GPIO, no threads).

A frame is the sequence of bits a reader sent, first bit first; bit positions count
from 0 at the first bit on the wire. A layout names the frame's length, its parity
bits and the bits each one checks, and where the facility and card fields sit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.errors import CardFormatError
from drivers.cards import CardNumber

MAX_FRAME_BITS = 128  # no access-control format comes near this
MAX_ID_BITS = 64  # facility + card: what the ``prox:`` notation can spell (16 hex digits)

BitRange = tuple[int, int]  # first and last bit position, both included


class FrameError(CardFormatError):
    """A frame that does not decode: a length no accepted format has, or bad parity."""


class BitField(BaseModel):
    """``{ start = 1, length = 8 }``: a number sent most significant bit first."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: int = Field(ge=0, lt=MAX_FRAME_BITS)
    length: int = Field(ge=1, le=MAX_ID_BITS)

    def positions(self) -> range:
        return range(self.start, self.start + self.length)


class ParityBit(BaseModel):
    """``{ position = 0, parity = "even", covers = [1, 12] }``: one parity bit.

    ``covers`` is one inclusive range of bit positions, or a list of them; it does not
    include the parity bit itself. Even parity: the covered bits and the parity bit
    together hold an even number of ones; odd parity: an odd number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    position: int = Field(ge=0, lt=MAX_FRAME_BITS)
    parity: Literal["even", "odd"]
    covers: tuple[BitRange, ...] = Field(min_length=1)

    @field_validator("covers", mode="before")
    @classmethod
    def _one_range_or_many(cls, value: Any) -> Any:
        # a lone [first, last] pair reads more naturally in TOML than [[first, last]]
        pair = isinstance(value, list | tuple) and len(value) == 2
        if pair and all(isinstance(v, int) for v in value):
            return (tuple(value),)
        return value

    @model_validator(mode="after")
    def _ranges_make_sense(self) -> ParityBit:
        for first, last in self.covers:
            if not 0 <= first <= last:
                raise ValueError(f"parity range [{first}, {last}] is empty or negative")
        if self.position in self.covered():
            raise ValueError(f"parity bit {self.position} covers itself")
        return self

    def covered(self) -> set[int]:
        return {bit for first, last in self.covers for bit in range(first, last + 1)}


class WiegandFormat(BaseModel):
    """A frame layout: its length, parity bits, and the facility and card fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=32)
    bits: int = Field(ge=2, le=MAX_FRAME_BITS)
    facility: BitField | None = None
    card: BitField
    parity: tuple[ParityBit, ...] = ()

    @model_validator(mode="after")
    def _layout_fits(self) -> WiegandFormat:
        used: dict[int, str] = {}
        fields = [("card", self.card)] + ([("facility", self.facility)] if self.facility else [])
        for label, bit_field in fields:
            for bit in bit_field.positions():
                if bit >= self.bits:
                    raise ValueError(f"{label} field runs past the frame's {self.bits} bits")
                if bit in used:
                    raise ValueError(f"bit {bit} is in both {used[bit]} and {label}")
                used[bit] = label
        if self.id_bits > MAX_ID_BITS:
            raise ValueError(f"facility and card together exceed {MAX_ID_BITS} bits")
        for index, check in enumerate(self.parity):
            if check.position >= self.bits or max(check.covered()) >= self.bits:
                raise ValueError(f"parity bit {check.position} lies outside the frame")
            if check.position in used:
                raise ValueError(f"bit {check.position} is both {used[check.position]} and parity")
            used[check.position] = "parity"
            # encoding sets parity bits in list order, so one that checks another
            # parity bit (an overall parity) must come after it
            later = {p.position for p in self.parity[index + 1 :]}
            if check.covered() & later:
                raise ValueError(f"parity bit {check.position} covers a parity bit listed later")
        return self

    @property
    def id_bits(self) -> int:
        return self.card.length + (self.facility.length if self.facility else 0)


@dataclass(frozen=True)
class WiegandRead:
    """A decoded frame: which layout matched, and its facility and card numbers."""

    format: str
    facility: int = field(repr=False)
    card: int = field(repr=False)
    facility_bits: int
    card_bits: int

    def card_number(self) -> CardNumber:
        """Facility above card, so a 26-bit read of 12:3456 equals ``w26:12:3456``."""
        value = (self.facility << self.card_bits) | self.card
        return CardNumber.from_prox(value, self.facility_bits + self.card_bits)


def _take(frame: Sequence[int], bit_field: BitField | None) -> int:
    value = 0
    for bit in bit_field.positions() if bit_field else ():
        value = (value << 1) | frame[bit]
    return value


def _parity_holds(frame: Sequence[int], check: ParityBit) -> bool:
    ones = frame[check.position] + sum(frame[bit] for bit in check.covered())
    return ones % 2 == (0 if check.parity == "even" else 1)


def decode(layout: WiegandFormat, frame: Sequence[int]) -> WiegandRead:
    """Check ``frame`` against one layout; FrameError says what is wrong with it."""
    if len(frame) != layout.bits:
        raise FrameError(f"{layout.name} has {layout.bits} bits, got {len(frame)}")
    for check in layout.parity:
        if not _parity_holds(frame, check):
            raise FrameError(f"bad parity: {layout.name} bit {check.position}")
    return WiegandRead(
        layout.name,
        _take(frame, layout.facility),
        _take(frame, layout.card),
        layout.facility.length if layout.facility else 0,
        layout.card.length,
    )


def encode(layout: WiegandFormat, facility: int, card: int) -> tuple[int, ...]:
    """The frame a reader sends for facility and card (what tests and simulators need)."""
    frame = [0] * layout.bits
    for value, bit_field in ((facility, layout.facility), (card, layout.card)):
        length = bit_field.length if bit_field else 0
        if not 0 <= value < 1 << length:
            raise CardFormatError(f"{value} does not fit {layout.name}'s {length}-bit field")
        for offset, bit in enumerate(bit_field.positions() if bit_field else ()):
            frame[bit] = (value >> (length - 1 - offset)) & 1
    for check in layout.parity:
        frame[check.position] = 0
        if not _parity_holds(frame, check):
            frame[check.position] = 1
    return tuple(frame)


def _standard(
    name: str, bits: int, facility: tuple[int, int] | None, card: tuple[int, int], split: int
) -> WiegandFormat:
    """HID's layouts: even parity first over the first half, odd parity last over the rest."""
    return WiegandFormat(
        name=name,
        bits=bits,
        facility=BitField(start=facility[0], length=facility[1]) if facility else None,
        card=BitField(start=card[0], length=card[1]),
        parity=(
            ParityBit(position=0, parity="even", covers=((1, split),)),
            ParityBit(position=bits - 1, parity="odd", covers=((bits - 1 - split, bits - 2),)),
        ),
    )


# HID's published layouts. The two 37-bit ones share length and parity; their 35 data
# bits give the same card number either way, so a reader accepts one or the other.
STANDARD_FORMATS: Mapping[str, WiegandFormat] = MappingProxyType(
    {
        "H10301": _standard("H10301", 26, (1, 8), (9, 16), 12),  # 8-bit facility, 16-bit card
        "H10306": _standard("H10306", 34, (1, 16), (17, 16), 16),  # 16-bit facility and card
        "H10304": _standard("H10304", 37, (1, 16), (17, 19), 18),  # 16-bit fac., 19-bit card
        "H10302": _standard("H10302", 37, None, (1, 35), 18),  # 35-bit card, no facility
    }
)
DEFAULT_FORMATS = ("H10301", "H10306", "H10304")


class FormatSet:
    """The layouts one reader accepts, one per frame length; decodes whatever arrives."""

    def __init__(self, layouts: Sequence[WiegandFormat]) -> None:
        if not layouts:
            raise ValueError("accept at least one format")
        by_length: dict[int, WiegandFormat] = {}
        for layout in layouts:
            other = by_length.setdefault(layout.bits, layout)
            if other is not layout:
                raise ValueError(
                    f"{other.name} and {layout.name} are both {layout.bits} bits: accept one"
                )
        self.by_length: Mapping[int, WiegandFormat] = MappingProxyType(by_length)
        self.shortest = min(by_length)
        self.longest = max(by_length)

    def decode(self, frame: Sequence[int]) -> WiegandRead:
        length = len(frame)
        if length < self.shortest:
            raise FrameError(f"too short: {length} bits")
        if length > self.longest:
            raise FrameError(f"too long: {length} bits")
        layout = self.by_length.get(length)
        if layout is None:
            raise FrameError(f"unknown length: {length} bits")
        return decode(layout, frame)


def split_bursts(edges: Sequence[tuple[float, int]], gap_s: float) -> list[list[int]]:
    """Cut (seconds since the previous edge, bit) pairs into frames at pauses >= ``gap_s``."""
    frames: list[list[int]] = []
    for since_previous, bit in edges:
        if not frames or since_previous >= gap_s:
            frames.append([])
        frames[-1].append(bit)
    return frames


# Wiegand keypads send one burst per key: 4 bits (the key, most significant bit first),
# or 8 bits (the key's complement first, then the key: a check against noise).
KEY_BURSTS = (4, 8)
_KEY_NAMES = {10: "*", 11: "#"}  # 10 is ESC or * on the keypad, 11 ENTER or #


def decode_key(frame: Sequence[int]) -> str:
    """One keypad burst as a key (``0``-``9``, ``*``, ``#``); FrameError says why not."""
    value = 0
    for bit in frame:
        value = (value << 1) | (bit & 1)
    if len(frame) == 8:
        check, value = value >> 4, value & 0xF
        if check != value ^ 0xF:
            raise FrameError("keypad burst: the check nibble does not match the key")
    elif len(frame) != 4:
        raise FrameError(f"keypad burst of {len(frame)} bits")
    if value > 11:
        raise FrameError(f"keypad burst: {value} is no key")
    return _KEY_NAMES.get(value, str(value))


def encode_key(key: str, bits: int = 4) -> tuple[int, ...]:
    """The burst a keypad sends for ``key`` (tests and simulators)."""
    value = {"*": 10, "#": 11}.get(key)
    value = int(key) if value is None else value
    if bits == 8:
        value = ((value ^ 0xF) << 4) | value
    return tuple((value >> (bits - 1 - i)) & 1 for i in range(bits))
