"""Visitor passes: what the office signs, and the office's message that revokes or delivers them.

A pass names no person: a unit, a window, doors and a number of uses. Its wire form
(the text in the QR code) is built in ``agent.models.pass_codec``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from agent.models.base import Slug, Strict
from agent.models.wire import Text

MAX_USES = 1000
MAX_DOORS = 16
MAX_CODE_CHARS = 600  # a pass code is about 210 characters; anything longer is not one
# A pass is valid for at most this long after it was issued, so a gate can keep a
# revocation whose pass it never saw for this long and be sure it outlives the pass.
MAX_LIFETIME = timedelta(days=366)
LATEST = datetime(2105, 12, 31, tzinfo=UTC)  # times travel as unsigned 32-bit seconds

PassId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
Label = Annotated[Text, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS)]


class VisitorPass(Strict):
    """A pass as the office issues it; the office's Ed25519 signature makes it valid."""

    id: PassId = Field(description="16 hex digits, random; events name the pass by it")
    site: Slug
    gate: Slug | None = Field(None, description="null: any gate of the site")
    unit: Label = Field(description="the unit the visitor comes to")
    valid_from: AwareDatetime
    valid_until: AwareDatetime = Field(description="the first moment it is no longer valid")
    doors: list[Slug] | None = Field(
        None, min_length=1, max_length=MAX_DOORS, description="null: every door"
    )
    uses: int = Field(1, ge=1, le=MAX_USES, description="openings allowed, counted per gate")
    issued_at: AwareDatetime
    issued_by: Label = Field(description="who issued it: an office user or a resident's id")

    @field_validator("valid_from", "valid_until", "issued_at")
    @classmethod
    def _whole_utc_seconds(cls, value: datetime) -> datetime:
        # the wire form carries whole seconds since 1970: what is signed is what is read
        value = value.astimezone(UTC)
        if value.microsecond:
            raise ValueError("whole seconds only")
        if not datetime(1970, 1, 1, tzinfo=UTC) <= value <= LATEST:
            raise ValueError(f"must be between 1970 and {LATEST.year}")
        return value

    @field_validator("doors")
    @classmethod
    def _distinct(cls, value: list[Slug] | None) -> list[Slug] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("a door is listed twice")
        return value

    @model_validator(mode="after")
    def _window(self) -> VisitorPass:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.valid_until - self.issued_at > MAX_LIFETIME:
            raise ValueError(f"a pass ends at most {MAX_LIFETIME.days} days after it is issued")
        return self


class RevokedPass(Strict):
    """One pass to refuse from now on; ``until`` (its end, when the office knows it) says
    how long the gate must remember that."""

    id: PassId
    until: AwareDatetime | None = None


class PassPlate(Strict):
    """A delivered pass's car plate, as the site key's HMAC (what the gate computes from a
    camera's read) and its mask; the plate itself never travels."""

    pass_id: PassId
    plate: str = Field(pattern=r"^[0-9a-f]{64}$", description="HMAC of plate:<plate>")
    masked: str = Field(min_length=1, max_length=32)


class PassUpdate(Strict):
    """``<root>/cmd/pass``: revoke passes, and deliver passes ahead so their short codes work."""

    request_id: str = Field(min_length=1, max_length=64)
    revoke: list[RevokedPass] = Field([], max_length=MAX_USES)
    deliver: list[Code] = Field([], max_length=MAX_USES, description="pass codes (GP1....)")
    plates: list[PassPlate] = Field([], max_length=MAX_USES, description="delivered passes' cars")

    @model_validator(mode="after")
    def _something(self) -> PassUpdate:
        if not self.revoke and not self.deliver:
            raise ValueError("give passes to revoke or to deliver")
        return self
