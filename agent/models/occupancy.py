"""Presence and occupancy on the wire and at the desk: forgive a holder, correct a count,
and the occupancy a gate's status reports per area (issue 21)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictInt, StringConstraints, model_validator

from agent.models.base import Slug, Strict
from agent.models.wire import HolderId, Text

REASON_MAX = 128
COUNT_MAX = 100_000  # more people than any compound holds: a typing mistake
# who forgave: a guard's id on the console, ``office:<user>`` from the office
By = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[\x21-\x7e]+$")]
# holder kinds counted per area; a ``vehicle`` group joins them with the vehicle gates
CountKind = Literal["resident", "staff", "visitor", "contractor", "vehicle"]


def _office_by(value: str) -> str:
    if not value.startswith("office:") or len(value) <= len("office:"):
        raise ValueError("by is office:<user> for a command from the office")
    return value


class ForgiveCommand(Strict):
    """``<root>/cmd/forgive``: the office forgives a holder's anti-passback (their
    whereabouts become unknown, so their next tap anywhere is taken as it comes)."""

    request_id: str = Field(min_length=1, max_length=64)
    holder_id: HolderId
    by: Annotated[By, AfterValidator(_office_by)] = Field(description="office:<user>")
    reason: Text = Field("", description="why, kept in the passback_forgiven event")


class Forgive(Strict):
    """A forgiveness as the gate records it (console or office)."""

    holder_id: HolderId
    by: By
    reason: Text = ""


class Correction(Strict):
    """A guard's correction of an area's count of one kind: the new count or a change."""

    area: Slug
    kind: CountKind
    count: StrictInt | None = Field(None, ge=0, le=COUNT_MAX)
    delta: StrictInt | None = Field(None, ge=-COUNT_MAX, le=COUNT_MAX)
    reason: Text = ""

    @model_validator(mode="after")
    def _one_of(self) -> Correction:
        if (self.count is None) == (self.delta is None):
            raise ValueError("give the new count or a change (one of them)")
        if self.delta == 0:
            raise ValueError("a change of 0 changes nothing")
        return self


class AreaOccupancy(Strict):
    """One area in a gate's status: who is inside by kind, its capacity and whether it is
    full (corrections included)."""

    counts: dict[str, int] = Field(description="holders inside by kind")
    total: int
    capacity: int | None = None
    full: bool = False
    refuses_visitors: bool = Field(False, description="full, and when_full = refuse_visitors")
    refuses_all: bool = Field(False, description="full, and when_full = refuse_all")
    car_park: bool = Field(False, description="its capacity counts vehicles (car_park_full)")
