"""The guard's barrier page: the vehicle barriers' state, and a raise for a vehicle whose
plate the camera misread. The guard types the plate; the gate records
``barrier_raised_by_guard`` with the guard's id and the plate normalised and masked
(never as typed), then raises the arm for one vehicle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import StringConstraints

from agent.console.forms import FormError, OneLine, validate
from agent.console.port import ConsolePort
from agent.console.routes import Console
from agent.console.web import Response, Signed, redirect
from agent.console.words import N_, Gettext
from agent.errors import GateError
from agent.models.barrier import BarrierStatus
from agent.models.base import Strict
from drivers.plates import normalise_plate

PHASES = {
    "down": N_("down"), "waiting": N_("up, waiting for the vehicle"),
    "occupied": N_("up, a vehicle under the arm"), "closing": N_("up, closing"),
    "held": N_("held up (release)"),
}  # fmt: skip


@runtime_checkable
class BarrierPort(Protocol):
    """A gate with vehicle barriers (``GatePort``'s barrier method)."""

    def raise_barrier(self, door: str, guard: str, plate: str,
                      request_id: str | None = None) -> str: ...  # fmt: skip


class BarrierRaise(Strict):
    """The barrier and the plate the guard read off the vehicle."""

    door: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16),
                     OneLine]  # fmt: skip


def state_words(b: BarrierStatus, _: Gettext) -> str:
    words = [_(PHASES[b.phase])]
    if b.vehicle_present and b.phase in ("down", "held"):
        words.append(_("a vehicle on the loop"))
    if b.loop_fault:
        words.append(_("LOOP FAULT"))
    if b.vehicle_tailgates:
        words.append(_("%(n)s tailgate(s) since the gate started") % {"n": b.vehicle_tailgates})
    return ", ".join(words)


class BarrierScreen:
    """``/barrier`` and its raise form, added to a console with ``install``."""

    def __init__(self, console: Console, gate: ConsolePort, barriers: BarrierPort) -> None:
        self._console = console
        self._gate = gate
        self._barriers = barriers

    def install(self) -> None:
        self._console.more.append(("/barrier", "Barrier"))
        self._console.get_routes["/barrier"] = self.page
        self._console.post_routes["/barrier/raise"] = self.raise_arm

    def page(self, s: Signed, problems: Sequence[tuple[str, str]] = (), message: str = "",
             status: int = 200) -> Response:  # fmt: skip
        _ = self._console.words(s.request)
        rows: list[dict[str, Any]] = [
            {
                "door": door,
                "state": state_words(b, _),
                "fault": b.loop_fault,
                "sign": " / ".join(t for t in (b.sign or ()) if t),
            }
            for door, b in self._gate.status(0).barriers.items()
        ]
        return self._console.page(s, "barrier.html", _("Barrier"), status, barriers=rows,
                                  problems=problems, message=message,
                                  v=dict(s.fields))  # fmt: skip

    def raise_arm(self, s: Signed) -> Response:
        _ = self._console.words(s.request)
        try:
            form = validate(BarrierRaise, s.fields)
            if normalise_plate(form.plate) is None:
                raise FormError(_("please check the form"),
                                [("plate", _("not a licence plate (e.g. 京A12345)"))])  # fmt: skip
            if form.door not in self._gate.status(0).barriers:
                no_barrier = _("no barrier %(door)s") % {"door": form.door}
                raise FormError(_("please check the form"), [("door", no_barrier)])
            self._barriers.raise_barrier(form.door, s.session.guard_id, form.plate,
                                         f"console-{uuid.uuid4().hex[:12]}")  # fmt: skip
        except FormError as exc:
            return self.page(s, exc.fields, str(exc), 400)
        except GateError as exc:  # refused by the gate (changed meanwhile)
            return self.page(s, [("door", str(exc))], _("Not done"), 400)
        return redirect("/barrier?ok=barrier")
