"""The guard's drill page: start a fire or evacuation drill, see it run, stop it, and read
the last drill's report. Every drill a guard starts or stops carries ``guard:<id>``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import Field, StringConstraints

from agent.console.forms import FormError, OneLine, validate
from agent.console.port import ConsolePort
from agent.console.routes import Console
from agent.console.web import Response, Signed, redirect
from agent.core.kinds import DrillKind
from agent.errors import GateError
from agent.models.base import Strict
from agent.models.drills import MAX_MINUTES, NOTE_MAX, drill_lines


class DrillPort(Protocol):
    """A gate that runs drills (``GatePort``'s drill methods)."""

    def start_drill(self, kind: DrillKind, by: str, *, minutes: int | None = None,
                    until: datetime | None = None, note: str = "",
                    request_id: str | None = None) -> dict[str, Any]: ...  # fmt: skip

    def stop_drill(self, by: str) -> dict[str, Any]: ...

    def drill(self) -> dict[str, Any] | None: ...


class DrillForm(Strict):
    """A drill releases doors: the guard confirms it (``confirm``) before it starts."""

    confirm: Literal["yes"]
    kind: DrillKind
    minutes: int = Field(ge=1, le=MAX_MINUTES)
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=NOTE_MAX),
                    OneLine] = ""  # fmt: skip


class DrillScreen:
    """``/drill`` and its two forms, added to a console with ``install``."""

    def __init__(self, console: Console, gate: ConsolePort, drills: DrillPort,
                 zone: ZoneInfo) -> None:  # fmt: skip
        self._console = console
        self._gate = gate
        self._drills = drills
        self._zone = zone

    def install(self) -> None:
        self._console.more.append(("/drill", "Drill"))
        self._console.get_routes["/drill"] = self.page
        self._console.post_routes.update({"/drill": self.start, "/drill/stop": self.stop})

    def page(self, s: Signed, problems: Sequence[tuple[str, str]] = (), message: str = "",
             status: int = 200) -> Response:  # fmt: skip
        _ = self._console.words(s.request)
        running = self._drills.drill()
        context: dict[str, Any] = {"running": running, "problems": problems, "message": message,
                                   "v": s.fields or dict(s.request.query),
                                   "max_minutes": MAX_MINUTES, "note_max": NOTE_MAX}  # fmt: skip
        if running is not None:
            context |= {"running_kind": _("%(kind)s DRILL") % {
                            "kind": _(str(running["kind"])).upper()},
                        "started": self._time(running["started_at"]),
                        "ends": self._time(running["ends_at"])}  # fmt: skip
        last = self._gate.events_of(["drill_ended"], 1)
        if last:
            context |= {"report": drill_lines(last[-1].details),
                        "report_when": last[-1].time.astimezone(self._zone)
                        .strftime("%d %b %H:%M")}  # fmt: skip
        return self._console.page(s, "drill.html", _("Drill"), status, **context)

    def start(self, s: Signed) -> Response:
        try:
            form = validate(DrillForm, s.fields)
            self._drills.start_drill(form.kind, f"guard:{s.session.guard_id}",
                                     minutes=form.minutes, note=form.note)  # fmt: skip
        except FormError as exc:
            return self.page(s, exc.fields, str(exc), 400)
        except GateError as exc:  # refused by the gate: its reason, in its words
            return self.page(s, [], self._console.words(s.request)("Refused: %(why)s")
                             % {"why": exc}, 400)  # fmt: skip
        return redirect("/drill?ok=drill")

    def stop(self, s: Signed) -> Response:
        try:
            self._drills.stop_drill(f"guard:{s.session.guard_id}")
        except GateError as exc:
            return self.page(s, [], self._console.words(s.request)("Refused: %(why)s")
                             % {"why": exc}, 400)  # fmt: skip
        return redirect("/drill?ok=drill-stopped")

    def _time(self, iso: object) -> str:
        try:
            return datetime.fromisoformat(str(iso)).astimezone(self._zone).strftime("%d %b %H:%M")
        except ValueError:
            return str(iso)
