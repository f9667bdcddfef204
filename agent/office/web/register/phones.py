"""Phone numbers as staff type them, brought to one form so the keyed index finds them.

``138 0013 8000``, ``138-0013-8000``, ``+86 138 0013 8000`` and ``0086 13800138000`` are one
mainland number and normalise to ``13800138000``; another country's number keeps its
``+`` and code (``+85291234567``). Anything with other characters is not a phone number.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000]+")
_CHINA = "86"


def normalise_phone(text: str) -> str | None:
    """The number in its one stored form, or None if ``text`` is not a phone number."""
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    international = compact.startswith("+")
    digits = compact[1:] if international else compact
    if not digits.isascii() or not digits.isdigit() or not 3 <= len(digits) <= 17:
        return None
    if international and digits.startswith(_CHINA) and len(digits) > len(_CHINA) + 2:
        return digits[len(_CHINA) :]  # a mainland number written internationally
    return "+" + digits if international else digits
