"""The console's routes: sign-in (``signin.py``), the CSRF check, and each page.

Every POST needs a live session and that session's CSRF token; the sign-in form has
its own token in a short-lived cookie. A refused form changes nothing: CSRF
failures are reported (``security_alert``, once a minute at most), wrong passwords
are recorded (``guard_login_failed``, then ``guard_locked``). Pages are templates in
the guard's language: ``?lang=`` (the switcher, kept in a cookie), else ``[console]
language``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from agent.console.auth import LoginGuard, Session, Sessions, same
from agent.console.desk import Desk
from agent.console.forms import AlarmAck, DoorOpen, FormError, validate
from agent.console.port import ConsolePort, PassDesk
from agent.console.render import LANG_COOKIE, LANGUAGES, Gettext, Pages
from agent.console.screens import Screens
from agent.console.signin import Gatekeeper
from agent.console.stream import LiveViews, live_events
from agent.console.web import (
    SESSION_COOKIE,
    Cookie,
    Refusals,
    Request,
    Response,
    Signed,
    redirect,
)
from agent.console.words import door_alarm, door_words, link_words, mode_words
from agent.core.kinds import EventType
from agent.models.console import ConsoleConfig

log = logging.getLogger(__name__)

_E = EventType
VEHICLES = 3  # the latest camera reads the live page shows with their pictures
Handler = Callable[[Signed], Response]
OK_MESSAGES = {  # only known messages: a link cannot put words on a page
    "visitor": "Visitor registered.",
    "visitor-open": "Visitor registered and the door opened.",
    "ack": "Alarm acknowledged.",
    "ack-all": "All alarms acknowledged.",
    "door": "Door opened.",
    "incident": "Incident opened.",
    "updated": "Incident updated.",
    "closed": "Incident closed.",
    "pass": "Pass accepted: the door opened.",
    "drill": "Drill started: the doors it covers are released.",
    "drill-stopped": "Drill stopped: its report is recorded.",
    "complaint": "Complaint sent to the office.",
    "muster-tick": "Ticked off: accounted for.",
    "barrier": "Barrier raised.",
    "signed-out": "Signed out.",
    "forgiven": "Forgiven: the holder's next tap is taken as it comes.",
    "corrected": "Count corrected.",
}


class Console:
    """Turns requests into responses; one per console part, shared by its threads. A page
    is added with its handlers in ``get_routes`` / ``post_routes`` and its link in ``more``."""

    def __init__(self, gate: ConsolePort, desk: Desk, config: ConsoleConfig,
                 passes: PassDesk | None = None, site: str = "", gate_id: str = "",
                 ) -> None:  # fmt: skip
        self.gate = gate
        self.desk = desk
        self.tls = config.tls
        self.language = config.language
        self.passes = passes
        self.max_age = config.session_minutes * 60
        self.only_session = config.one_session_per_guard
        self.sessions = Sessions(gate.clock, config.session_minutes, config.idle_minutes)
        self.logins = LoginGuard(gate.clock)
        self.refusals = Refusals(gate.clock.monotonic, self._report_refusal)
        self.stopping = threading.Event()
        self.views = LiveViews()
        self.pages = Pages(site or "-", gate_id or "-")
        self.keeper = Gatekeeper(self)
        screens = Screens(self)
        self.get_routes: dict[str, Handler] = {
            "/": self.live_page, "/visitor": screens.visitor_page,
            "/incidents": screens.incidents_page,
        }  # fmt: skip
        self.post_routes: dict[str, Handler] = {
            "/logout": self.sign_out, "/visitor": screens.register_visitor,
            "/alarms/ack": self.ack_alarm, "/incidents": screens.open_incident,
            "/doors/open": self.open_door, "/alive": self.alive,
        }  # fmt: skip
        self.more = [("/pass", "Pass")] if passes is not None else []  # links of added pages
        if passes is not None:
            self.get_routes["/pass"] = screens.pass_page
            self.post_routes["/pass"] = screens.admit_pass
        self.screens = screens
        # lines the live view shows prominently while they say something (the muster)
        self.banners: list[Callable[[Gettext], str | None]] = []

    # -- language -------------------------------------------------------------------
    def lang(self, request: Request) -> str:
        for chosen in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
            if chosen in LANGUAGES:
                return chosen
        return self.language

    def words(self, request: Request) -> Gettext:
        return self.pages.gettext(self.lang(request))

    def render(self, request: Request, template: str, status: int = 200,
               **context: Any) -> Response:  # fmt: skip
        text = self.pages.render(template, self.lang(request), **context)
        return Response(status, text.encode())

    def page(self, s: Signed, template: str, title: str, status: int = 200,
             **context: Any) -> Response:  # fmt: skip
        """A signed-in page: the menu (with the ``more`` links), the sign-out button."""
        _ = self.words(s.request)
        links = [("/", _("Live")), ("/visitor", _("Visitor")), ("/incidents", _("Incidents")),
                 *((href, _(text)) for href, text in self.more)]  # fmt: skip
        told = OK_MESSAGES.get(s.request.query.get("ok") or "")
        defaults: dict[str, Any] = {"v": {}, "problems": (), "message": ""}
        return self.render(s.request, template, status, title=title, guard=s.session.guard_id,
                           csrf=s.session.csrf, links=links, active=s.request.path,
                           ok=_(told) if told else None, **(defaults | context))  # fmt: skip

    # -- requests -------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Any request; a form problem is a 400 page, never an exception."""
        try:
            response = self._handle(request)
        except FormError as exc:  # not a form at all: too big, a field twice, not UTF-8
            response = self.render(request, "message.html", 400,
                                   title=self.words(request)("Refused"), problems=exc.fields,
                                   message=str(exc))  # fmt: skip
        if request.query.get("lang") in LANGUAGES:  # the switcher: kept for the next pages
            response.cookies.append(Cookie(LANG_COOKIE, self.lang(request), 365 * 86400))
        return response

    def session(self, token: str | None, touch: bool = True) -> Session | None:
        return self.keeper.session(token, touch)

    def _handle(self, request: Request) -> Response:
        _ = self.words(request)
        if request.path == "/login":
            if request.method == "POST":
                return self.keeper.sign_in(request)
            return self.keeper.page(request)
        session = self.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            if request.method == "POST":  # nothing is done; the form can be sent again after
                return self.keeper.page(request, _("Signed out: sign in again."), 403)
            return redirect("/login")
        handler, fields = self._route(request)
        if handler is None:
            return self.render(request, "message.html", 404, title=_("Not here"),
                               text=_("No such page."), problems=(), message="")  # fmt: skip
        if request.method == "POST" and not same(fields.get("csrf", ""), session.csrf):
            self.refusals.refused("csrf")
            return self.render(request, "message.html", 403, title=_("Refused"),
                               text=_("The form was stale: reload the page."), problems=(),
                               message="")  # fmt: skip
        signed = Signed(request, session, fields)
        try:
            return handler(signed)
        except FormError as exc:
            return self.page(signed, "message.html", _("Not done"), 400, problems=exc.fields,
                             message=str(exc), back=True)  # fmt: skip

    def _route(self, request: Request) -> tuple[Handler | None, dict[str, str]]:
        path, fields = request.path, {}
        if request.method == "POST":
            fields = request.form()  # FormError (too big, repeated field): a 400 from the server
        table = self.post_routes if request.method == "POST" else self.get_routes
        if request.method == "GET" and path == "/live":
            words = self.words(request)

            def live(s: Signed) -> Response:
                return Response(200, content_type="text/event-stream",
                                stream=live_events(self, s.session, words))  # fmt: skip

            return live, fields
        if path in table:
            return table[path], fields
        if path.startswith("/incidents/"):
            ident, _, action = path[len("/incidents/") :].partition("/")
            if request.method == "GET" and not action:
                return (lambda s: self.screens.incident_page(s, ident)), fields
            if request.method == "POST" and action in ("update", "close"):
                return (lambda s: self.screens.change_incident(s, ident, action)), fields
        return None, fields

    def sign_out(self, s: Signed) -> Response:
        self.sessions.drop(s.session.token)
        self.gate.record(_E.GUARD_SIGNED_OUT, None, guard=s.session.guard_id)
        response = redirect("/login")
        response.cookies.append(Cookie(SESSION_COOKIE, "", 0))
        return response

    def _report_refusal(self, reason: str, count: int, over_s: float) -> None:
        self.gate.record(_E.SECURITY_ALERT, None, topic="console", reason=reason, count=count,
                         over_s=over_s)  # fmt: skip

    # -- the live page and what it does ------------------------------------------------
    def live_page(self, s: Signed) -> Response:
        _ = self.words(s.request)
        status = self.gate.status(0)
        doors = [(door, door_words(d, _), door_alarm(d)) for door, d in status.doors.items()]
        drill = None
        if status.drill:  # a release that is a drill must not read as an emergency
            drill = _("%(kind)s DRILL running (by %(by)s):") % {
                "kind": _(str(status.drill.get("kind", ""))).upper(),
                "by": status.drill.get("by", "")}  # fmt: skip
        panel = self.desk.panel(_)
        banners = [line for banner in self.banners if (line := banner(_))]
        feed = self.desk.feed(_)
        vehicles = [item for item in feed if item["vehicle"]][:VEHICLES]
        return self.page(s, "live.html", _("Gate"), live=True, mode=status.mode, banners=banners,
                         mode_words=_("mode %(mode)s") % {"mode": mode_words(status.mode, _)},
                         link=link_words(status.office_link, _), doors=doors, drill=drill,
                         alarms=panel["alarms"], pending=panel["pending"],
                         feed=feed, vehicles=vehicles, plates="/plates" in self.get_routes,
                         barrier="/barrier" in self.get_routes)  # fmt: skip

    def alive(self, s: Signed) -> Response:
        """The live page saw the guard touch it: the session is not idle (nothing else)."""
        return Response(204)

    def open_door(self, s: Signed) -> Response:
        """The guard's own open: one pulse, recorded as ``remote_open`` by ``guard:<id>``."""
        form = validate(DoorOpen, s.fields)
        if form.door not in self.gate.door_ids:
            raise FormError("please check the form", [("door", f"no door {form.door!r}")])
        self.gate.open_door(form.door, by=f"guard:{s.session.guard_id}",
                            request_id=f"console-{uuid.uuid4().hex[:12]}")  # fmt: skip
        return redirect("/?ok=door")

    def ack_alarm(self, s: Signed) -> Response:
        form = validate(AlarmAck, s.fields)
        if form.all == "yes":
            self.desk.ack_all(s.session.guard_id, form.note)
            return redirect("/?ok=ack-all")
        self.desk.ack_alarm(s.session.guard_id, form)
        return redirect("/?ok=ack")
