"""Payloads that cross a boundary: allow-list rows, import rows, events."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StringConstraints,
    model_validator,
)

from agent.core.kinds import EventType, HolderKind
from agent.core.secure import CredentialPolicy
from agent.models.base import Slug, Strict
from agent.models.pin import PIN_HASH_PATTERN

Credential = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    # these end up printed on a guard's or installer's terminal: no escape sequences
    # (a regex, not a loop over characters: it runs for every field of a million rows;
    # and only for text str.isprintable refuses: a control character never is printable)
    if not value.isprintable() and _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


HolderId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    AfterValidator(_printable),
]
Text = Annotated[str, StringConstraints(max_length=128), AfterValidator(_printable)]


def _split_doors(value: Any) -> Any:
    """CSV writes doors as ``main;side``; empty or ``*`` means every door."""
    if value is None or value == "" or value == "*":
        return None
    if isinstance(value, str):
        return [d.strip() for d in value.replace(",", ";").split(";") if d.strip()]
    return value


def _blank_none(value: Any) -> Any:
    return None if value == "" else value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("", "0", "false", "no", "n"):
            return False
        if lowered in ("1", "true", "yes", "y"):
            return True
    return value


Doors = Annotated[list[Slug] | None, BeforeValidator(_split_doors)]
OptionalText = Annotated[Text | None, BeforeValidator(_blank_none)]
Flag = Annotated[bool, BeforeValidator(_flag)]
When = Annotated[AwareDatetime | date | None, BeforeValidator(_blank_none)]


class EntryFields(Strict):
    """What every allow-list row carries besides the credential."""

    holder_id: HolderId
    kind: HolderKind = HolderKind.RESIDENT
    unit: OptionalText = None
    doors: Doors = None
    valid_from: When = None
    valid_until: When = None
    schedule: Annotated[Slug | None, BeforeValidator(_blank_none)] = None
    suspended: Flag = False
    lockdown_override: Flag = False
    # secure cards (issue 20): plain, secure_preferred or secure; a door's may be stricter
    credential_policy: Annotated[
        CredentialPolicy, BeforeValidator(lambda v: "plain" if v in ("", None) else v)
    ] = CredentialPolicy.PLAIN
    # card plus PIN (issue 21): the holder's salted PIN hash, made at the office; never a PIN
    pin_hash: Annotated[
        str | None, StringConstraints(pattern=PIN_HASH_PATTERN), BeforeValidator(_blank_none)
    ] = None

    @model_validator(mode="after")
    def _ordered(self) -> EntryFields:
        _check_order(self)
        return self


def _check_order(fields: EntryFields) -> None:
    if fields.valid_from is None or fields.valid_until is None:
        return
    if not dates_in_order(fields.valid_from, fields.valid_until):
        raise ValueError("valid_until must be after valid_from")


def dates_in_order(valid_from: datetime | date, valid_until: datetime | date) -> bool:
    """Whether a holder's window ends after it starts (days read in UTC here)."""
    start = _as_instant(valid_from, UTC, end=False)
    return _as_instant(valid_until, UTC, end=True) > start


class ImportRow(EntryFields):
    """A row of an office file: a raw card number (hashed on import) or a credential."""

    card: OptionalText = None
    credential: Annotated[Credential | None, BeforeValidator(_blank_none)] = None
    plate: OptionalText = None  # a vehicle's licence plate (issue 22), hashed like a card

    # EntryFields' ``_ordered`` replaced by one that also checks the identifier: one
    # Python call a row instead of two (an import validates a million), same order
    @model_validator(mode="after")
    def _ordered(self) -> ImportRow:
        _check_order(self)
        if (self.card is None) + (self.credential is None) + (self.plate is None) != 2:
            raise ValueError("give exactly one of card, plate or credential")
        return self


class AllowListEntry(EntryFields):
    """A row as the gate stores it and the office sends it: hashed, never raw."""

    credential: Credential
    masked: str = Field("", max_length=32)


def _as_instant(value: datetime | date, zone: Any, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=zone)


def bounds_utc(entry: EntryFields, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """Dates are local days: valid_from a day = its start, valid_until a day = through its end."""
    return window_utc(entry.valid_from, entry.valid_until, zone)


def window_utc(
    valid_from: datetime | date | None, valid_until: datetime | date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """``bounds_utc`` of the two values themselves."""
    start = _as_instant(valid_from, zone, end=False) if valid_from else None
    stop = _as_instant(valid_until, zone, end=True) if valid_until else None
    return (
        start.astimezone(UTC) if start else None,
        stop.astimezone(UTC) if stop else None,
    )


class Event(Strict):
    """One entry of the gate's event log, as stored and as uploaded."""

    id: str = Field(description="globally unique; the office de-duplicates on it")
    seq: int = Field(ge=1, le=2**63 - 1, description="per-gate, strictly increasing, never reused")
    time: datetime
    site: Slug
    gate: Slug
    type: EventType
    severity: Literal["info", "alarm"]
    door: str | None = None
    details: dict[str, Any] = {}
