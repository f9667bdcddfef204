"""Licence plates: one normal form, the formats a gate accepts, masking, OCR confusions.

Shared by the gate (a camera's read becomes a ``PlateNumber``, a credential like a card
number, hashed at once) and the office (the register normalises what staff type the
same way, so the HMAC the office sends matches what the gate computes from a read).

Normal form: upper case, no spaces or separators, full-width letters and digits made
plain (``京A·12345``, ``京a 12345``, ``京Ａ-12345`` are all ``京A12345``). Which shapes a
gate accepts from a camera is configurable: ``mainland`` (province character, letter,
five characters, or four and a special suffix such as 学 or 警), ``new_energy`` (the
8-character form: ``粤BD12345`` small, ``粤B12345D`` large) and any extra patterns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent.errors import CardFormatError
from drivers.cards import CardNumber, Technology, mask

_SEPARATORS = re.compile(r"[\s\-.·•\u00b7\u30fb\u3000_/]+")
_SHAPE = re.compile(r"[\u4e00-\u9fffA-Z0-9]{5,10}")

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_P = f"[{PROVINCES}]"
_L = "[A-HJ-NP-Z]"  # the issuing-office letter: I and O are never used
_C = "[A-HJ-NP-Z0-9]"
BUILTIN_FORMATS: dict[str, str] = {
    "mainland": f"{_P}{_L}(?:{_C}{{5}}|{_C}{{4}}[学警挂港澳领])",
    "new_energy": f"{_P}{_L}(?:[DF]{_C}[0-9]{{4}}|[0-9]{{5}}[DF])",
}
DEFAULT_FORMATS = ("mainland", "new_energy")

# the classic OCR confusions; a tolerant match swaps one character within a group
CONFUSIONS: tuple[frozenset[str], ...] = (
    frozenset("0OD"),
    frozenset("1I"),
    frozenset("8B"),
    frozenset("2Z"),
)
_ALTERNATIVES = {c: sorted(group - {c}) for group in CONFUSIONS for c in group}


def compact(text: str) -> str:
    """Upper case, full-width made plain, separators gone: the form before any check."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def normalise_plate(text: str) -> str | None:
    """The office's loose check: the plate in its one stored form, or None if ``text``
    does not look like a plate at all (five to ten letters, digits or characters, one
    digit at least). A gate checks a camera's read against its formats as well."""
    plate = compact(text)
    if not _SHAPE.fullmatch(plate) or not any(c.isdigit() for c in plate):
        return None
    return plate


def mask_plate(plate: str) -> str:
    """``京A****45``: province and letter, then the last two characters; the stars do
    not tell how long the plate is."""
    return mask("plate:" + plate)


class PlateFormats:
    """The plate shapes one gate accepts: built-in names and extra regular expressions."""

    def __init__(self, names: Iterable[str] = DEFAULT_FORMATS, extra: Sequence[str] = ()) -> None:
        patterns = []
        for name in names:
            if name not in BUILTIN_FORMATS:
                raise CardFormatError(
                    f"no plate format {name!r}; choose from {sorted(BUILTIN_FORMATS)}"
                )
            patterns.append(BUILTIN_FORMATS[name])
        for pattern in extra:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise CardFormatError(f"plate pattern {pattern!r}: {exc}") from None
            patterns.append(f"(?:{pattern})")
        self._any = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def accepts(self, plate: str) -> bool:
        """Whether a normalised plate has one of the shapes."""
        return self._any is not None and self._any.fullmatch(plate) is not None

    def parse(self, text: str) -> PlateNumber:
        """A plate as a camera or a guard gave it, normalised and checked."""
        plate = compact(text)
        if not 2 <= len(plate) <= 12 or not self.accepts(plate):
            raise CardFormatError("not a plate of a configured format")
        return PlateNumber(Technology.PLATE, 0, 0, plate)

    def variants(self, plate: PlateNumber) -> list[PlateNumber]:
        """Plates one OCR confusion away (one character swapped within its group) that
        still have an accepted shape: what a tolerant match looks up."""
        text, found = plate.text, []
        for i, char in enumerate(text):
            for other in _ALTERNATIVES.get(char, ()):
                candidate = text[:i] + other + text[i + 1 :]
                if self.accepts(candidate):
                    found.append(PlateNumber(Technology.PLATE, 0, 0, candidate))
        return found


@dataclass(frozen=True, slots=True)
class PlateNumber(CardNumber):
    """A normalised plate as a credential. Its canonical form has its own prefix, so its
    HMAC can never equal a card number's; ``repr`` is masked like a card's."""

    text: str = field(default="", repr=False)

    def canonical(self, prox_bits: int = 24) -> str:
        return "plate:" + self.text

    def masked(self) -> str:
        return mask_plate(self.text)

    def __repr__(self) -> str:
        return f"PlateNumber({self.masked()})"


@dataclass(frozen=True, slots=True)
class PlateSighting:
    """What a camera said about a read besides the plate: how sure it was, and the
    picture's id in the gate's picture store (never the picture itself)."""

    confidence: float
    picture_id: str | None = None
    unreadable: bool = False  # below the camera's threshold: a guard decides
