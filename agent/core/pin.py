"""Card plus PIN as pure rules (issue 21): when a door asks for a PIN, how keys make a
PIN, and the duress variant of a PIN. No I/O; the hashing lives in ``agent.store.pins``.

Keys are the characters ``0``-``9``, ``*`` (clear what was typed) and ``#`` (done).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from agent.core.schedules import Schedule

ALWAYS = "always"  # a door's ``pin`` that asks for one at every hour
CLEAR, ENTER = "*", "#"
DIGITS = frozenset("0123456789")


class PinResult(StrEnum):
    """What the PIN typed after a card turned out to be."""

    OK = "ok"
    DURESS = "duress"  # the duress variant: opens as OK does, and raises a silent alarm
    WRONG = "wrong"
    TIMEOUT = "timeout"  # no ``#`` (or max digits) within the time allowed
    NOT_SET = "not_set"  # the holder has no PIN on the list: a PIN door cannot open
    ABANDONED = "abandoned"  # another card came to the reader before this PIN ended


def pin_required(
    rule: str | None,
    local: datetime,
    schedules: Mapping[str, Schedule] | None,
    clock_trusted: bool = True,
) -> bool:
    """Whether a door with ``pin = rule`` asks for a PIN at ``local`` (gate's wall time).
    Fails closed: an unknown schedule or a clock not yet trusted asks for the PIN."""
    if rule is None:
        return False
    if rule == ALWAYS or not clock_trusted:
        return True
    schedule = (schedules or {}).get(rule)
    return schedule is None or schedule.allows(local)


def duress_variant(pin: str, rule: str) -> str | None:
    """The PIN that signals duress under ``rule``, or None (``off``, or not a PIN).
    ``last_digit_plus_one``: 1234 -> 1235, 1239 -> 1230: never the PIN itself."""
    if rule != "last_digit_plus_one" or not pin or not set(pin) <= DIGITS:
        return None
    variant = pin[:-1] + str((int(pin[-1]) + 1) % 10)
    assert variant != pin  # one digit changed: the rule cannot give the PIN back
    return variant


class KeyVerdict(StrEnum):
    MORE = "more"  # keep waiting
    DONE = "done"  # a PIN is complete (``#``, or max digits reached)
    NOISE = "noise"  # a key that is none of 0-9, * or #: ignored, counted


@dataclass
class PinBuffer:
    """Keys typed after one card, until ``#`` or ``max_digits``. Never printed: ``repr``
    says only how many digits it holds."""

    max_digits: int
    digits: list[str] = field(default_factory=list, repr=False)
    noise: int = 0

    def feed(self, key: str) -> KeyVerdict:
        """One key. ``*`` clears, ``#`` ends, a digit past ``max_digits`` cannot happen:
        reaching it ends the PIN."""
        if key == CLEAR:
            self.digits.clear()
            return KeyVerdict.MORE
        if key == ENTER:
            return KeyVerdict.DONE
        if key not in DIGITS:
            self.noise += 1
            return KeyVerdict.NOISE
        self.digits.append(key)
        return KeyVerdict.DONE if len(self.digits) >= self.max_digits else KeyVerdict.MORE

    def take(self) -> str:
        """The PIN typed; the buffer forgets it."""
        pin = "".join(self.digits)
        self.digits.clear()
        return pin

    def __len__(self) -> int:
        return len(self.digits)
