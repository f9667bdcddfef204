"""The console's view of the gate and what guards do with it.

State (open alarms, pending visitor presses, incidents) is rebuilt from the event
log at start and then follows the gate's events, so what guards see survives a
restart and every change, whoever made it, shows on every console. Actions are
events carrying the guard's id; nothing else is written.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any
from zoneinfo import ZoneInfo

from agent.console.forms import (
    AlarmAck,
    FormError,
    IncidentClose,
    IncidentOpen,
    IncidentUpdate,
    VisitorForm,
)
from agent.console.panel import OpenAlarm, Pending, Stream
from agent.console.port import ConsolePort
from agent.console.words import (
    ALARM_KINDS,
    FEED,
    Gettext,
    clock_time,
    event_text,
)
from agent.core.kinds import EventType
from agent.models.incidents import INCIDENT_TYPES, Incident, fold_incidents
from agent.models.wire import Event
from agent.store.plates import plate_credential
from drivers.plates import mask_plate, normalise_plate

log = logging.getLogger(__name__)
_E = EventType
REBUILD_EVENTS = 2000  # alarms and incidents older than this many of their events are gone
MAX_ALARMS = 200
MAX_PENDING = 20
PENDING_S = 30 * 60.0


class Desk:
    """Shared by every console session; safe from any thread. Listeners run on the core
    loop, so they only update memory and hand messages to queues: they never block."""

    def __init__(self, gate: ConsolePort, zone: ZoneInfo, allow_names: bool = False) -> None:
        self.gate = gate
        self.zone = zone
        self.allow_names = allow_names
        self._lock = threading.Lock()
        self._alarms: OrderedDict[int, OpenAlarm] = OrderedDict()
        self._pending: OrderedDict[int, Pending] = OrderedDict()
        self._incidents: dict[str, Incident] = {}
        self._streams: set[Stream] = set()
        self._early: list[Event] | None = []  # heard while rebuilding

    # -- state ---------------------------------------------------------------
    def start(self) -> None:
        """Listen first (buffering), rebuild from the log, then apply what came meanwhile."""
        self.gate.add_event_listener(self._heard)
        types = [t.value for t in (*ALARM_KINDS, _E.ALARM_ACKNOWLEDGED)]
        alarm_events = self.gate.events_of(types, REBUILD_EVENTS)
        incident_events = self.gate.events_of(INCIDENT_TYPES, REBUILD_EVENTS)
        with self._lock:
            for event in alarm_events:
                self._apply(event)
            self._incidents = fold_incidents(e.model_dump() for e in incident_events)
            seen = max((e.seq for e in (*alarm_events, *incident_events)), default=0)
            early, self._early = self._early or [], None
            for event in early:
                if event.seq > seen:
                    self._apply(event)

    def _heard(self, event: Event) -> None:
        """On the core loop, inside the gate's emit: a fault here must not reach the gate."""
        try:
            self._follow(event)
        except Exception:
            log.exception("console: could not follow event %d", event.seq)

    def _follow(self, event: Event) -> None:
        with self._lock:
            if self._early is not None:
                self._early.append(event)
                return
            panel = self._apply(event)
            streams = list(self._streams)
        if event.type in FEED:
            for stream in streams:
                stream.put("feed", event)
        elif event.door is not None:  # a door changed: the pages look at the doors again
            for stream in streams:
                stream.put("tick", None)
        if panel:
            for stream in streams:
                stream.put("panel", None)

    def _apply(self, event: Event) -> bool:
        """Fold one event into the state (lock held); True when the panel changed."""
        t, d = event.type, event.details
        if t in ALARM_KINDS:
            self._alarms[event.seq] = OpenAlarm(
                event.seq, ALARM_KINDS[t], event.door, clock_time(event, self.zone), event
            )
            while len(self._alarms) > MAX_ALARMS:
                self._alarms.popitem(last=False)
            return True
        if t is _E.ALARM_ACKNOWLEDGED:
            return self._alarms.pop(int(d.get("alarm_seq") or 0), None) is not None
        if t is _E.VISITOR_REGISTERED:
            return self._visitor(event)
        if t.value in INCIDENT_TYPES:
            fold_incidents([event.model_dump()], self._incidents)
            return True
        return False

    def _visitor(self, event: Event) -> bool:
        d, now = event.details, self.gate.clock.monotonic()
        changed = False
        for seq in [s for s, p in self._pending.items() if now - p.at > PENDING_S]:
            del self._pending[seq]
            changed = True
        if d.get("by") == "guard_button" and event.door:
            self._pending[event.seq] = Pending(
                event.seq, event.door, clock_time(event, self.zone), bool(d.get("opened")), now
            )
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            return True
        done = d.get("pending")
        return changed or (isinstance(done, int) and self._pending.pop(done, None) is not None)

    # -- views -----------------------------------------------------------------
    def subscribe(self) -> Stream:
        stream = Stream()
        with self._lock:
            self._streams.add(stream)
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def connected(self) -> int:
        """How many live pages are open."""
        with self._lock:
            return len(self._streams)

    def feed_item(self, event: Event, _: Gettext = str) -> dict[str, Any]:
        kind = "alarm" if event.type in ALARM_KINDS else {
            _E.ACCESS_GRANTED: "entry", _E.ACCESS_DENIED: "denial", _E.PASS_REFUSED: "denial",
            _E.VISITOR_REGISTERED: "visitor", _E.PASS_USED: "visitor",
        }.get(event.type, "info")  # fmt: skip
        # a camera's read carries its picture id: the live page shows it as a thumbnail
        vehicle = event.details.get("plate") is True
        return {
            "seq": event.seq, "time": clock_time(event, self.zone), "kind": kind,
            "text": event_text(event, _), "vehicle": vehicle,
            "picture": event.details.get("picture") if vehicle else None,
        }  # fmt: skip

    def feed(self, _: Gettext = str, limit: int = 30) -> list[dict[str, Any]]:
        """The newest feed items, newest first."""
        events = self.gate.events_of([t.value for t in FEED], limit)
        return [self.feed_item(e, _) for e in reversed(events)]

    def alarms(self) -> list[OpenAlarm]:
        with self._lock:
            return list(reversed(self._alarms.values()))

    def pending(self) -> list[Pending]:
        with self._lock:
            return list(reversed(self._pending.values()))

    def panel(self, _: Gettext = str) -> dict[str, Any]:
        """Open alarms and pending visitors, as the live page redraws them."""
        return {
            "alarms": [a.view(_) for a in self.alarms()],
            "pending": [p.view(_) for p in self.pending()],
        }

    def ack_all(self, guard: str, note: str) -> list[Event]:
        """Acknowledge every open alarm with one note (one event each, as one by one)."""
        with self._lock:
            alarms = list(self._alarms.values())
        return [
            self.gate.record(
                _E.ALARM_ACKNOWLEDGED,
                a.door,
                alarm_seq=a.seq,
                alarm_type=a.kind,
                note=note,
                guard=guard,
            )
            for a in alarms
        ]

    def incidents(self) -> list[Incident]:
        """Open and acknowledged ones first, then the newest closed ones."""
        with self._lock:
            every = sorted(self._incidents.values(), key=lambda i: i.opened_at, reverse=True)
        live = [i for i in every if i.status != "closed"]
        return live + [i for i in every if i.status == "closed"][:20]

    def incident(self, ident: str) -> Incident | None:
        with self._lock:
            return self._incidents.get(ident)

    # -- actions (each one event, with the guard's id) -------------------------------
    def register_visitor(self, guard: str, form: VisitorForm) -> Event:
        """Record the visitor, then open the chosen door (if any)."""
        door = form.open_door or None
        if door is not None and door not in self.gate.door_ids:
            raise FormError("please check the form", [("open_door", f"no door {door!r}")])
        if form.name and not self.allow_names:
            raise FormError("please check the form", [("name", "this site records no names")])
        details: dict[str, Any] = {
            "by": "console", "guard": guard, "host_unit": form.host_unit,
            "purpose": form.purpose, "party_size": form.party_size,
            "id_seen": form.id_seen == "yes", "opened": door is not None,
        }  # fmt: skip
        if form.plate:  # hashed and masked like a card; the camera lets the car in (issue 22)
            details |= self._plate(form.plate)
        if form.name:
            details["name"] = form.name
        if form.pending is not None:
            details["pending"] = form.pending
        event = self.gate.record(_E.VISITOR_REGISTERED, door, **details)
        if door is not None:
            self.gate.open_door(door, by=f"guard:{guard}", request_id=f"visitor-{event.seq}")
        return event

    def _plate(self, typed: str) -> dict[str, Any]:
        hasher = getattr(self.gate, "hasher", None)
        identity = plate_credential(typed, hasher) if hasher is not None else None
        if isinstance(identity, str):
            raise FormError("please check the form", [("plate", "not a licence plate")])
        if identity is None:  # a gate without a site key here: the plate is only masked
            plate = normalise_plate(typed)
            return {"plate": mask_plate(plate)} if plate else {}
        return {"plate": identity[1], "plate_credential": identity[0]}

    def ack_alarm(self, guard: str, form: AlarmAck) -> Event:
        with self._lock:
            alarm = self._alarms.get(form.alarm_seq)
        if alarm is None:
            raise FormError("that alarm is not open (acknowledged already?)")
        return self.gate.record(
            _E.ALARM_ACKNOWLEDGED, alarm.door, alarm_seq=alarm.seq, alarm_type=alarm.kind,
            note=form.note, guard=guard,
        )  # fmt: skip

    def open_incident(self, guard: str, form: IncidentOpen) -> str:
        door = form.door or None
        if door is not None and door not in self.gate.door_ids:
            raise FormError("please check the form", [("door", f"no door {door!r}")])
        ident = uuid.uuid4().hex[:10]
        self.gate.record(
            _E.INCIDENT_OPENED, door, incident=ident, kind=form.kind, guard=guard,
            notes=form.notes, **_police(form.police_called, form.police_called_at),
        )  # fmt: skip
        return ident

    def update_incident(self, guard: str, ident: str, form: IncidentUpdate) -> Event:
        incident = self._live_incident(ident)
        return self.gate.record(
            _E.INCIDENT_UPDATED, incident.door, incident=ident, status=form.status, guard=guard,
            notes=form.notes, **_police(form.police_called, form.police_called_at),
        )  # fmt: skip

    def close_incident(self, guard: str, ident: str, form: IncidentClose) -> Event:
        incident = self._live_incident(ident)
        return self.gate.record(
            _E.INCIDENT_CLOSED, incident.door, incident=ident, guard=guard, notes=form.notes
        )

    def _live_incident(self, ident: str) -> Incident:
        incident = self.incident(ident)
        if incident is None:
            raise FormError(f"no incident {ident[:20]!r}")
        if incident.status == "closed":
            raise FormError(f"incident {ident} is closed")
        return incident


def _police(called: str, at: str | None) -> dict[str, Any]:
    if called != "yes":
        return {"police_called": False}
    return {"police_called": True, "police_called_at": at}
