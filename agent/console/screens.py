"""The console's form pages: register a visitor, incidents, a pass code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.console.forms import (
    FormError,
    IncidentClose,
    IncidentOpen,
    IncidentUpdate,
    PassCode,
    VisitorForm,
    validate,
)
from agent.console.web import Response, Signed, redirect
from agent.errors import GateError
from agent.models.incidents import KINDS

if TYPE_CHECKING:
    from agent.console.routes import Console

KIND_WORDS = {"intrusion": "intrusion", "theft": "theft", "violence": "violence",
              "damage": "damage", "other": "other"}  # fmt: skip
STATUS_WORDS = {"open": "open", "acknowledged": "acknowledged", "closed": "closed"}


class Screens:
    """The visitor, incident and pass pages of one console."""

    def __init__(self, console: Console) -> None:
        self.c = console

    def _names(self, s: Signed) -> dict[str, Any]:
        _ = self.c.words(s.request)
        return {"kinds": {k: _(KIND_WORDS.get(k, k)) for k in KINDS},
                "statuses": {k: _(v) for k, v in STATUS_WORDS.items()},
                "door_pairs": [(d, d) for d in self.c.gate.door_ids]}  # fmt: skip

    def visitor_page(self, s: Signed, problems: Any = (), message: str = "",
                     values: dict[str, str] | None = None, status: int = 200,
                     ) -> Response:  # fmt: skip
        _ = self.c.words(s.request)
        v = dict(values if values is not None else s.request.query)
        doors = self.c.gate.door_ids
        choices = [("", _("do not open a door")),
                   *((d, _("open %(door)s") % {"door": d}) for d in doors)]  # fmt: skip
        pending = v["pending"] if v.get("pending", "").isdigit() else ""
        return self.c.page(s, "visitor.html", _("Register a visitor"), status, v=v,
                           problems=problems, message=message, pending=pending,
                           door_choices=choices, allow_names=self.c.desk.allow_names)  # fmt: skip

    def register_visitor(self, s: Signed) -> Response:
        try:
            form = validate(VisitorForm, s.fields)
            self.c.desk.register_visitor(s.session.guard_id, form)
        except FormError as exc:
            return self.visitor_page(s, exc.fields, str(exc), s.fields, 400)
        return redirect("/?ok=visitor-open" if form.open_door else "/?ok=visitor")

    def incidents_page(self, s: Signed, problems: Any = (), message: str = "",
                       status: int = 200) -> Response:  # fmt: skip
        _ = self.c.words(s.request)
        return self.c.page(s, "incidents.html", _("Incidents"), status,
                           items=self.c.desk.incidents(), v=dict(s.fields), problems=problems,
                           message=message, **self._names(s))  # fmt: skip

    def open_incident(self, s: Signed) -> Response:
        try:
            ident = self.c.desk.open_incident(s.session.guard_id, validate(IncidentOpen, s.fields))
        except FormError as exc:
            return self.incidents_page(s, exc.fields, str(exc), 400)
        return redirect(f"/incidents/{ident}?ok=incident")

    def incident_page(self, s: Signed, ident: str, problems: Any = (), message: str = "",
                      status: int = 200) -> Response:  # fmt: skip
        _ = self.c.words(s.request)
        incident = self.c.desk.incident(ident)
        if incident is None:
            return self.c.page(s, "message.html", _("Not here"), 404, text=_("No such incident."))
        times = {n: note.time.astimezone(self.c.desk.zone).strftime("%d %b %H:%M")
                 for n, note in enumerate(incident.notes)}  # fmt: skip
        police = {"police_called": "yes" if incident.police_called else "no",
                  "police_called_at": incident.police_called_at or ""}  # fmt: skip
        title = _("Incident %(id)s") % {"id": incident.id}
        return self.c.page(s, "incident.html", title, status, i=incident, times=times,
                           police=police, problems=problems, message=message,
                           **self._names(s))  # fmt: skip

    def change_incident(self, s: Signed, ident: str, action: str) -> Response:
        guard = s.session.guard_id
        try:
            if action == "close":
                self.c.desk.close_incident(guard, ident, validate(IncidentClose, s.fields))
            else:
                self.c.desk.update_incident(guard, ident, validate(IncidentUpdate, s.fields))
        except FormError as exc:
            return self.incident_page(s, ident, exc.fields, str(exc), 400)
        return redirect(f"/incidents/{ident}?ok={'closed' if action == 'close' else 'updated'}")

    def pass_page(self, s: Signed, problems: Any = (), message: str = "",
                  status: int = 200) -> Response:  # fmt: skip
        _ = self.c.words(s.request)
        return self.c.page(s, "pass.html", _("Visitor pass"), status, problems=problems,
                           message=message, **self._names(s))  # fmt: skip

    def admit_pass(self, s: Signed) -> Response:
        assert self.c.passes is not None
        _ = self.c.words(s.request)
        try:
            form = validate(PassCode, s.fields)
            if form.door not in self.c.gate.door_ids:
                raise FormError("please check the form", [("door", f"no door {form.door!r}")])
            result = self.c.passes.admit_pass(form.door, form.code, f"guard:{s.session.guard_id}")
            if (refusal := _pass_refusal(result)) is not None:
                raise GateError(refusal)
        except FormError as exc:
            return self.pass_page(s, exc.fields, str(exc), 400)
        except GateError as exc:  # refused by the gate: its reason, in its words
            return self.pass_page(s, [], _("Refused: %(why)s") % {"why": exc}, 400)
        return redirect("/pass?ok=pass")


def _pass_refusal(result: object) -> str | None:
    """The reason when the gate's answer says no (``ok``/``granted`` false), else None."""
    get = result.get if isinstance(result, dict) else lambda k, d=None: getattr(result, k, d)
    for flag in ("ok", "granted", "admitted"):
        if get(flag, None) is False:
            return str(get("reason", None) or get("error", None) or "refused").replace("_", " ")
    return None
