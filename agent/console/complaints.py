"""The guard's complaint page: a resident's complaint taken at the gate, recorded as one
``complaint_taken`` event (the unit and what happened; no names or phone numbers are kept
on the gate). The office's watch worker makes it a complaint case."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator

from agent.console.forms import FormError, Unit, _bounded, _lines, validate
from agent.console.port import ConsolePort
from agent.console.routes import Console
from agent.console.web import Response, Signed, redirect
from agent.core.kinds import EventType
from agent.models.base import Strict
from agent.models.complaints import WHAT_MAX, ComplaintTaken, _no_phone


class ComplaintForm(Strict):
    """The unit as the resident said it and what happened, in the guard's words."""

    unit: Unit
    what: Annotated[str, _bounded(WHAT_MAX, 1), AfterValidator(_lines), AfterValidator(_no_phone)]


class ComplaintScreen:
    """``/complaint`` and its form, added to a console with ``install``."""

    def __init__(self, console: Console, gate: ConsolePort) -> None:
        self._console = console
        self._gate = gate

    def install(self) -> None:
        self._console.more.append(("/complaint", "Complaint"))
        self._console.get_routes["/complaint"] = self.page
        self._console.post_routes["/complaint"] = self.take

    def page(self, s: Signed, problems: Sequence[tuple[str, str]] = (), message: str = "",
             status: int = 200) -> Response:  # fmt: skip
        _ = self._console.words(s.request)
        return self._console.page(s, "complaint.html", _("Take a complaint"), status,
                                  problems=problems, message=message, v=dict(s.fields),
                                  what_max=WHAT_MAX)  # fmt: skip

    def take(self, s: Signed) -> Response:
        try:
            form = validate(ComplaintForm, s.fields)
        except FormError as exc:
            return self.page(s, exc.fields, str(exc), 400)
        details = ComplaintTaken(complaint=uuid.uuid4().hex[:10], guard=s.session.guard_id,
                                 unit=form.unit, what=form.what)  # fmt: skip
        self._gate.record(EventType.COMPLAINT_TAKEN, None, **details.model_dump())
        return redirect("/complaint?ok=complaint")
