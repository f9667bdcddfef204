"""Occupancy: how many holders of each kind are inside each area, and when it is full.

Pure: no I/O. Counts come from the presence records (holders last seen inside, not
expired) plus guards' corrections. A correction stands for people the gate did not see
go in or out (a tailgater, a crowd let through by hand): it is a change of the count
that ages out with the area's presence expiry, as the records of carded holders do, so
a correction made for last night does not skew next week's count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# the kinds counted; the vehicle gates (a later issue) add a ``vehicle`` group here
KINDS = ("resident", "staff", "visitor", "contractor")
OTHER = "other"  # a record whose kind is none of these (not expected): still counted


@dataclass(frozen=True, slots=True)
class AreaLimit:
    """What an area's capacity does; ``capacity`` None: never full."""

    capacity: int | None = None
    refuse_visitors: bool = False


@dataclass(frozen=True, slots=True)
class AreaCount:
    """One area's count by kind, corrections applied (never below 0)."""

    area: str
    by_kind: Mapping[str, int] = field(default_factory=dict)
    limit: AreaLimit = AreaLimit()

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    @property
    def full(self) -> bool:
        return self.limit.capacity is not None and self.total >= self.limit.capacity

    @property
    def refuses_visitors(self) -> bool:
        return self.full and self.limit.refuse_visitors


def tally(
    seen: Iterable[tuple[str | None, int]], corrections: Iterable[tuple[str, int]]
) -> dict[str, int]:
    """Counts by kind from (kind, holders) rows and (kind, delta) corrections, each kind
    at 0 or more; every counted kind appears, with 0 when nobody is in."""
    counts = dict.fromkeys(KINDS, 0)
    for kind, n in seen:
        key = kind if kind in counts else OTHER
        counts[key] = counts.get(key, 0) + n
    for kind, delta in corrections:
        counts[kind] = counts.get(kind, 0) + delta
    return {k: max(v, 0) for k, v in counts.items()}


def change_for(current: int, count: int | None, delta: int | None) -> int:
    """The delta that a correction to ``count`` (or by ``delta``) records; ValueError if it
    would leave the count below 0."""
    change = (count - current) if count is not None else (delta or 0)
    if current + change < 0:
        raise ValueError(f"the count would be {current + change}: it cannot go below 0")
    return change


def refuses(count: AreaCount | None, kind: str) -> bool:
    """Whether a holder of ``kind`` is refused entry into the area of ``count``: only
    visitors (residents, staff and contractors always pass), only when it is full and
    the area says so."""
    return count is not None and kind == "visitor" and count.refuses_visitors
