"""The guard's muster page: who was last seen inside when the doors were released for a
fire or a drill, who is accounted for (by a muster reader, a way out or a guard) and a
tick for the others; a printable list; a banner on the live view while a muster is open.

Holders appear by id, kind and unit only: the gate holds no names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from agent.console.forms import FormError
from agent.console.routes import Console
from agent.console.web import Response, Signed, redirect
from agent.console.words import Gettext
from agent.errors import GateError
from agent.models.muster import MusterRecord

HOLDER_MAX = 64


class MusterDeskPort(Protocol):
    """The gate's muster (``agent.gate.muster.MusterDesk``): safe from any thread."""

    def view(self) -> MusterRecord | None: ...

    def tick(self, holder_id: str, guard: str) -> MusterRecord: ...


@runtime_checkable
class MusterHost(Protocol):
    """A gate that keeps musters."""

    @property
    def muster(self) -> MusterDeskPort: ...


class MusterScreen:
    """``/muster``, its print page and its tick, added to a console with ``install``."""

    def __init__(self, console: Console, desk: MusterDeskPort, zone: ZoneInfo) -> None:
        self._console = console
        self._desk = desk
        self._zone = zone

    def install(self) -> None:
        self._console.more.append(("/muster", "Muster"))
        self._console.get_routes.update({"/muster": self.page, "/muster/print": self.printable})
        self._console.post_routes["/muster/tick"] = self.tick
        self._console.banners.append(self.banner)

    def banner(self, _: Gettext) -> str | None:
        """The live view's line while a muster is open (its link goes to the list)."""
        rec = self._desk.view()
        if rec is None:
            return None
        counts = rec.counts()
        return _("MUSTER open: %(left)s of %(total)s not yet accounted for") % {
            "left": counts["unaccounted"], "total": counts["total"]}  # fmt: skip

    def _context(self, rec: MusterRecord, _: Gettext) -> dict[str, Any]:
        kinds = {"resident": _("resident"), "staff": _("staff"), "visitor": _("visitor")}
        rows: list[dict[str, Any]] = [
                {"holder_id": h.holder_id, "kind": kinds.get(h.kind or "", h.kind or ""),
                 "unit": h.unit or "", "area": h.area, "since": self._time(h.since),
                 "ticked": h.ticked_at is not None, "by": h.ticked_by or "",
                 "at": self._time(h.ticked_at) if h.ticked_at else ""}
                for h in rec.holders.values()]  # fmt: skip
        rows.sort(key=lambda r: bool(r["ticked"]))  # who is still missing first, in list order
        trigger = _("fire alarm") if rec.trigger == "fire" else _("drill")
        return {"rows": rows, "counts": rec.counts(), "trigger": trigger,
                "started": self._time(rec.started_at), "muster_id": rec.id}  # fmt: skip

    def page(self, s: Signed, message: str = "", status: int = 200) -> Response:
        _ = self._console.words(s.request)
        rec = self._desk.view()
        if rec is None:  # asked for with no fire or drill: said plainly, not an error
            return self._console.page(s, "muster.html", _("Muster"), status, open=False,
                                      message=message)  # fmt: skip
        return self._console.page(s, "muster.html", _("Muster"), status, open=True,
                                  message=message, **self._context(rec, _))  # fmt: skip

    def printable(self, s: Signed) -> Response:
        _ = self._console.words(s.request)
        rec = self._desk.view()
        if rec is None:
            return self.page(s)
        now = self._time(self._console.gate.clock.now())
        return self._console.render(s.request, "muster_print.html", title=_("Muster list"),
                                    printed=now, **self._context(rec, _))  # fmt: skip

    def tick(self, s: Signed) -> Response:
        holder = s.fields.get("holder_id", "").strip()
        if not holder or len(holder) > HOLDER_MAX or not holder.isprintable():
            raise FormError("please check the form", [("holder_id", "not a holder id")])
        try:
            self._desk.tick(holder, s.session.guard_id)
        except GateError as exc:  # refused by the gate: its reason, in its words
            words = self._console.words(s.request)
            return self.page(s, words("Refused: %(why)s") % {"why": exc}, 400)
        return redirect("/muster?ok=muster-tick")

    def _time(self, when: datetime) -> str:
        return when.astimezone(self._zone).strftime("%d %b %H:%M")
