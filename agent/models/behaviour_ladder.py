"""``[workplace.behaviour]``: the escalation ladder of abnormal behaviour cases, and the pure
rule that suggests the next rung for a resident.

The ladder is the order of the measures the office takes against one resident (by default
dissuasion, verbal warning, written warning, report to the police). The measures already
taken within ``window_months`` count; a serious kind of behaviour (by default violence and
deliberate damage) goes to the police directly. The office only suggests: staff decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field, field_validator

from agent.models.base import Strict

Rung = Literal["dissuasion", "verbal_warning", "written_warning", "police"]
BehaviourKind = Literal["noise", "nuisance", "harassment", "violence", "damage", "other"]
POLICE: Rung = "police"
RUNGS: tuple[Rung, ...] = ("dissuasion", "verbal_warning", "written_warning", "police")
KINDS: tuple[BehaviourKind, ...] = (
    "noise",
    "nuisance",
    "harassment",
    "violence",
    "damage",
    "other",
)


class BehaviourConfig(Strict):
    """The ladder, how long a measure counts, the serious kinds and the police report's window."""

    ladder: list[Rung] = Field(
        default=list(RUNGS), description="the measures in order; the police last"
    )
    window_months: int = Field(
        12, ge=1, le=120, description="measures older than this no longer count"
    )
    serious: list[BehaviourKind] = Field(
        default=["violence", "damage"], description="kinds reported to the police directly"
    )
    event_window_hours: int = Field(
        2, ge=0, le=48, description="gate events this long before and after the incident"
    )

    @field_validator("ladder")
    @classmethod
    def _ladder(cls, ladder: list[Rung]) -> list[Rung]:
        if len(set(ladder)) != len(ladder):
            raise ValueError("a rung appears twice in the ladder")
        if not ladder or ladder[-1] != POLICE:
            raise ValueError("the ladder ends with police")
        return ladder


def counted(
    measures: Iterable[tuple[datetime, str]], now: datetime, window_months: int
) -> list[str]:
    """The rungs of the measures taken within the window before ``now`` (a month: 30 days)."""
    since = now - timedelta(days=30 * window_months)
    return [rung for at, rung in measures if since <= at <= now]


def suggest(ladder: list[Rung], taken: Iterable[str], serious: bool) -> Rung | None:
    """The next rung for a resident: the one above the highest rung taken (the first when none
    was), the police for a serious kind; None once the police were told."""
    rank = {rung: i for i, rung in enumerate(ladder)}
    highest = max((rank[r] for r in taken if r in rank), default=-1)
    if highest == len(ladder) - 1:
        return None
    if serious:
        return POLICE
    return ladder[highest + 1]
