"""Presence on the read path: which way a reader moves a holder, and anti-passback.

The read handler asks for a verdict before deciding (``verdict``), and after a grant
stages the holder's new area in the commit of the grant's event (``moved``). Nothing
here touches the network: moves from the other gates arrive through the office link
and are merged into the same table (``agent.store.presence``) by the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from agent.core.decision import AllowEntry
from agent.core.kinds import EventType
from agent.core.occupancy import VEHICLE
from agent.core.presence import (
    NO_RULE,
    AreaRule,
    Passage,
    Passback,
    Presence,
    Verdict,
    check_passback,
    to_us,
)
from agent.models.config import GateConfig
from agent.store.presence import PresenceStore


class RecordEvent(Protocol):
    """Stages an event in the open group (``EventSink.record``)."""

    def __call__(
        self, type_: EventType, door: str | None, details: dict[str, Any], when: datetime
    ) -> int: ...


class PresenceKeeper:
    """The gate's areas and passages, and its holders' records (core loop only)."""

    def __init__(self, config: GateConfig, store: PresenceStore) -> None:
        self.store = store
        self.gate = config.gate.gate_id
        # whether this gate is cut off from the others; the office link sets it
        self.partitioned: Callable[[], bool] = lambda: False
        # whether the area a passage leads into is full for this holder (occupancy sets it)
        self.area_full: Callable[[Passage | None, AllowEntry | None], bool] = lambda p, e: False
        # whether that area is a car park (counts vehicles): its refusal is car_park_full
        self.car_park: Callable[[Passage | None], bool] = lambda p: False
        self.changes = 0  # bumped by every change of the records (own moves, merged ones)
        # told of each change (occupancy): (old, new) for one holder's move, (None, None)
        # for changes it cannot name (a merge): then it counts again
        self.listeners: list[Callable[[Presence | None, Presence | None], None]] = []
        self.passages: dict[str, Passage] = {}
        self._read: tuple[str, Presence | None] | None = None  # the verdict's last record
        self.rules: dict[str, AreaRule] = {}
        self.reconfigure(config)

    def reconfigure(self, config: GateConfig) -> None:
        self.passages = config.presence.passage_map()
        self.rules = config.presence.rules()

    def rule(self, area: str) -> AreaRule:
        return self.rules.get(area, NO_RULE)

    def verdict(
        self, reader: str, entry: AllowEntry | None, now: datetime
    ) -> tuple[Passage | None, Verdict]:
        """The passage ``reader`` makes (None: it moves nobody) and the anti-passback
        verdict for ``entry``'s holder there."""
        self._read = None
        passage = self.passages.get(reader)
        if passage is None or entry is None:
            return passage, Verdict.OK
        rule = self.rule(passage.to_area)
        if rule.passback is Passback.OFF:
            return passage, Verdict.OK
        record = self.store.get(entry.holder_id)
        self._read = (entry.holder_id, record)  # ``moved`` of this read needs it again
        return passage, check_passback(record, passage, rule, to_us(now), self.partitioned())

    def moved(self, passage: Passage, entry: AllowEntry, now: datetime, seq: int,
              group: str | None = None) -> Presence:  # fmt: skip
        """Stage the holder's move (in the open group: durable with event ``seq``);
        ``group`` counts it other than by the holder's kind (``vehicle``)."""
        record = Presence(entry.holder_id, passage.to_area, group or entry.kind.value,
                          to_us(now), self.gate, seq)  # fmt: skip
        old = None
        if self.listeners:  # the record as the verdict read it, else read now
            read, self._read = self._read, None
            holder = entry.holder_id
            old = read[1] if read and read[0] == holder else self.store.get(holder)
        if self.store.put(record):
            self.changed(old, record)
        return record

    def granted(
        self,
        record: RecordEvent,
        door: str,
        passage: Passage,
        entry: AllowEntry,
        verdict: Verdict,
        details: dict[str, Any],
        now: datetime,
        seq: int,
    ) -> None:
        """After a grant's event (``seq``) is staged: the holder's move, and the report of
        a soft area's violation (admitted, or a gate cut off from the others). A plate
        read moves the vehicle: counted as ``vehicle``, whatever its holder's kind (the
        office relays the move by the same rule, ``agent.office.db.presence``)."""
        self.moved(passage, entry, now, seq, VEHICLE if details.get("plate") is True else None)
        if verdict is Verdict.VIOLATION:
            violation = {k: details[k] for k in ("holder_id", "kind", "unit", "reader")}
            violation |= {"passage": details["passage"], "partitioned": self.partitioned()}
            record(EventType.PASSBACK_VIOLATION, door, violation, now)

    def changed(self, old: Presence | None = None, new: Presence | None = None) -> None:
        """The records changed: a holder's move from ``old`` to ``new``, or (neither
        given) changes of many holders (a merge). Occupancy counts follow."""
        self.changes += 1
        for listener in self.listeners:
            listener(old, new)
