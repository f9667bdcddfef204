"""What the console shows, in words: denial reasons, door states, one line per event.

Holders appear as id, kind and unit, never by name (the gate holds no names anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.kinds import EventType
from agent.gate.describe import describe
from agent.models.messages import DoorStatus, OfficeLinkStatus
from agent.models.wire import Event

_E = EventType
REASONS: Mapping[str, str] = {
    "granted": "granted",
    "emergency_release": "doors released for an emergency",
    "unknown": "card not on the list",
    "expired": "card expired",
    "not_yet_valid": "card not valid yet",
    "outside_schedule": "outside the card's hours",
    "unknown_schedule": "the card's schedule is not set up on this gate",
    "suspended": "card suspended",
    "wrong_door": "card not allowed at this door",
    "lockdown": "the gate is in lockdown",
    "reader_locked_out": "reader locked after repeated denials",
    "card_locked_out": "card locked after repeated denials",
    "clock_untrusted": "the gate's clock is not synchronised yet",
}
# alarm events the console shows until a guard acknowledges them, and their label
ALARM_KINDS: Mapping[EventType, str] = {
    _E.DOOR_FORCED_OPEN: "forced",
    _E.DOOR_HELD_OPEN: "held",
    _E.FIRE_ALARM: "fire",
    _E.READER_TAMPER: "tamper",
    _E.SECURITY_ALERT: "security",
    _E.GUARD_LOCKED: "security",
}
# what the live feed shows: entries, denials, visitors, alarms and what guards did
FEED = frozenset(
    {
        _E.ACCESS_GRANTED, _E.ACCESS_DENIED, _E.VISITOR_REGISTERED, _E.REMOTE_OPEN,
        _E.ALARM_ACKNOWLEDGED, _E.INCIDENT_OPENED, _E.INCIDENT_UPDATED, _E.INCIDENT_CLOSED,
        _E.MODE_CHANGED, _E.FIRE_ALARM_CLEARED, _E.DOOR_FORCED_CLEARED, _E.PASS_USED,
        _E.PASS_REFUSED, *ALARM_KINDS,
    }
)  # fmt: skip


def reason_words(code: object) -> str:
    return REASONS.get(str(code), str(code).replace("_", " "))


def holder(d: Mapping[str, Any]) -> str:
    """``resident R-104, unit B-12``: id, kind and unit only."""
    if not d.get("holder_id"):
        return f"card {d.get('card') or '?'}"
    unit = f", unit {d['unit']}" if d.get("unit") else ""
    return f"{d.get('kind') or 'holder'} {d['holder_id']}{unit}"


def _visitor(d: Mapping[str, Any], door: str) -> str:
    opened = "door opened" if d.get("opened") else "door not opened"
    if d.get("by") == "guard_button":
        return f"Visitor button at {door}: {opened}"
    party = d.get("party_size") or 1
    plate = f", plate {d['plate']}" if d.get("plate") else ""
    return (
        f"Visitor for unit {d.get('host_unit', '?')} ({d.get('purpose', '')}; "
        f"{party} {'person' if party == 1 else 'people'}{plate}), ID "
        f"{'seen' if d.get('id_seen') else 'NOT seen'}, by {d.get('guard', '?')}: {opened}"
    )


def event_text(event: Event) -> str:
    """One line for the live feed."""
    d, door, t = event.details, event.door or "-", event.type
    if t is _E.ACCESS_GRANTED:
        return f"Entry at {door} ({d.get('direction', 'in')}): {holder(d)}"
    if t is _E.ACCESS_DENIED:
        return f"Denied at {door}: {reason_words(d.get('reason'))} ({holder(d)})"
    if t is _E.VISITOR_REGISTERED:
        return _visitor(d, door)
    if t is _E.REMOTE_OPEN:
        return f"Door {door} opened by {d.get('by', '?')}"
    if t is _E.DOOR_FORCED_OPEN:
        return f"Door {door} FORCED OPEN"
    if t is _E.DOOR_HELD_OPEN:
        return f"Door {door} HELD OPEN over {d.get('limit_s', '?')} s"
    if t is _E.FIRE_ALARM:
        return "FIRE ALARM: doors released"
    if t is _E.READER_TAMPER:
        return f"Reader {d.get('reader', '?')} at {door} TAMPER: {d.get('detail') or 'opened'}"
    if t is _E.ALARM_ACKNOWLEDGED:
        return f"Alarm #{d.get('alarm_seq')} acknowledged by {d.get('guard')}: {d.get('note', '')}"
    if t is _E.INCIDENT_OPENED:
        return f"Incident {d.get('incident')} ({d.get('kind')}) opened by {d.get('guard')}"
    return describe(t, event.door, d).removeprefix("ALARM ")  # the page shows alarms as such


def door_words(d: DoorStatus) -> str:
    """locked / unlocked / released / FORCED / HELD OPEN, and open or closed."""
    if d.forced:
        state = "FORCED"
    elif d.held:
        state = "HELD OPEN"
    elif d.released:
        state = "released"
    else:
        state = "locked" if d.locked else "unlocked"
    contact = {True: "open", False: "closed", None: "no contact"}[d.open]
    return f"{state}, {contact}"


def link_words(link: OfficeLinkStatus | None) -> str:
    if link is None or not link.enabled:
        return "office link off"
    if link.connected:
        waiting = f", {link.backlog} waiting" if link.backlog else ""
        return f"office connected{waiting}"
    return f"office OFFLINE ({link.backlog} event(s) kept for it)"


def clock_time(event: Event, zone: ZoneInfo) -> str:
    return event.time.astimezone(zone).strftime("%H:%M:%S")
