"""The mainland resident ID number: 17 digits and an ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import re

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, ...
_SHAPE = re.compile(r"\d{17}[\dX]")


def check_character(first17: str) -> str:
    """The check character of 17 digits (``X`` stands for 10)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def normalise(text: str) -> str:
    """Spaces dropped, a lower-case ``x`` raised: what staff type becomes what is stored."""
    return re.sub(r"\s+", "", text).upper()


def is_valid_mainland_id(text: str) -> bool:
    """18 characters whose last is the MOD 11-2 check of the first 17."""
    number = normalise(text)
    return bool(_SHAPE.fullmatch(number)) and check_character(number[:17]) == number[17]
