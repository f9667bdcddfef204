"""Licence plates as staff type them, brought to one form so the keyed index finds them.

``京A·12345``, ``京a 12345`` and ``京A-12345`` are one plate and normalise to ``京A12345``;
new-energy plates have six characters after the letter (``粤B D12345``). A plate is
personal data: the register keeps it sealed, masked and indexed like a phone number.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.·•\u00b7\u30fb\u3000]+")
_SHAPE = re.compile(r"[\u4e00-\u9fffA-Z0-9]{5,10}")


def normalise_plate(text: str) -> str | None:
    """The plate in its one stored form, or None if ``text`` is not a plate."""
    compact = _SEPARATORS.sub("", text).upper()
    if not _SHAPE.fullmatch(compact) or not any(c.isdigit() for c in compact):
        return None
    return compact


def mask_plate(plate: str) -> str:
    """``京A***45``: the province and the letter, then the last two characters."""
    return plate[:2] + "*" * max(len(plate) - 4, 1) + plate[-2:]
