"""The words the core decides and reports with. Plain enums: the models package reuses them."""

from __future__ import annotations

from enum import StrEnum

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HolderKind(StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    VISITOR = "visitor"
    CONTRACTOR = "contractor"


class FailMode(StrEnum):
    SECURE = "secure"  # strike: locked without power (relay energised = unlocked)
    SAFE = "safe"  # maglock: unlocked without power (relay energised = locked)


def coil_energised(fail_mode: FailMode, locked: bool) -> bool:
    """The coil state that gives ``locked`` for a door of ``fail_mode``: the one place
    that maps door semantics onto coil semantics (the door and ``safe-state`` use it)."""
    return locked if fail_mode is FailMode.SAFE else not locked


class EventType(StrEnum):
    ACCESS_GRANTED = "access_granted"
    ACCESS_DENIED = "access_denied"
    EXIT_REQUEST = "exit_request"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    DOOR_FORCED_OPEN = "door_forced_open"
    DOOR_FORCED_CLEARED = "door_forced_cleared"
    DOOR_HELD_OPEN = "door_held_open"
    DOOR_HELD_CLEARED = "door_held_cleared"
    VISITOR_REGISTERED = "visitor_registered"
    FIRE_ALARM = "fire_alarm"
    FIRE_ALARM_CLEARED = "fire_alarm_cleared"
    REPEATED_DENIALS = "repeated_denials"
    LOCKOUT_ENDED = "lockout_ended"
    MODE_CHANGED = "mode_changed"
    MODE_REQUESTED = "mode_requested"
    EVENTS_DROPPED = "events_dropped"
    READER_FAULT = "reader_fault"
    READER_RESTORED = "reader_restored"
    READER_TAMPER = "reader_tamper"
    READER_TAMPER_CLEARED = "reader_tamper_cleared"
    READER_POWER_FAULT = "reader_power_fault"
    READER_POWER_RESTORED = "reader_power_restored"
    READER_FLOOD = "reader_flood"
    KEYPAD_ENTRY = "keypad_entry"
    CARD_LEARNED = "card_learned"
    AGENT_STARTED = "agent_started"
    AGENT_STOPPED = "agent_stopped"
    AGENT_FAULT = "agent_fault"
    DATABASE_RECOVERED = "database_recovered"
    ALLOWLIST_UPDATED = "allowlist_updated"
    ALLOWLIST_STALE = "allowlist_stale"  # restored from a backup; cleared by the next:
    ALLOWLIST_RESYNCED = "allowlist_resynced"
    CONFIG_CHANGED = "config_changed"
    CONFIG_ROLLBACK = "config_rollback"
    REMOTE_OPEN = "remote_open"
    SECURITY_ALERT = "security_alert"
    PASS_USED = "pass_used"
    PASS_REFUSED = "pass_refused"
    PASSES_UPDATED = "passes_updated"
    PASS_GUESSING = "pass_guessing"
    # the guard console: every one carries the guard's id
    GUARD_SIGNED_IN = "guard_signed_in"
    GUARD_SIGNED_OUT = "guard_signed_out"
    GUARD_LOGIN_FAILED = "guard_login_failed"
    GUARD_LOCKED = "guard_locked"
    GUARDS_UPDATED = "guards_updated"
    ALARM_ACKNOWLEDGED = "alarm_acknowledged"
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_CLOSED = "incident_closed"
    COMPLAINT_TAKEN = "complaint_taken"  # a resident's complaint, taken by a guard
    # fire and evacuation drills: the events a drill causes carry ``drill: {id, kind}``
    DRILL_STARTED = "drill_started"
    DRILL_ENDED = "drill_ended"
    # secure credentials (issue 20): what a card's proof showed
    CLONE_SUSPECTED = "clone_suspected"
    RELAY_SUSPECTED = "relay_suspected"
    REPLAYED_CARD = "replayed_card"
    CARD_NOT_NXP = "card_not_nxp"
    PLAIN_CARD_USED = "plain_card_used"
    CARD_COUNTER_RESTARTED = "card_counter_restarted"
    # presence (issue 21): anti-passback, occupancy, muster
    PASSBACK_VIOLATION = "passback_violation"
    PASSBACK_FORGIVEN = "passback_forgiven"
    # tailgating (issue 21): more door cycles than authorisations; an exit never entered
    TAILGATE_SUSPECTED = "tailgate_suspected"
    EXIT_WITHOUT_ENTRY = "exit_without_entry"
    # muster (issue 21): who was inside when the fire input or a drill released the doors
    MUSTER_STARTED = "muster_started"
    MUSTER_TICKED = "muster_ticked"
    MUSTER_ENDED = "muster_ended"
    OCCUPANCY_CORRECTED = "occupancy_corrected"  # a guard's correction of an area's count
    # presence across gates: cut off from the others (soft areas only report), and back
    PRESENCE_PARTITIONED = "presence_partitioned"
    PRESENCE_REJOINED = "presence_rejoined"
    # card plus PIN (issue 21): a duress PIN (a silent alarm: the door opens as usual),
    # and a card locked after wrong PINs in a row
    DURESS = "duress"
    PIN_LOCKOUT = "pin_lockout"
    # vehicle barriers (issue 22): the arm, its induction loops, the guard's raise
    VEHICLE_TAILGATE = "vehicle_tailgate"
    BARRIER_LOOP_FAULT = "barrier_loop_fault"
    BARRIER_LOOP_RESTORED = "barrier_loop_restored"
    BARRIER_READ_IGNORED = "barrier_read_ignored"
    BARRIER_RAISED_BY_GUARD = "barrier_raised_by_guard"
    # the vehicle gate (issue 22): plates read by ANPR cameras
    PLATE_UNREADABLE = "plate_unreadable"  # below the camera's confidence: a guard decides
    PLATE_DECIDED = "plate_decided"  # a guard's decision on an unreadable plate
    PICTURE_SENT = "picture_sent"  # a plate picture sent on the office's request, for an incident


class DrillKind(StrEnum):
    """A fire drill releases the doors as the fire input would; an evacuation drill
    releases every door, as the office's release does."""

    FIRE = "fire"
    EVACUATION = "evacuation"


ALARMS = frozenset(
    {
        EventType.DOOR_FORCED_OPEN,
        EventType.DOOR_HELD_OPEN,
        EventType.FIRE_ALARM,
        EventType.REPEATED_DENIALS,
        EventType.EVENTS_DROPPED,
        EventType.AGENT_FAULT,
        EventType.DATABASE_RECOVERED,
        EventType.ALLOWLIST_STALE,
        EventType.SECURITY_ALERT,
        EventType.READER_FAULT,
        EventType.READER_TAMPER,
        EventType.READER_POWER_FAULT,
        EventType.READER_FLOOD,
        EventType.PASS_GUESSING,
        EventType.CONFIG_ROLLBACK,
        EventType.GUARD_LOCKED,
        EventType.CLONE_SUSPECTED,
        EventType.RELAY_SUSPECTED,
        EventType.REPLAYED_CARD,
        EventType.CARD_NOT_NXP,
        EventType.TAILGATE_SUSPECTED,
        EventType.DURESS,
        EventType.PIN_LOCKOUT,
        EventType.VEHICLE_TAILGATE,
        EventType.BARRIER_LOOP_FAULT,
    }
)
# alarms the office link sends ahead of everything else waiting (agent.link.uplink)
URGENT = frozenset({EventType.DURESS})
