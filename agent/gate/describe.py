"""One readable log line per event: what a guard or installer reading the journal needs.

The event log holds the facts; this is their sentence. Credential HMACs never appear
(the masked card does), and alarms are logged at WARNING so journald shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agent.core.kinds import ALARMS, EventType

_E = EventType
TEMPLATES: Mapping[EventType, str] = {
    _E.ACCESS_GRANTED: "granted: {card} at {door} ({reader}, {direction}), holder {holder_id}",
    _E.ACCESS_DENIED: "denied: {card} at {door} ({reader}, {direction}): {reason}",
    _E.EXIT_REQUEST: "exit button pressed at {door}",
    _E.DOOR_OPENED: "door {door} opened",
    _E.DOOR_CLOSED: "door {door} closed",
    _E.DOOR_FORCED_OPEN: "door {door} FORCED OPEN (no grant, no exit request)",
    _E.DOOR_FORCED_CLEARED: "door {door} closed again after being forced",
    _E.DOOR_HELD_OPEN: "door {door} HELD OPEN longer than {limit_s} s",
    _E.DOOR_HELD_CLEARED: "door {door} closed after being held open",
    _E.VISITOR_REGISTERED: "visitor at {door} ({by}); door opened: {opened}",
    _E.FIRE_ALARM: "FIRE input active: doors set to release",
    _E.FIRE_ALARM_CLEARED: "fire input cleared",
    _E.REPEATED_DENIALS: (
        "{count} denials within {window_s} s on {scope} {subject} at {door}; "
        "locked out for {lockout_s} s"
    ),
    _E.LOCKOUT_ENDED: "lockout of {scope} {subject} at {door} ended",
    _E.MODE_CHANGED: "mode {previous} -> {mode} (by {by})",
    _E.MODE_REQUESTED: "{request} by {by} (request {request_id}); mode stays {mode}",
    _E.EVENTS_DROPPED: "{count} event(s) dropped by retention before the office had them",
    _E.READER_FAULT: "reader {reader} at {door} failed: {error}",
    _E.READER_RESTORED: "reader {reader} at {door} working again",
    _E.READER_TAMPER: "reader {reader} at {door} TAMPER: {detail}",
    _E.READER_TAMPER_CLEARED: "reader {reader} at {door} tamper cleared",
    _E.READER_POWER_FAULT: "reader {reader} at {door} power fault: {detail}",
    _E.READER_POWER_RESTORED: "reader {reader} at {door} power restored",
    _E.READER_FLOOD: (
        "reader {reader} at {door} is flooding: {dropped} read(s) dropped (queue of {queue})"
    ),
    _E.KEYPAD_ENTRY: "{length} key(s) typed on reader {reader} at {door}",
    _E.CARD_LEARNED: "card {card} learned on reader {reader}",
    _E.AGENT_STARTED: "agent {version} started in mode {mode}",
    _E.AGENT_STOPPED: "agent stopped; doors locked",
    _E.AGENT_FAULT: "agent fault: {error}: {message}",
    _E.DATABASE_RECOVERED: "{database} database damaged ({problem}); moved to {moved_to}",
    _E.ALLOWLIST_UPDATED: "allow-list version {version} in force: {size} entries (from {source})",
    _E.ALLOWLIST_STALE: (
        "allow-list v{version} restored from a backup of {backup_created}: stale until the "
        "office resends it; cards: {policy}"
    ),
    _E.ALLOWLIST_RESYNCED: "allow-list resynced after a restore: version {version} ({source})",
    _E.CONFIG_CHANGED: (
        "office config revision {revision} accepted: {sections}; restart: {restart_required}"
    ),
    _E.CONFIG_ROLLBACK: "office config revision {revision} rolled back: {error}",
    _E.REMOTE_OPEN: "door {door} opened remotely ({by}, request {request_id})",
    _E.SECURITY_ALERT: "{count} message(s) on {topic} refused in {over_s} s: {reason}",
    _E.PASS_USED: "pass {pass_id} for unit {unit} let in at {door} ({by}); {uses_left} use(s) left",
    _E.PASS_REFUSED: "pass {pass_id} refused at {door} ({by}): {reason}",
    _E.PASS_GUESSING: (
        "{misses} wrong short code(s) from {source} at {door}: it waits {wait_s} s a try"
    ),
    _E.PASSES_UPDATED: "passes from the office: {revoked} revoked, {delivered} delivered",
    _E.GUARD_SIGNED_IN: "guard {guard} signed in to the console from {address}",
    _E.GUARD_SIGNED_OUT: "guard {guard} signed out of the console",
    _E.GUARD_LOGIN_FAILED: "console sign-in as {guard} from {address} failed ({failures} in a row)",
    _E.GUARD_LOCKED: "console sign-in locked {lock_s} s: {scope} {subject}, {failures} failures",
    _E.GUARDS_UPDATED: "guard accounts version {version} in force: {count} account(s)",
    _E.ALARM_ACKNOWLEDGED: "alarm {alarm_type} (seq {alarm_seq}) acknowledged by {guard}: {note}",
    _E.INCIDENT_OPENED: "incident {incident} opened by {guard}: {kind}, police: {police_called}",
    _E.INCIDENT_UPDATED: "incident {incident} updated by {guard} ({status})",
    _E.INCIDENT_CLOSED: "incident {incident} closed by {guard}",
    _E.COMPLAINT_TAKEN: "complaint {complaint} taken by {guard} for unit {unit}",
    _E.DRILL_STARTED: "{kind} drill started by {by} until {ends_at}; releases: {doors}",
    _E.CLONE_SUSPECTED: (
        "SUSPECTED CLONE: {card} at {door} ({reader}) failed the key check; "
        "{held_back} more held back since the last alarm"
    ),
    _E.RELAY_SUSPECTED: "relay suspected: {card} at {door} ({reader}) took {elapsed_ms} ms",
    _E.REPLAYED_CARD: "REPLAYED card {card} at {door} ({reader}): read counter {counter} not new",
    _E.CARD_NOT_NXP: "card {card} at {door} ({reader}) has no NXP signature; denied: {denied}",
    _E.PLAIN_CARD_USED: "plain card used at {door} ({reader}) by holder {holder_id}",
    _E.CARD_COUNTER_RESTARTED: (
        "read counter of {card} taken anew at {counter} after a restore ({reader} at {door})"
    ),
    _E.DRILL_ENDED: "{kind} drill ended ({reason}, by {ended_by}); not released: {not_released}",
    _E.TAILGATE_SUSPECTED: (
        "TAILGATING suspected at {door} ({reason}): {cycles} door cycle(s), {grants} "
        "authorisation(s) in {window_s} s"
    ),
    _E.EXIT_WITHOUT_ENTRY: "holder {holder_id} left by {door} with no recorded entry",
    _E.MUSTER_STARTED: "MUSTER started ({trigger}): {total} holder(s) last seen inside",
    _E.MUSTER_TICKED: "muster: {holder_id} accounted for ({via}, {by}); {unaccounted} left",
    _E.MUSTER_ENDED: "muster ended ({reason}): {unaccounted} of {total} unaccounted for",
    _E.PASSBACK_VIOLATION: "anti-passback: holder {holder_id} admitted at {door} ({reader}) "
    "though last seen elsewhere",
    _E.PASSBACK_FORGIVEN: "anti-passback of holder {holder_id} forgiven by {by}: {reason}",
    _E.OCCUPANCY_CORRECTED: (
        "{area} count of {kind} corrected by {by}: {was} -> {count} ({delta:+d}): {reason}"
    ),
    _E.DURESS: "DURESS code typed at {door} ({reader}) by holder {holder_id}: a silent alarm",
    _E.PIN_LOCKOUT: "card {card} locked for {lockout_s} s after {attempts} wrong PINs at {door}",
    _E.PRESENCE_PARTITIONED: (
        "cut off from the site's other gates (no word from the office for {silent_s} s): "
        "soft areas report instead of refusing"
    ),
    _E.PRESENCE_REJOINED: (
        "back with the site's other gates after {partitioned_s} s; {caught_up} move(s) caught up"
    ),
    _E.VEHICLE_TAILGATE: "VEHICLE TAILGATE at {door}: {vehicles} vehicles on a raise for {allowed}",
    _E.BARRIER_LOOP_FAULT: "barrier {door}: LOOP FAULT ({cause}); the arm stays up until it clears",
    _E.BARRIER_LOOP_RESTORED: "barrier {door}: loop working again ({cause})",
    _E.BARRIER_READ_IGNORED: "{count} read(s) at {door} ({reader}) ignored: no vehicle on the loop",
    _E.BARRIER_RAISED_BY_GUARD: "barrier {door} raised by guard {guard} for plate {plate}",
    _E.PLATE_UNREADABLE: (
        "plate unreadable at {door} ({reader}): {card} at confidence {confidence}; "
        "picture {picture}"
    ),
    _E.PLATE_DECIDED: "plate {card} at {door} {decision} by guard {guard} (event {about})",
    _E.PICTURE_SENT: "picture {picture} sent to the office for incident {incident}",
}


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


def describe(type_: EventType, door: str | None, details: Mapping[str, Any]) -> str:
    """The sentence for one event; unknown fields show as ``-``, never fail."""
    values = _Missing({k: v for k, v in details.items() if k != "credential"})
    values["door"] = door or "-"
    for key in ("sections", "doors", "not_released"):  # lists read as words
        if isinstance(values.get(key), list):
            values[key] = ", ".join(map(str, values[key])) or "none"
    try:
        text = TEMPLATES[type_].format_map(values)
    except (KeyError, ValueError, IndexError):
        text = f"{type_.value} " + " ".join(f"{k}={v}" for k, v in values.items())
    return f"ALARM {text}" if type_ in ALARMS else text


def level(type_: EventType) -> int:
    """WARNING for alarms (journald shows them in yellow), ERROR for faults, else INFO."""
    if type_ in (EventType.AGENT_FAULT, EventType.DATABASE_RECOVERED):
        return logging.ERROR
    return logging.WARNING if type_ in ALARMS else logging.INFO
