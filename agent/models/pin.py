"""``[pin]``: card plus PIN (issue 21). Which doors ask for a PIN is each door's ``pin``
(``"always"``, a schedule's name: while that schedule's window is on, or absent: never);
this table says how a PIN is typed, how many wrong ones lock a card, and the duress rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from agent.core.pin import ALWAYS
from agent.models.base import Strict

# an allow-list row's ``pin_hash`` (agent.store.pins writes it): checked on import and
# on the wire, so a damaged one is refused with its line rather than failing at the door
PIN_HASH_PATTERN = (
    r"^scrypt\$[0-9]{1,2}\$[0-9]{1,2}\$[0-9]\$[A-Za-z0-9+/=]{16,64}\$[A-Za-z0-9+/=]{40,90}$"
)

if TYPE_CHECKING:
    from agent.models.config import GateConfig


class PinConfig(Strict):
    """How a PIN is entered and checked at every PIN door of the gate."""

    timeout_s: float = Field(10.0, gt=0, le=120)  # card shown, then this long for the PIN
    min_digits: int = Field(4, ge=4, le=12)  # fewer before ``#``: a wrong PIN
    max_digits: int = Field(8, ge=4, le=12)  # reaching it ends the PIN without ``#``
    attempts: int = Field(3, ge=1, le=20)  # wrong PINs in a row that lock the card
    lockout_s: float = Field(300.0, gt=0, le=86_400)
    # off, or last_digit_plus_one: the PIN with its last digit one higher (9 becomes 0)
    duress: Literal["off", "last_digit_plus_one"] = "off"

    @model_validator(mode="after")
    def _digits_ordered(self) -> PinConfig:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is above max_digits")
        return self


def pin_problems(config: GateConfig) -> list[str]:
    """Config errors: a door's ``pin`` that names no schedule."""
    return [
        f"doors.{i}.pin: {door.pin!r} is neither {ALWAYS!r} nor a schedule of [schedules]"
        for i, door in enumerate(config.doors)
        if door.pin is not None and door.pin != ALWAYS and door.pin not in config.schedules
    ]


# reader drivers that deliver keys from a keypad (a Wiegand one unless ``keypad = false``)
KEYPAD_DRIVERS = frozenset({"osdp", "wiegand", "sim"})


def pin_warnings(config: GateConfig) -> list[tuple[str, str]]:
    """check-config warnings: a PIN door's reader that cannot deliver keys."""
    found = []
    for i, door in enumerate(config.doors):
        if door.pin is None:
            continue
        for j, reader in enumerate(door.readers):
            keys = reader.driver in KEYPAD_DRIVERS and reader.options.get("keypad", True)
            if not keys:
                found.append((
                    f"doors.{i}.readers.{j}",
                    f'the "{reader.driver}" reader has no keypad, but door {door.id!r} has '
                    f"pin = {door.pin!r}: its cards are refused (pin_timeout) while a PIN is asked",
                ))  # fmt: skip
    return found
