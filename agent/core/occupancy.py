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
# vehicles (issue 22): a move made by a plate read is the vehicle's, counted as its own
# group beside the people; an area counts it when its capacity counts vehicles
VEHICLE = "vehicle"
OTHER = "other"  # a record whose kind is none of these (not expected): still counted


@dataclass(frozen=True, slots=True)
class AreaLimit:
    """What an area's capacity does; ``capacity`` None: never full."""

    capacity: int | None = None
    refuse_visitors: bool = False
    refuse_all: bool = False  # when full, nobody enters (``when_full = "refuse_all"``)
    counts: tuple[str, ...] = ()  # the groups the capacity counts; empty: every group


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
    def counted(self) -> int:
        """What the capacity is held against: the groups it counts (all by default)."""
        if not self.limit.counts:
            return self.total
        return sum(self.by_kind.get(g, 0) for g in self.limit.counts)

    @property
    def full(self) -> bool:
        return self.limit.capacity is not None and self.counted >= self.limit.capacity

    @property
    def free(self) -> int | None:
        """Places left (0 when full or over); None: no capacity."""
        if self.limit.capacity is None:
            return None
        return max(self.limit.capacity - self.counted, 0)

    @property
    def refuses_visitors(self) -> bool:
        return self.full and (self.limit.refuse_visitors or self.limit.refuse_all)


def tally(
    seen: Iterable[tuple[str | None, int]],
    corrections: Iterable[tuple[str, int]],
    groups: tuple[str, ...] = KINDS,
) -> dict[str, int]:
    """Counts by kind from (kind, holders) rows and (kind, delta) corrections, each kind
    at 0 or more; every counted kind (of ``groups``) appears, with 0 when nobody is in."""
    counts = dict.fromkeys(groups, 0)
    for kind, n in seen:
        key = kind if kind in counts or kind == VEHICLE else OTHER
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
    when it is full and the area says so; visitors only (residents, staff and
    contractors pass) unless the area refuses all."""
    if count is None or not count.full:
        return False
    return count.limit.refuse_all or (kind == "visitor" and count.limit.refuse_visitors)
