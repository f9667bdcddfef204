"""Who is where: a holder's last known area, how records merge, and anti-passback.

Pure: no I/O. A record says a holder moved into an area at a gate's time, stamped with
the gate's id and the seq of the event that moved them. Records from every gate of a
site merge by last-writer-wins on that stamp, so each gate ends with the same record
per holder whatever order the office relays them in (the stamp is a total order: two
gates never share a gate id, one gate never reuses a seq).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

OUTSIDE = "outside"  # every site's implicit area: beyond its fences
US = 1_000_000  # microseconds per second: record times are whole microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(when: datetime) -> int:
    """An aware time as whole microseconds since the epoch: exact, unlike a float, so
    the gate that made a move and the office that relays it stamp it alike."""
    return (when - _EPOCH) // timedelta(microseconds=1)


class Passback(StrEnum):
    """What an area does with a card that is not where its reader takes people from."""

    OFF = "off"
    SOFT = "soft"  # admit, and raise ``passback_violation``
    HARD = "hard"  # deny with reason ``passback``
    TIMED = "timed"  # the same card may not enter this area again within N minutes


class Verdict(StrEnum):
    OK = "ok"
    VIOLATION = "violation"  # admitted, reported
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Presence:
    """A holder's last move: into ``area`` (None: forgiven, whereabouts unknown)."""

    holder_id: str
    area: str | None
    kind: str | None  # the holder's kind, for occupancy by kind
    at_us: int  # the moving event's time, microseconds since the epoch (UTC)
    gate: str
    seq: int

    @property
    def stamp(self) -> tuple[int, str, int]:
        return (self.at_us, self.gate, self.seq)


def wins(new: Presence, old: Presence | None) -> bool:
    """Whether ``new`` replaces ``old``: later gate time, then gate id, then seq."""
    return old is None or new.stamp > old.stamp


@dataclass(frozen=True, slots=True)
class Passage:
    """A reader that moves a holder from one area to another."""

    reader: str
    from_area: str
    to_area: str


@dataclass(frozen=True, slots=True)
class AreaRule:
    """An area's anti-passback as the check needs it."""

    passback: Passback = Passback.OFF
    timed_s: float = 300.0
    soft_when_partitioned: bool = True
    expiry_s: float = 24 * 3600.0

    def current(self, record: Presence | None, now_us: int) -> Presence | None:
        """``record`` while it still counts; None once it expired or was forgiven."""
        if record is None or record.area is None:
            return None
        return record if now_us - record.at_us < self.expiry_s * US else None


NO_RULE = AreaRule()


def check_passback(
    record: Presence | None,
    passage: Passage,
    rule: AreaRule,
    now_us: int,
    partitioned: bool = False,
) -> Verdict:
    """The verdict for a holder with ``record`` at a reader of ``passage``. ``rule`` is
    the rule of the area the reader leads into: an exit into ``outside`` (which has no
    rule) is never refused. A gate cut off from the others decides on what it knows and,
    unless the area says otherwise, only reports what it would have refused."""
    if rule.passback is Passback.OFF:
        return Verdict.OK
    last = rule.current(record, now_us)
    if last is None:
        return Verdict.OK  # never seen, forgiven or expired: nothing to hold against them
    if rule.passback is Passback.TIMED:
        violated = last.area == passage.to_area and now_us - last.at_us < rule.timed_s * US
    else:
        violated = last.area != passage.from_area
    if not violated:
        return Verdict.OK
    if rule.passback is Passback.SOFT or (partitioned and rule.soft_when_partitioned):
        return Verdict.VIOLATION
    return Verdict.DENY


def inside(records: list[Presence], rules: dict[str, AreaRule], now_us: int) -> list[Presence]:
    """The records of holders last seen inside an area (not outside, not expired)."""
    return [
        r
        for r in records
        if r.area is not None
        and r.area != OUTSIDE
        and rules.get(r.area, NO_RULE).current(r, now_us) is not None
    ]
