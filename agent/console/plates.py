"""The guard's vehicle page (issue 22): each vehicle the cameras read with its picture and
outcome, a decision for a plate the camera could not read, and visitors' cars waiting.

A guard's decision on an unreadable plate is one ``plate_decided`` event with the guard's
id and the plate they typed (masked and hashed, never in clear); admitting opens the
door the camera is at. Pictures are served only to a signed-in guard, from the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from agent.console.anpr import PlateHost, PlateReceiverPart
from agent.console.forms import FormError, Plate, validate
from agent.console.port import ConsolePort
from agent.console.routes import Console
from agent.console.web import Response, Signed, redirect
from agent.console.words import N_, event_text
from agent.core.kinds import EventType
from agent.gate.visitor_cars import VisitorCars
from agent.models.base import Strict
from agent.models.wire import Event
from agent.store.credentials import CredentialHasher
from agent.store.pictures import PictureStore
from agent.store.plates import plate_credential

_E = EventType
SHOWN = 40  # vehicles on the page
TITLE = N_("Vehicles")


class PlateDecision(Strict):
    """A guard's decision on a plate the camera could not read."""

    about: int = Field(ge=1)  # the plate_unreadable event's seq
    plate: Plate = ""
    decision: Literal["admit", "refuse"]


class PlateScreen:
    """``/plates``, ``/plates/picture`` and ``/plates/decide``, added with ``install``."""

    def __init__(self, console: Console, gate: ConsolePort, pictures: PictureStore,
                 visitors: VisitorCars, hasher: CredentialHasher,
                 zone: ZoneInfo) -> None:  # fmt: skip
        self._console = console
        self._gate = gate
        self._pictures = pictures
        self._visitors = visitors
        self._hasher = hasher
        self._zone = zone

    def install(self) -> None:
        self._console.more.append(("/plates", TITLE))
        self._console.get_routes.update({"/plates": self.page, "/plates/picture": self.picture})
        self._console.post_routes["/plates/decide"] = self.decide

    def page(self, s: Signed, problems: Sequence[tuple[str, str]] = (), message: str = "",
             status: int = 200) -> Response:  # fmt: skip
        _ = self._console.words(s.request)
        kinds = [_E.ACCESS_GRANTED, _E.ACCESS_DENIED, _E.PLATE_UNREADABLE, _E.PLATE_DECIDED]
        events = self._gate.events_of([k.value for k in kinds], 4 * SHOWN)
        decided = {e.details.get("about") for e in events if e.type is _E.PLATE_DECIDED}
        rows = [self._row(e, decided, _) for e in reversed(events) if _is_plate(e)][:SHOWN]
        now = self._gate.clock.now()
        waiting = [
            {"plate": c.masked, "unit": c.unit or "-", "until": self._hm(c.until)}
            for c in self._visitors.waiting(now)
        ]
        return self._console.page(s, "plates.html", _(TITLE), status, rows=rows,
                                  waiting=waiting, problems=problems, message=message)  # fmt: skip

    def picture(self, s: Signed) -> Response:
        data = self._pictures.get(s.request.query.get("id", ""))
        if data is None:
            return Response(404, b"no such picture (kept for a few days only)\n", "text/plain")
        return Response(200, data, "image/jpeg", [("Cache-Control", "no-store")])

    def decide(self, s: Signed) -> Response:
        try:
            form = validate(PlateDecision, s.fields)
            unreadable = self._unreadable(form.about)
            details: dict[str, Any] = {"about": form.about, "decision": form.decision,
                                       "guard": s.session.guard_id}  # fmt: skip
            if form.plate:
                identity = plate_credential(form.plate, self._hasher)
                if isinstance(identity, str):
                    raise FormError("please check the form", [("plate", "not a licence plate")])
                details |= {"credential": identity[0], "card": identity[1]}
            elif form.decision == "admit":
                raise FormError("please check the form", [("plate", "type the plate you read")])
        except FormError as exc:
            return self.page(s, exc.fields, str(exc), 400)
        event = self._gate.record(_E.PLATE_DECIDED, unreadable.door, **details)
        if form.decision == "admit" and unreadable.door is not None:
            self._gate.open_door(unreadable.door, f"guard:{s.session.guard_id}",
                                 f"plate-{event.seq}")  # fmt: skip
        return redirect("/plates")

    def _unreadable(self, seq: int) -> Event:
        for event in self._gate.events_of([_E.PLATE_UNREADABLE.value], 200):
            if event.seq == seq:
                return event
        raise FormError("that vehicle is no longer waiting for a decision")

    def _row(self, event: Event, decided: set[Any], _: Any) -> dict[str, Any]:
        d = event.details
        if event.type is _E.PLATE_UNREADABLE:
            text = _("Plate not readable at %(door)s (%(plate)s): decide from the picture") % {
                "door": event.door or "-", "plate": d.get("card") or "?"}  # fmt: skip
        elif event.type is _E.PLATE_DECIDED:
            verdict = _("let in") if d.get("decision") == "admit" else _("refused")
            text = _("Guard %(guard)s decided on %(plate)s: %(decision)s") % {
                "guard": d.get("guard", "?"),
                "plate": d.get("card") or "-",
                "decision": verdict,
            }
        else:
            text = event_text(event, _)
        return {
            "time": self._hm(event.time), "text": text, "picture": d.get("picture"),
            "seq": event.seq, "kind": "granted" if event.type is _E.ACCESS_GRANTED else "other",
            "undecided": event.type is _E.PLATE_UNREADABLE and event.seq not in decided,
        }  # fmt: skip

    def _hm(self, when: Any) -> str:
        return str(when.astimezone(self._zone).strftime("%H:%M:%S"))


def _is_plate(event: Event) -> bool:
    return event.type in (_E.PLATE_UNREADABLE, _E.PLATE_DECIDED) or bool(
        event.details.get("plate") is True
    )


def attach_plate_screen(console: Console, host: PlateHost, part: PlateReceiverPart) -> None:
    """The vehicle page on a gate's console, with the receiver's pictures."""
    config = host.config_state().config
    visitors = host.reads.plates.visitors
    screen = PlateScreen(console, console.gate, part.pictures, visitors, host.hasher, config.zone())
    screen.install()
