"""From a gate's ``events`` message to rows the office store takes, checked once.

A backlog message (``{"events": [...]}``) is validated in one pass by pydantic's JSON
parser; only a message that fails is taken apart, so one bad event costs the office that
event and not its neighbours (the gate gets no receipt for it and the log says why).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agent.models.delivery import EventBatch
from agent.models.jsonin import loads_bounded
from agent.models.wire import Event
from agent.office.db.base import EventRow, as_utc
from agent.office.db.events import clean_text, details_json

log = logging.getLogger(__name__)

MAX_DEPTH = 16  # how deep an event's JSON may nest on the slow path


@dataclass
class Batch:
    """Checked events waiting to be stored together, and their seqs per gate."""

    rows: list[EventRow] = field(default_factory=list)
    by_gate: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    statuses: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # newest
    first_at: float | None = None  # monotonic time its first message was read

    def __bool__(self) -> bool:
        return bool(self.rows or self.statuses)

    def add(self, site: str, gate: str, rows: Sequence[EventRow]) -> None:
        if rows:
            self.rows.extend(rows)
            self.by_gate.setdefault((site, gate), []).extend(row.seq for row in rows)


def seq_ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """[3, 1, 2, 7, 8] -> [(1, 3), (7, 8)]."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def row_of(event: Event) -> EventRow:
    """A validated event as a store row (text both backends can hold)."""
    return EventRow(
        id=clean_text(event.id),
        site=event.site,
        gate=event.gate,
        seq=event.seq,
        time=as_utc(event.time),
        type=event.type.value,
        severity=event.severity,
        door=clean_text(event.door) if event.door is not None else None,
        details_json=details_json(event.details),
    )


def events_of(site: str, gate: str, payload: bytes) -> list[EventRow]:
    """The events of one message from ``site``/``gate``, each checked; bad ones left out."""
    try:
        events = EventBatch.model_validate_json(payload).events
    except ValidationError:
        try:
            events = [Event.model_validate_json(payload)]
        except ValidationError:
            events = _one_by_one(site, gate, payload)
    rows = []
    for event in events:
        if (event.site, event.gate) != (site, gate):
            # a gate account may only speak for itself (the broker's ACL says so too)
            log.warning("office: %s/%s published an event of %s/%s", site, gate,
                        event.site, event.gate)  # fmt: skip
            continue
        rows.append(row_of(event))
    return rows


def _one_by_one(site: str, gate: str, payload: bytes) -> list[Event]:
    """The slow path: whatever events of a damaged message still validate."""
    try:
        data: Any = loads_bounded(payload, MAX_DEPTH)
    except ValueError:
        log.warning("office: unreadable events from %s/%s", site, gate)
        return []
    items = data.get("events") if isinstance(data, dict) else None
    events = []
    for item in items if isinstance(items, list) else [data]:
        try:
            events.append(Event.model_validate(item))
        except ValidationError as exc:
            log.warning("office: invalid event from %s/%s: %s", site, gate, exc.errors()[:2])
    return events
