"""What the console shows, in words, in the guard's language (``_`` is that language's
gettext): denial reasons, door states, alarms in plain words, one line per event.

Holders appear as id, kind and unit, never by name (the gate holds no names anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.kinds import EventType
from agent.gate.describe import describe
from agent.models.messages import DoorStatus, OfficeLinkStatus
from agent.models.wire import Event

_E = EventType
Gettext = Callable[[str], str]


def _noop(text: str) -> str:
    return text


N_ = _noop  # marks a word for the catalogue; translated where it is shown
REASONS: Mapping[str, str] = {
    "granted": N_("granted"),
    "emergency_release": N_("doors released for an emergency"),
    "unknown": N_("card not on the list"),
    "expired": N_("card expired"),
    "not_yet_valid": N_("card not valid yet"),
    "outside_schedule": N_("outside the card's hours"),
    "unknown_schedule": N_("the card's schedule is not set up on this gate"),
    "suspended": N_("card suspended"),
    "wrong_door": N_("card not allowed at this door"),
    "lockdown": N_("the gate is in lockdown"),
    "reader_locked_out": N_("reader locked after repeated denials"),
    "card_locked_out": N_("card locked after repeated denials"),
    "clock_untrusted": N_("the gate's clock is not synchronised yet"),
    "card_not_genuine": N_("the card is not genuine (a copy?)"),
    "card_torn": N_("the card was taken away too soon: tap again"),
    "relay_suspected": N_("the card answered too slowly (relayed from elsewhere?)"),
    "replayed_card": N_("the card's message was seen before (replayed)"),
    "card_not_nxp": N_("the card's chip is not an original NXP chip"),
    "secure_card_required": N_("this door needs a secure card"),
    "passback": N_("the card was not seen leaving (anti-passback)"),
    "area_full": N_("the area is full: visitors wait"),
    "wrong_pin": N_("wrong PIN"),
    "pin_timeout": N_("no PIN typed in time"),
    "pin_not_set": N_("this door needs a PIN and the holder has none"),
    "pin_abandoned": N_("another card was shown before the PIN was typed"),
    "car_park_full": N_("the car park is full"),
}
# alarm events the console shows until a guard acknowledges them, and their label
ALARM_KINDS: Mapping[EventType, str] = {
    _E.DOOR_FORCED_OPEN: "forced",
    _E.DOOR_HELD_OPEN: "held",
    _E.FIRE_ALARM: "fire",
    _E.READER_TAMPER: "tamper",
    _E.SECURITY_ALERT: "security",
    _E.GUARD_LOCKED: "security",
    _E.CLONE_SUSPECTED: "security",
    _E.RELAY_SUSPECTED: "security",
    _E.REPLAYED_CARD: "security",
    _E.CARD_NOT_NXP: "security",
    _E.TAILGATE_SUSPECTED: "tailgate",
    _E.DURESS: "duress",
    _E.PIN_LOCKOUT: "security",
    _E.VEHICLE_TAILGATE: "vehicle_tailgate",
    _E.BARRIER_LOOP_FAULT: "loop",
}
ALARM_LABELS: Mapping[str, str] = {
    "forced": N_("DOOR FORCED"), "held": N_("DOOR LEFT OPEN"), "fire": N_("FIRE"),
    "tamper": N_("READER TAMPERED"), "security": N_("SECURITY"), "duress": N_("DURESS"),
    "tailgate": N_("TAILGATING"), "vehicle_tailgate": N_("VEHICLE TAILGATING"),
    "loop": N_("LOOP FAULT"),
}  # fmt: skip
# what refused messages mean, for a guard (security alerts name a reason code)
ALERT_REASONS: Mapping[str, str] = {
    "bad_signature": N_("commands with a forged or damaged signature were refused"),
    "replayed": N_("an old command was sent again and refused"),
    "stale": N_("an out-of-date command was refused"),
    "csrf": N_("a console form sent from elsewhere was refused"),
    "breakglass_failed": N_("a wrong break-glass password was typed"),
}
# a secure card's alarms, for a guard
CARD_ALARMS: Mapping[EventType, str] = {
    _E.CLONE_SUSPECTED: N_("A copied card was shown at %(door)s (%(holder)s)"),
    _E.RELAY_SUSPECTED: N_("A card was relayed from elsewhere at %(door)s (%(holder)s)"),
    _E.REPLAYED_CARD: N_("A card's old message was replayed at %(door)s (%(holder)s)"),
    _E.CARD_NOT_NXP: N_("A card with a non-NXP chip was shown at %(door)s (%(holder)s)"),
}
# who did something, in plain words
BY: Mapping[str, str] = {
    "fire_input": N_("the fire alarm"), "console": N_("the console"), "office": N_("the office"),
    "exit_button": N_("the exit button"), "schedule": N_("the schedule"), "drill": N_("a drill"),
}  # fmt: skip
# what the live feed shows: entries, denials, visitors, alarms and what guards did
FEED = frozenset(
    {
        _E.ACCESS_GRANTED, _E.ACCESS_DENIED, _E.VISITOR_REGISTERED, _E.REMOTE_OPEN,
        _E.ALARM_ACKNOWLEDGED, _E.INCIDENT_OPENED, _E.INCIDENT_UPDATED, _E.INCIDENT_CLOSED,
        _E.MODE_CHANGED, _E.FIRE_ALARM_CLEARED, _E.DOOR_FORCED_CLEARED, _E.PASS_USED,
        _E.PASS_REFUSED, *ALARM_KINDS, _E.MUSTER_STARTED, _E.MUSTER_TICKED, _E.MUSTER_ENDED,
        _E.BARRIER_RAISED_BY_GUARD, _E.BARRIER_LOOP_RESTORED,
    }
)  # fmt: skip
# the muster, for a guard (n: on the list, left: not yet accounted for)
MUSTER_WORDS: Mapping[EventType, str] = {
    _E.MUSTER_STARTED: N_("MUSTER: %(n)s holder(s) last seen inside: tick them off on the "
                          "Muster page"),
    _E.MUSTER_TICKED: N_("Muster: %(holder)s accounted for (%(by)s); %(left)s left"),
    _E.MUSTER_ENDED: N_("Muster ended: %(left)s of %(n)s not accounted for"),
}  # fmt: skip


def reason_words(code: object, _: Gettext = _noop) -> str:
    known = REASONS.get(str(code))
    return _(known) if known else str(code).replace("_", " ")


def by_words(who: object, _: Gettext = _noop) -> str:
    """``guard:alice`` -> ``guard alice``; ``fire_input`` -> ``the fire alarm``."""
    text = str(who or "?")
    if text.startswith("guard:"):
        return _("guard %(id)s") % {"id": text[6:]}
    known = BY.get(text)
    return _(known) if known else text.replace("_", " ")


def holder(d: Mapping[str, Any], _: Gettext = _noop) -> str:
    """``resident R-104, unit B-12``: id, kind and unit only."""
    if not d.get("holder_id"):
        return _("card %(card)s") % {"card": d.get("card") or "?"}
    kind = {"resident": _("resident"), "staff": _("staff"), "visitor": _("visitor")}.get(
        str(d.get("kind")), str(d.get("kind") or _("holder")))  # fmt: skip
    if d.get("unit"):
        return _("%(kind)s %(id)s, unit %(unit)s") % {"kind": kind, "id": d["holder_id"],
                                                     "unit": d["unit"]}  # fmt: skip
    return f"{kind} {d['holder_id']}"


def _visitor(d: Mapping[str, Any], door: str, _: Gettext) -> str:
    opened = _("door opened") if d.get("opened") else _("door not opened")
    if d.get("by") == "guard_button":
        return _("Visitor button at %(door)s: %(opened)s") % {"door": door, "opened": opened}
    plate = _(", plate %(plate)s") % {"plate": d["plate"]} if d.get("plate") else ""
    return _(
        "Visitor for unit %(unit)s (%(purpose)s; %(party)s people%(plate)s), ID %(id)s, "
        "by %(guard)s: %(opened)s"
    ) % {
        "unit": d.get("host_unit", "?"), "purpose": d.get("purpose", ""),
        "party": d.get("party_size") or 1, "plate": plate,
        "id": _("seen") if d.get("id_seen") else _("NOT seen"), "guard": d.get("guard", "?"),
        "opened": opened,
    }  # fmt: skip


def _alert(d: Mapping[str, Any], _: Gettext) -> str:
    known = ALERT_REASONS.get(str(d.get("reason")))
    what = _(known) if known else str(d.get("reason", "?")).replace("_", " ")
    count = d.get("count") or 1
    return _("Security: %(what)s (%(count)s time(s)). Check who is near the gate.") % {
        "what": what, "count": count}  # fmt: skip


def _tailgate(d: Mapping[str, Any], door: str, _: Gettext) -> str:
    if d.get("reason") == "held_for_several":
        text = _(
            "Door %(door)s stood open %(s)s s after one person was let in: others may "
            "have followed. Go and look"
        )
        return text % {"door": door, "s": d.get("open_s", "?")}
    text = _(
        "Door %(door)s opened %(cycles)s times in %(window)s s for %(grants)s let in: "
        "someone may have followed. Go and look"
    )
    return text % {
        "door": door,
        "cycles": d.get("cycles", "?"),
        "window": d.get("window_s", "?"),
        "grants": d.get("grants", "?"),
    }


def event_text(event: Event, _: Gettext = _noop) -> str:
    """One line for the live feed and the alarm panel."""
    d, door, t = event.details, event.door or "-", event.type
    v = {"door": door}
    if t is _E.ACCESS_GRANTED:
        way = _("out") if d.get("direction") == "out" else _("in")
        return _("Entry at %(door)s (%(way)s): %(holder)s") % (
            v | {"way": way, "holder": holder(d, _)})  # fmt: skip
    if t is _E.ACCESS_DENIED:
        return _("Denied at %(door)s: %(reason)s (%(holder)s)") % (
            v | {"reason": reason_words(d.get("reason"), _), "holder": holder(d, _)})  # fmt: skip
    if t is _E.VISITOR_REGISTERED:
        return _visitor(d, door, _)
    if t is _E.REMOTE_OPEN:
        return _("Door %(door)s opened by %(by)s") % (v | {"by": by_words(d.get("by"), _)})
    if t is _E.DOOR_FORCED_OPEN:
        return _("Door %(door)s was forced open: go and look") % v
    if t is _E.DOOR_FORCED_CLEARED:
        return _("Door %(door)s is closed again after being forced") % v
    if t is _E.DOOR_HELD_OPEN:
        return _("Door %(door)s has been left open over %(s)s s") % (v | {"s": d.get("limit_s")})
    if t is _E.FIRE_ALARM:
        return _("FIRE ALARM: the doors are released (unlocked) for evacuation")
    if t is _E.FIRE_ALARM_CLEARED:
        return _("The fire alarm is over: doors lock again")
    if t is _E.READER_TAMPER:
        return _("The card reader at %(door)s was tampered with (opened or cut)") % v
    if t is _E.SECURITY_ALERT:
        return _alert(d, _)
    if t is _E.GUARD_LOCKED:
        return _("Console sign-in for %(who)s locked after %(n)s wrong passwords") % {
            "who": d.get("subject", "?"), "n": d.get("failures", "?")}  # fmt: skip
    if t is _E.TAILGATE_SUSPECTED:
        return _tailgate(d, door, _)
    if (card_alarm := CARD_ALARMS.get(t)) is not None:
        return _(card_alarm) % (v | {"holder": holder(d, _)})
    if t is _E.DURESS:  # the guardhouse's screen: the person at the gate saw a normal entry
        return _("DURESS code at %(door)s: %(holder)s is under threat. Act quietly, "
                 "call for help; the door opened as usual") % (
            v | {"holder": holder(d, _)})  # fmt: skip
    if t is _E.PIN_LOCKOUT:
        return _("Card %(card)s locked after %(n)s wrong PINs at %(door)s") % (
            v | {"card": d.get("card", "?"), "n": d.get("attempts", "?")})  # fmt: skip
    if t is _E.PLAIN_CARD_USED:
        return _("Plain card used at %(door)s by %(holder)s") % (v | {"holder": holder(d, _)})
    if (muster := MUSTER_WORDS.get(t)) is not None:
        return _(muster) % {"n": d.get("total", "?"), "left": d.get("unaccounted", "?"),
                            "holder": holder(d, _), "by": by_words(d.get("by"), _)}  # fmt: skip
    if t is _E.MODE_CHANGED:
        return _("The gate is now in %(mode)s mode (by %(by)s)") % {
            "mode": mode_words(d.get("mode"), _), "by": by_words(d.get("by"), _)}  # fmt: skip
    if t is _E.ALARM_ACKNOWLEDGED:
        return _("Alarm acknowledged by %(guard)s: %(note)s") % {
            "guard": d.get("guard"), "note": d.get("note", "")}  # fmt: skip
    if t is _E.INCIDENT_OPENED:
        return _("Incident %(id)s opened by %(guard)s") % {
            "id": d.get("incident"), "guard": d.get("guard")}  # fmt: skip
    if (barrier_text := barrier_words(t, d, v, _)) is not None:
        return barrier_text
    return describe(t, event.door, d).removeprefix("ALARM ")  # rare ones: the log's words


def mode_words(mode: object, _: Gettext = _noop) -> str:
    known = {"normal": N_("normal"), "lockdown": N_("lockdown"), "release": N_("release"),
             "drill": N_("drill")}.get(str(mode))  # fmt: skip
    return _(known) if known else str(mode)


def door_words(d: DoorStatus, _: Gettext = _noop) -> str:
    """locked / unlocked / released / FORCED / HELD OPEN, and open or closed."""
    if d.forced:
        state = _("FORCED")
    elif d.held:
        state = _("HELD OPEN")
    elif d.released:
        state = _("released")
    else:
        state = _("locked") if d.locked else _("unlocked")
    contact = {True: _("open"), False: _("closed"), None: _("no contact")}[d.open]
    return f"{state}, {contact}"


def door_alarm(d: DoorStatus) -> bool:
    return bool(d.forced or d.held)


def link_words(link: OfficeLinkStatus | None, _: Gettext = _noop) -> str:
    if link is None or not link.enabled:
        return _("office link off")
    if link.connected:
        if link.backlog:
            return _("office connected, %(n)s waiting") % {"n": link.backlog}
        return _("office connected")
    return _("office OFFLINE (%(n)s event(s) kept for it)") % {"n": link.backlog}


def clock_time(event: Event, zone: ZoneInfo) -> str:
    return event.time.astimezone(zone).strftime("%H:%M:%S")


def barrier_words(t: EventType, d: Mapping[str, Any], v: dict[str, str],
                  _: Gettext) -> str | None:  # fmt: skip
    """A vehicle barrier's events (issue 22) for the feed and the alarm panel."""
    if t is _E.VEHICLE_TAILGATE:
        return _("Vehicle tailgating at %(door)s: %(n)s vehicles passed on one raise") % (
            v | {"n": d.get("vehicles", "?")})  # fmt: skip
    if t is _E.BARRIER_LOOP_FAULT:
        return _("Loop fault at barrier %(door)s: the arm stays up until it is mended") % v
    if t is _E.BARRIER_LOOP_RESTORED:
        return _("The loop at barrier %(door)s works again") % v
    if t is _E.BARRIER_RAISED_BY_GUARD:
        return _("Barrier %(door)s raised by guard %(guard)s for plate %(plate)s") % (
            v | {"guard": d.get("guard", "?"), "plate": d.get("plate", "?")})  # fmt: skip
    return None
