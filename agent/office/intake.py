"""From a gate's ``events`` message to rows the office store takes, checked once.

A backlog message (``{"events": [...]}``) is validated in one pass by pydantic's JSON
parser; only a message that fails is taken apart, so one bad event costs the office that
event and not its neighbours (the gate gets no receipt for it and the log says why).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from agent.models.delivery import EventBatch
from agent.models.jsonin import loads_bounded
from agent.models.wire import Event
from agent.office.db.base import EventRow, as_utc
from agent.office.db.events import clean_text, details_json

log = logging.getLogger(__name__)

MAX_DEPTH = 16  # how deep an event's JSON may nest on the slow path


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
