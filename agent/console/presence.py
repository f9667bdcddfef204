"""The guard's presence page: who is inside each area by kind, its capacity and whether it
is full; a correction of a count (``occupancy_corrected``) and forgiving a holder's
anti-passback (``passback_forgiven``), each recorded with ``guard:<id>``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, StringConstraints

from agent.console.forms import FormError, Line, OneLine, validate
from agent.console.port import ConsolePort
from agent.console.routes import Console
from agent.console.web import Response, Signed, redirect
from agent.console.words import N_
from agent.core.occupancy import KINDS, VEHICLE
from agent.errors import GateError
from agent.models.base import Strict
from agent.models.occupancy import COUNT_MAX

Holder = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                   OneLine]  # fmt: skip
KIND_WORDS = {"resident": N_("resident"), "staff": N_("staff"), "visitor": N_("visitor"),
              "contractor": N_("contractor"), "vehicle": N_("vehicles")}  # fmt: skip


class PresencePort(Protocol):
    """A gate that keeps presence (``GatePort``'s presence methods)."""

    def forgive_holder(self, holder_id: str, by: str, reason: str = "",
                       request_id: str | None = None) -> dict[str, Any]: ...  # fmt: skip

    def correct_occupancy(self, by: str, area: str, kind: str, count: int | None = None,
                          delta: int | None = None, reason: str = "",
                          ) -> dict[str, Any]: ...  # fmt: skip


class ForgiveForm(Strict):
    """The holder id as the card or the office shows it, and why."""

    holder_id: Holder
    reason: Line = ""


class CorrectionForm(Strict):
    """An area's count of one kind: the new count, or a change (+3, -1)."""

    area: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    kind: Literal["resident", "staff", "visitor", "contractor"]
    count: int | None = Field(None, ge=0, le=COUNT_MAX)
    delta: int | None = Field(None, ge=-COUNT_MAX, le=COUNT_MAX)
    reason: Line = ""


class PresenceScreen:
    """``/presence`` and its two forms, added to a console with ``install``."""

    def __init__(self, console: Console, gate: ConsolePort, presence: PresencePort) -> None:
        self._console = console
        self._gate = gate
        self._presence = presence

    def install(self) -> None:
        self._console.more.append(("/presence", "Presence"))
        self._console.get_routes["/presence"] = self.page
        self._console.post_routes.update({"/presence/forgive": self.forgive,
                                          "/presence/correct": self.correct})  # fmt: skip

    def page(self, s: Signed, problems: Sequence[tuple[str, str]] = (), message: str = "",
             status: int = 200) -> Response:  # fmt: skip
        _ = self._console.words(s.request)
        areas = []
        occupancy = self._gate.status(0).occupancy
        for name, area in occupancy.items():
            groups = [*KINDS, *[VEHICLE] * (VEHICLE in area.counts)]  # a car park's cars
            counts = [(_(KIND_WORDS[k]), area.counts.get(k, 0)) for k in groups]
            areas.append({"name": name, "counts": counts, "total": area.total,
                          "capacity": area.capacity, "full": area.full,
                          "refuses": area.refuses_visitors})  # fmt: skip
        parked = any(VEHICLE in a.counts for a in occupancy.values())
        kinds = [(k, _(KIND_WORDS[k])) for k in (*KINDS, *[VEHICLE] * parked)]
        return self._console.page(s, "presence.html", _("Presence"), status, areas=areas,
                                  kinds=kinds, problems=problems, message=message,
                                  v=dict(s.fields))  # fmt: skip

    def forgive(self, s: Signed) -> Response:
        try:
            form = validate(ForgiveForm, s.fields)
            self._presence.forgive_holder(form.holder_id, f"guard:{s.session.guard_id}",
                                          form.reason)  # fmt: skip
        except FormError as exc:
            return self.page(s, exc.fields, str(exc), 400)
        except GateError as exc:
            return self._refused(s, exc)
        return redirect("/presence?ok=forgiven")

    def correct(self, s: Signed) -> Response:
        try:
            form = validate(CorrectionForm, s.fields)
            self._presence.correct_occupancy(f"guard:{s.session.guard_id}", form.area,
                                             form.kind, form.count, form.delta,
                                             form.reason)  # fmt: skip
        except FormError as exc:
            return self.page(s, exc.fields, str(exc), 400)
        except GateError as exc:
            return self._refused(s, exc)
        return redirect("/presence?ok=corrected")

    def _refused(self, s: Signed, exc: GateError) -> Response:
        """Refused by the gate (an unknown area, a count below 0): its reason, one line."""
        why = self._console.words(s.request)("Refused: %(why)s") % {"why": exc}
        return self.page(s, [], why, 400)
