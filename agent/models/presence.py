"""``[presence]``: the site's areas, which reader moves a holder where, anti-passback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field, StrictBool

from agent.core.presence import OUTSIDE, AreaRule, Passage, Passback
from agent.models.base import Slug, Strict

if TYPE_CHECKING:
    from agent.models.config import GateConfig


class AreaConfig(Strict):
    """One area (``compound``, ``car-park``): its anti-passback and its capacity."""

    passback: Passback = Passback.OFF
    timed_minutes: float = Field(5.0, gt=0, le=24 * 60)  # for passback = "timed"
    # cut off from the other gates, "soft" reports what it would refuse: a card used at
    # another gate meanwhile is unknown here; "as_configured" keeps refusing on what it knows
    while_partitioned: Literal["soft", "as_configured"] = "soft"
    expiry_hours: float = Field(24.0, gt=0, le=24 * 90)  # presence forgotten after this
    capacity: int | None = Field(None, ge=1)
    # "refuse_all": nobody enters while full (a car park whose spaces are all taken)
    when_full: Literal["admit", "refuse_visitors", "refuse_all"] = "admit"
    # the way out of this area is at another gate of the site (not a dead end here)
    exit_elsewhere: StrictBool = False
    # the groups the capacity counts (empty: all); a car park counts ["vehicle"]: its
    # refusals say ``car_park_full`` and its count feeds the barrier's sign
    counts: list[Literal["resident", "staff", "visitor", "contractor", "vehicle"]] = []

    @property
    def car_park(self) -> bool:
        """Its capacity counts vehicles: refusals say ``car_park_full``."""
        return "vehicle" in self.counts

    def rule(self) -> AreaRule:
        return AreaRule(
            passback=self.passback,
            timed_s=self.timed_minutes * 60,
            soft_when_partitioned=self.while_partitioned == "soft",
            expiry_s=self.expiry_hours * 3600,
        )


class PassageConfig(Strict):
    """``main-in = { from = "outside", to = "compound" }`` under ``[presence.passages]``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_area: Slug = Field(alias="from")
    to_area: Slug = Field(alias="to")


class PresenceConfig(Strict):
    """Areas and passages; empty (the default): the gate keeps no presence at all."""

    areas: dict[Slug, AreaConfig] = {}
    passages: dict[Slug, PassageConfig] = {}  # reader id -> the move it makes
    muster_readers: list[Slug] = []  # taps there during a release tick a holder off
    retention_days: int = Field(30, ge=1, le=3650)  # presence records kept this long
    # the office link down this long: this gate counts as cut off from the others
    partitioned_after_s: float = Field(60.0, gt=0, le=86_400)

    @property
    def enabled(self) -> bool:
        return bool(self.passages)

    def passage_map(self) -> dict[str, Passage]:
        return {r: Passage(r, p.from_area, p.to_area) for r, p in self.passages.items()}

    def rules(self) -> dict[str, AreaRule]:
        return {name: area.rule() for name, area in self.areas.items()}


def presence_problems(config: GateConfig) -> list[str]:
    """Config errors: unknown readers or areas, and areas a holder can enter but not leave."""
    presence = config.presence
    problems: list[str] = []
    readers = {r.id for d in config.doors for r in d.readers}
    if OUTSIDE in presence.areas:
        problems.append(f"presence.areas.{OUTSIDE}: is beyond the site's fences, not an area")
    known = set(presence.areas) | {OUTSIDE}
    for reader, passage in presence.passages.items():
        where = f"presence.passages.{reader}"
        if reader not in readers:
            problems.append(f"{where}: no reader {reader!r} on this gate")
        for key, area in (("from", passage.from_area), ("to", passage.to_area)):
            if area not in known:
                problems.append(f"{where}.{key}: {area!r} is not in presence.areas")
        if passage.from_area == passage.to_area:
            problems.append(f"{where}: from and to are the same area")
    ways_out = {p.from_area for p in presence.passages.values()}
    for area in sorted({p.to_area for p in presence.passages.values()} & set(presence.areas)):
        if area not in ways_out and not presence.areas[area].exit_elsewhere:
            problems.append(
                f"presence.areas.{area}: holders can enter it here but no reader leads out of "
                "it; add a passage from it, or exit_elsewhere = true when its way out is at "
                "another gate"
            )
    for i, reader in enumerate(presence.muster_readers):
        if reader not in readers:
            problems.append(f"presence.muster_readers.{i}: no reader {reader!r} on this gate")
    return problems
