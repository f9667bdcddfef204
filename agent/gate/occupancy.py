"""Occupancy, forgiveness and presence retention on the core loop (issue 21).

Counts per area and holder kind are derived from the presence records and the guards'
corrections (``agent.store.occupancy``), so they survive a restart. A tap never counts:
the counts are kept in memory, moved by one for each holder's move (the presence
keeper tells us old and new), and counted again from the tables when many records
changed at once (a merge from the other gates), after a correction, and every
``FULL_RECOUNT_S``. Every ``RECOUNT_S`` the records that expired since leave the counts
(an index range of those records only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from agent.core.clock import Clock
from agent.core.decision import AllowEntry
from agent.core.kinds import EventType
from agent.core.loop import CoreLoop
from agent.core.occupancy import KINDS, VEHICLE, AreaCount, AreaLimit, change_for, refuses, tally
from agent.core.presence import OUTSIDE, US, Passage, Presence, to_us
from agent.errors import Rejected
from agent.gate.journal import Journal
from agent.gate.presence import PresenceKeeper
from agent.models.config import GateConfig
from agent.models.occupancy import AreaOccupancy, Correction, Forgive
from agent.models.presence import AreaConfig
from agent.models.problems import error_list
from agent.store.occupancy import OccupancyStore

RECOUNT_S = 30.0  # expired records leave the counts at least this often
FULL_RECOUNT_S = 3600.0  # and everything is counted again from the tables this often
MERGED_RECOUNT_S = 1.0  # merges coming fast are counted together, at most once a second


def _one_line(exc: ValidationError, what: str) -> Rejected:
    path, why = error_list(exc)[0]
    where = "" if path == "(top level)" else f"{path}: "
    return Rejected(f"{what}: {where}{why}"[:200])


class OccupancyDesk:
    """Counts, capacity, corrections, forgiveness and presence retention; core loop only.
    Installs itself as the presence keeper's ``area_full`` and change listener."""

    def __init__(self, config: GateConfig, *, clock: Clock, loop: CoreLoop, journal: Journal,
                 keeper: PresenceKeeper, reader_door: Mapping[str, str]) -> None:  # fmt: skip
        self._clock = clock
        self._reader_door = reader_door
        self._loop = loop
        self._journal = journal
        self._keeper = keeper
        self._store = OccupancyStore(keeper.store.conn)
        self._gate = config.gate.gate_id
        self._areas: Mapping[str, AreaConfig] = {}
        self._seen: dict[str, dict[str, int]] = {}  # area -> kind -> holders (no corrections)
        self._fixed: dict[str, dict[str, int]] = {}  # area -> kind -> summed corrections
        self._bound: dict[str, int] = {}  # area -> the oldest at_us the counts hold
        self._full_at = float("-inf")  # the last full count (monotonic)
        self._counted_at = float("-inf")
        self._recount_due = False
        self._retention_days = 30
        self.listeners: list[Callable[[], None]] = []  # told when counts move (the signs)
        keeper.area_full, keeper.car_park = self.refuses, self.car_park
        keeper.listeners.append(self._moved)
        self.reconfigure(config)
        loop.call_later(RECOUNT_S, self._tick)

    def reconfigure(self, config: GateConfig) -> None:
        self._areas = dict(config.presence.areas)
        self._retention_days = config.presence.retention_days
        self.recount()

    # -- counting ---------------------------------------------------------------------
    def recount(self) -> None:
        """Count every area again from the tables (an index range per area)."""
        now_us = to_us(self._clock.now())
        self._seen, self._fixed, self._bound = {}, {}, {}
        for area in self._areas:
            since = self._since(area, now_us)
            groups = self._groups(area)
            self._seen[area] = dict(tally(self._store.seen(area, since), (), groups))
            self._fixed[area] = dict(self._store.corrections(area, since))
            self._bound[area] = since
        self._counted_at = self._full_at = self._clock.monotonic()
        self._recount_due = False
        self._tell()

    def _groups(self, area: str) -> tuple[str, ...]:
        # vehicles are a group of their own, kept apart from people (a plate read's move):
        # shown at 0 where the capacity counts them, elsewhere once one is in
        config = self._areas.get(area)
        return (*KINDS, VEHICLE) if config is not None and config.car_park else KINDS

    def _tell(self) -> None:
        for listener in self.listeners:
            listener()

    def expire(self) -> None:
        """Take out of the counts the records that expired since the last count: an index
        range of those only (the moves of the last ``RECOUNT_S``), not every record."""
        now_us = to_us(self._clock.now())
        for area in self._areas:
            since, bound = self._since(area, now_us), self._bound.get(area)
            if bound is None or since <= bound:
                continue
            kinds = self._seen.setdefault(area, {})
            for kind, n in self._store.seen(area, bound, since):
                key = kind if kind in kinds or kind == VEHICLE else "other"
                kinds[key] = max(kinds.get(key, 0) - n, 0)
            self._fixed[area] = dict(self._store.corrections(area, since))
            self._bound[area] = since

    def _since(self, area: str, now_us: int) -> int:
        # a record counts while now - at_us < expiry (as ``AreaRule.current`` says)
        return now_us - int(self._areas[area].expiry_hours * 3600 * US) + 1

    def _tick(self) -> None:
        if self._clock.monotonic() - self._full_at >= FULL_RECOUNT_S:
            self.recount()  # whatever drifted (a commit that failed after a move) is put right
        else:
            self.expire()
        self._loop.call_later(RECOUNT_S, self._tick)

    def _moved(self, old: Presence | None, new: Presence | None) -> None:
        if new is None:  # many records changed: count again soon (once for a burst)
            if not self._recount_due:
                self._recount_due = True
                wait = self._counted_at + MERGED_RECOUNT_S - self._clock.monotonic()
                self._loop.call_later(max(wait, 0.0), self.recount)
            return
        now_us = to_us(self._clock.now())
        if old is not None and self._counts_now(old, now_us):
            self._add(old, -1)
        if self._counts_now(new, now_us):
            self._add(new, 1)
        self._tell()

    def _counts_now(self, record: Presence, now_us: int) -> bool:
        area = record.area
        if area is None or area == OUTSIDE or area not in self._areas:
            return False
        # the counts hold the records at or after the bound of the last count
        return record.at_us >= self._bound.get(area, self._since(area, now_us))

    def _add(self, record: Presence, n: int) -> None:
        assert record.area is not None
        kinds = self._seen.setdefault(record.area, {})
        kind = record.kind if record.kind in kinds or record.kind == VEHICLE else "other"
        kinds[kind] = max(kinds.get(kind, 0) + n, 0)

    def count(self, area: str) -> AreaCount | None:
        """``area``'s count as kept in memory (None: no such area)."""
        config = self._areas.get(area)
        if config is None:
            return None
        limit = AreaLimit(config.capacity, config.when_full == "refuse_visitors",
                          config.when_full == "refuse_all", tuple(config.counts))  # fmt: skip
        fixed = self._fixed.get(area, {})
        seen = self._seen.get(area, {}).items()
        return AreaCount(area, tally(seen, fixed.items(), self._groups(area)), limit)

    def refuses(self, passage: Passage | None, entry: AllowEntry | None) -> bool:
        """Whether ``entry``'s holder is refused at ``passage`` because its area is full
        (the read path asks this: a dictionary lookup, no counting)."""
        config = self._areas.get(passage.to_area) if passage and entry else None
        if config is None or config.when_full == "admit" or config.capacity is None:
            return False  # most reads: no counting at all
        assert passage is not None and entry is not None
        return refuses(self.count(passage.to_area), entry.kind.value)

    def car_park(self, passage: Passage | None) -> bool:
        """Whether ``passage`` leads into an area whose capacity counts vehicles."""
        config = self._areas.get(passage.to_area) if passage is not None else None
        return config is not None and config.car_park

    def free_spaces(self, door: str) -> int | None:
        """The sign's ``CapacitySource``: free spaces in the car park a way in through
        ``door`` leads to (None: none does, or it has no capacity). From memory only."""
        for reader, p in self._keeper.passages.items():
            way_in = self._reader_door.get(reader) == door and p.from_area == OUTSIDE
            if way_in and self.car_park(p) and (c := self.count(p.to_area)) is not None:
                return c.free
        return None

    def refuses_pass(self, door: str, reader: str | None) -> bool:
        """Whether a visitor pass is refused at ``door`` (scanned at ``reader``, or typed
        by a guard): the area its reader, or any way in through that door, leads to is full."""
        passages = self._keeper.passages
        if reader is not None and reader in passages:
            chosen = [passages[reader]]
        else:  # typed by a guard, or a scanner that moves nobody: the door's ways in
            chosen = [p for r, p in passages.items() if self._reader_door.get(r) == door
                      and p.from_area == OUTSIDE]  # fmt: skip
        return any(refuses(self.count(p.to_area), "visitor") for p in chosen)

    def summary(self) -> dict[str, AreaOccupancy]:
        """Every area's occupancy for the gate's status."""
        out = {}
        for area in self._areas:
            c = self.count(area)
            assert c is not None
            out[area] = AreaOccupancy(counts=dict(c.by_kind), total=c.total,
                                      capacity=c.limit.capacity, full=c.full,
                                      refuses_visitors=c.refuses_visitors,
                                      refuses_all=c.full and c.limit.refuse_all,
                                      car_park=VEHICLE in c.limit.counts)  # fmt: skip
        return out

    # -- guards and the office ---------------------------------------------------------
    def correct(self, by: str, area: str, kind: str, count: int | None = None,
                delta: int | None = None, reason: str = "") -> dict[str, Any]:  # fmt: skip
        """A guard's correction of ``area``'s count of ``kind`` (the new count or a
        change), recorded as ``occupancy_corrected``; Rejected (one line) if it does not fit."""
        try:
            form = Correction.model_validate(
                {"area": area, "kind": kind, "count": count, "delta": delta, "reason": reason}
            )
        except ValidationError as exc:
            raise _one_line(exc, "correction") from None
        if form.area not in self._areas:
            known = ", ".join(self._areas) or "none configured"
            raise Rejected(f"correction: no area {form.area!r} (areas: {known})")
        self.recount()  # correct what is true now, expired records gone
        current = self.count(form.area)
        assert current is not None
        was = current.by_kind.get(form.kind, 0)
        try:
            change = change_for(was, form.count, form.delta)
        except ValueError as exc:
            raise Rejected(f"correction: {exc}") from None
        if change == 0:
            raise Rejected(f"correction: the count of {form.kind} in {form.area} is {was} already")
        now = self._clock.now()
        details = {"area": form.area, "kind": form.kind, "was": was, "count": was + change,
                   "delta": change, "by": by, "reason": form.reason}  # fmt: skip
        with self._journal.group():
            seq = self._journal.record(EventType.OCCUPANCY_CORRECTED, None, details, now)
            self._store.add(form.area, form.kind, change, to_us(now), seq)
        self.recount()
        return {**details, "seq": seq}

    def forgive(self, holder_id: str, by: str, reason: str = "",
                request_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Forget where ``holder_id`` is (their next tap is taken as it comes), recorded
        as ``passback_forgiven``; the record (area None) is stamped with that event so the
        office relays it like a move. A holder this gate never saw is forgiven all the same."""
        try:
            form = Forgive(holder_id=holder_id, by=by, reason=reason)
        except ValidationError as exc:
            raise _one_line(exc, "forgive") from None
        now = self._clock.now()
        store = self._keeper.store
        with self._journal.group():
            old = store.get(form.holder_id)
            details: dict[str, Any] = {"holder_id": form.holder_id, "by": form.by,
                                       "reason": form.reason,
                                       "was": old.area if old is not None else None}  # fmt: skip
            if request_id is not None:
                details["request_id"] = request_id
            seq = self._journal.record(EventType.PASSBACK_FORGIVEN, None, details, now)
            record = Presence(form.holder_id, None, None, to_us(now), self._gate, seq)
            if store.put(record):
                self._keeper.changed(old, record)
        return {**details, "seq": seq}

    # -- retention ---------------------------------------------------------------------
    def forget_old(self) -> int:
        """Drop presence records and corrections older than ``retention_days``."""
        cutoff = to_us(self._clock.now() - timedelta(days=self._retention_days))
        with self._journal.group():
            dropped = self._keeper.store.forget_before(cutoff)
            self._store.forget_before(cutoff)
        if dropped:
            self.recount()
        return dropped


class PresenceMethods:
    """``GatePort``'s presence methods, for the App: each runs on the core loop."""

    loop: CoreLoop
    occupancy: OccupancyDesk

    def forgive_holder(self, holder_id: str, by: str, reason: str = "",
                       request_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        return self.loop.run_sync(self.occupancy.forgive, holder_id, by, reason, request_id)

    def correct_occupancy(self, by: str, area: str, kind: str, count: int | None = None,
                          delta: int | None = None, reason: str = "",
                          ) -> dict[str, Any]:  # fmt: skip
        return self.loop.run_sync(self.occupancy.correct, by, area, kind, count, delta, reason)

    def occupancy_now(self) -> dict[str, AreaOccupancy]:
        return self.loop.run_sync(self.occupancy.summary)
