"""The console's routes: sign-in (with its lockout), the CSRF check, and each page.

Every POST needs a live session and that session's CSRF token; the sign-in form has
its own token in a short-lived cookie. A refused form changes nothing: CSRF
failures are reported (``security_alert``, once a minute at most), wrong passwords
are recorded (``guard_login_failed``, then ``guard_locked``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from agent.console import pages, screens
from agent.console.auth import (
    LOCK_S,
    LoginGuard,
    Session,
    Sessions,
    fingerprint,
    new_token,
    same,
)
from agent.console.desk import Desk
from agent.console.forms import (
    AlarmAck,
    FormError,
    IncidentClose,
    IncidentOpen,
    IncidentUpdate,
    PassCode,
    SignIn,
    VisitorForm,
    validate,
)
from agent.console.port import ConsolePort, PassDesk
from agent.console.static import CSS, JS
from agent.console.stream import LiveViews, live_events
from agent.console.web import (
    PRE_COOKIE,
    SESSION_COOKIE,
    Cookie,
    Refusals,
    Request,
    Response,
    Signed,
    html,
    redirect,
)
from agent.core.kinds import EventType
from agent.errors import GateError
from agent.models.console import ConsoleConfig
from agent.store.passwords import DUMMY_HASH, verify_password

log = logging.getLogger(__name__)

_E = EventType
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_token makes
KDF_AT_ONCE = 2  # scrypt takes 32 MiB a go: at most this many sign-ins hash at a time
KDF_WAIT_S = 5.0
STATIC = {
    "/static/console.css": ("text/css; charset=utf-8", CSS.encode()),
    "/static/console.js": ("text/javascript; charset=utf-8", JS.encode()),
}
Handler = Callable[[Signed], Response]


class Console:
    """Turns requests into responses; one per console part, shared by its threads. A page
    is added with its handlers in ``get_routes`` / ``post_routes`` and its link in ``more``."""

    def __init__(self, gate: ConsolePort, desk: Desk, config: ConsoleConfig,
                 passes: PassDesk | None = None) -> None:  # fmt: skip
        self.gate = gate
        self.desk = desk
        self.tls = config.tls
        self.passes = passes
        self.max_age = config.session_minutes * 60
        self.only_session = config.one_session_per_guard
        self.sessions = Sessions(gate.clock, config.session_minutes, config.idle_minutes)
        self.logins = LoginGuard(gate.clock)
        self.refusals = Refusals(gate.clock.monotonic, self._report_refusal)
        self.stopping = threading.Event()
        self.views = LiveViews()
        self._kdf = threading.BoundedSemaphore(KDF_AT_ONCE)
        self.get_routes: dict[str, Handler] = {
            "/": self.live_page, "/visitor": self.visitor_page, "/incidents": self.incidents_page,
        }  # fmt: skip
        self.post_routes: dict[str, Handler] = {
            "/logout": self.sign_out, "/visitor": self.register_visitor,
            "/alarms/ack": self.ack_alarm, "/incidents": self.open_incident,
        }  # fmt: skip
        self.more = [("/pass", "Pass")] if passes is not None else []  # links of added pages
        if passes is not None:
            self.get_routes["/pass"] = lambda s: self.page("Visitor pass", s, self._pass_form(s))
            self.post_routes["/pass"] = self.admit_pass

    def handle(self, request: Request) -> Response:
        """Any request; a form problem is a 400 page, never an exception."""
        try:
            return self._handle(request)
        except FormError as exc:  # not a form at all: too big, a field twice, not UTF-8
            return html(pages.page("Refused", pages.errors(exc.fields, str(exc))), 400)

    def _handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path in STATIC:
            kind, content = STATIC[request.path]
            return Response(200, content, kind)
        if request.path == "/login":
            if request.method == "POST":
                return self.sign_in(request)
            return self.sign_in_page(pre=request.cookies.get(PRE_COOKIE, ""))
        session = self.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            if request.method == "POST":  # nothing is done; the form can be sent again after
                return self.sign_in_page("Signed out: sign in again.", 403)
            return redirect("/login")
        handler, fields = self._route(request)
        if handler is None:
            return html(pages.page("Not here", "<p>No such page.</p>"), 404)
        if request.method == "POST" and not same(fields.get("csrf", ""), session.csrf):
            self.refusals.refused("csrf")
            return html(pages.page("Refused", "<p>The form was stale: reload the page.</p>"), 403)
        try:
            return handler(Signed(request, session, fields))
        except FormError as exc:
            body = pages.errors(exc.fields, str(exc)) + '<p><a href="/">Back</a></p>'
            return self.page("Not done", Signed(request, session, fields), body, 400)

    def _route(self, request: Request) -> tuple[Handler | None, dict[str, str]]:
        path, fields = request.path, {}
        if request.method == "POST":
            fields = request.form()  # FormError (too big, repeated field): a 400 from the server
        table = self.post_routes if request.method == "POST" else self.get_routes
        if request.method == "GET" and path == "/live":
            return (lambda s: Response(200, content_type="text/event-stream",
                                       stream=live_events(self, s.session))), fields  # fmt: skip
        if path in table:
            return table[path], fields
        if path.startswith("/incidents/"):
            ident, _, action = path[len("/incidents/"):].partition("/")
            if request.method == "GET" and not action:
                return (lambda s: self.incident_page(s, ident)), fields
            if request.method == "POST" and action in ("update", "close"):
                return (lambda s: self.change_incident(s, ident, action)), fields
        return None, fields

    # -- sign-in ------------------------------------------------------------------
    def sign_in_page(self, problem: str = "", status: int = 200, guard_id: str = "",
                     pre: str = "") -> Response:  # fmt: skip
        """The form, with the sign-in token the browser already holds (another tab, or a
        request for an icon, must not make an open form stale) or a new one."""
        pre = pre if TOKEN.fullmatch(pre) else new_token()
        response = html(pages.sign_in(pre, problem, guard_id), status)
        response.cookies.append(Cookie(PRE_COOKIE, pre, 900, "/login"))
        return response

    def sign_in(self, request: Request) -> Response:
        fields = request.form()
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not same(fields.get("csrf", ""), pre):
            self.refusals.refused("csrf")
            return self.sign_in_page("The sign-in form was stale: try again.", 403)
        try:
            form = validate(SignIn, fields)
        except FormError:
            return self.sign_in_page("Give your guard id and password.", 400)
        guard_id, address = form.guard_id.strip().lower(), request.address
        account = self.gate.account(guard_id)
        breakglass = account is not None and account.breakglass
        wait, scope = self.logins.begin(guard_id, address, breakglass)
        if wait > 0:
            return self.sign_in_page(_wait_words(wait, scope), 429)
        if not self._kdf.acquire(timeout=KDF_WAIT_S):
            self.logins.abandoned(guard_id)
            return self.sign_in_page("The console is busy: try again.", 503, guard_id)
        try:  # an unknown id costs a hash too, so a wrong id is not quicker to tell
            right = verify_password(form.password, account.password_hash if account else DUMMY_HASH)
        finally:
            self._kdf.release()
        if account is None or not right or account.disabled:
            return self._wrong_password(guard_id, address, breakglass)
        self.logins.succeeded(guard_id, address)
        self.sessions.drop(request.cookies.get(SESSION_COOKIE))  # never keep a planted token
        session, ended = self.sessions.create(guard_id, account.breakglass,
                                              fingerprint(account.password_hash),
                                              only=self.only_session)  # fmt: skip
        for old in ended:
            self.gate.record(_E.GUARD_SIGNED_OUT, None, guard=old.guard_id,
                             reason="signed_in_again")  # fmt: skip
        self.gate.record(_E.GUARD_SIGNED_IN, None, guard=guard_id, address=address,
                         breakglass=account.breakglass)  # fmt: skip
        response = redirect("/")
        response.cookies += [
            Cookie(SESSION_COOKIE, session.token, self.max_age),
            Cookie(PRE_COOKIE, "", 0, "/login"),
        ]
        return response

    def session(self, token: str | None, touch: bool = True) -> Session | None:
        """The live session of ``token`` whose account is still as it was at sign-in: an
        office push that removed or disabled the guard, or changed their password, ends it."""
        session = self.sessions.get(token, touch)
        if session is None:
            return None
        account = self.gate.account(session.guard_id)
        if account is None or account.disabled or (
            fingerprint(account.password_hash) != session.password
        ):
            if self.sessions.drop(session.token) is not None and touch:
                self.gate.record(_E.GUARD_SIGNED_OUT, None, guard=session.guard_id,
                                 reason="account_changed")  # fmt: skip
            return None
        return session

    def _wrong_password(self, guard_id: str, address: str, breakglass: bool) -> Response:
        failures, locks = self.logins.failed(guard_id, address, breakglass)
        self.gate.record(_E.GUARD_LOGIN_FAILED, None, guard=guard_id, address=address,
                         failures=failures)  # fmt: skip
        if breakglass:  # the account that opens every door: someone must look at once
            self.gate.record(_E.SECURITY_ALERT, None, topic="console", reason="breakglass_failed",
                             count=failures, over_s=0.0, address=address)  # fmt: skip
        for lock in locks:
            self.gate.record(_E.GUARD_LOCKED, None, scope=lock.scope, subject=lock.subject,
                             failures=lock.failures, lock_s=LOCK_S, guard=guard_id)  # fmt: skip
        if locks:
            return self.sign_in_page("Too many wrong passwords: sign-in locked for 5 min.", 429)
        return self.sign_in_page("Wrong guard id or password.", 401, guard_id)

    def sign_out(self, s: Signed) -> Response:
        self.sessions.drop(s.session.token)
        self.gate.record(_E.GUARD_SIGNED_OUT, None, guard=s.session.guard_id)
        response = redirect("/login")
        response.cookies.append(Cookie(SESSION_COOKIE, "", 0))
        return response

    def _report_refusal(self, reason: str, count: int, over_s: float) -> None:
        self.gate.record(_E.SECURITY_ALERT, None, topic="console", reason=reason, count=count,
                         over_s=over_s)  # fmt: skip

    # -- pages ---------------------------------------------------------------------
    def page(self, title: str, s: Signed, body: str, status: int = 200,
             live: bool = False) -> Response:  # fmt: skip
        text = pages.page(title, body, guard=s.session.guard_id, csrf=s.session.csrf,
                          more=self.more, ok=s.request.query.get("ok"), live=live)  # fmt: skip
        return html(text, status)

    def live_page(self, s: Signed) -> Response:
        body = pages.live(self.gate.status(0), self.desk.alarms(), self.desk.pending(),
                          self.desk.feed(), s.session.csrf)  # fmt: skip
        return self.page("Gate", s, body, live=True)

    def visitor_page(self, s: Signed, problems: Any = (), message: str = "",
                     values: dict[str, str] | None = None, status: int = 200,
                     ) -> Response:  # fmt: skip
        body = screens.visitor(self.gate.door_ids, s.session.csrf, self.desk.allow_names,
                               values if values is not None else dict(s.request.query),
                               problems, message)  # fmt: skip
        return self.page("Register a visitor", s, body, status)

    def register_visitor(self, s: Signed) -> Response:
        try:
            form = validate(VisitorForm, s.fields)
            self.desk.register_visitor(s.session.guard_id, form)
        except FormError as exc:
            return self.visitor_page(s, exc.fields, str(exc), s.fields, 400)
        return redirect("/?ok=visitor-open" if form.open_door else "/?ok=visitor")

    def ack_alarm(self, s: Signed) -> Response:
        self.desk.ack_alarm(s.session.guard_id, validate(AlarmAck, s.fields))
        return redirect("/?ok=ack")

    def incidents_page(self, s: Signed, problems: Any = (), message: str = "",
                       status: int = 200) -> Response:  # fmt: skip
        body = screens.incidents(self.desk.incidents(), self.gate.door_ids, s.session.csrf,
                                 s.fields, problems, message)  # fmt: skip
        return self.page("Incidents", s, body, status)

    def open_incident(self, s: Signed) -> Response:
        try:
            ident = self.desk.open_incident(s.session.guard_id, validate(IncidentOpen, s.fields))
        except FormError as exc:
            return self.incidents_page(s, exc.fields, str(exc), 400)
        return redirect(f"/incidents/{ident}?ok=incident")

    def incident_page(self, s: Signed, ident: str, problems: Any = (), message: str = "",
                      status: int = 200) -> Response:  # fmt: skip
        incident = self.desk.incident(ident)
        if incident is None:
            return self.page("Not here", s, "<p>No such incident.</p>", 404)
        times = {n: note.time.astimezone(self.desk.zone).strftime("%d %b %H:%M")
                 for n, note in enumerate(incident.notes)}  # fmt: skip
        body = screens.incident(incident, s.session.csrf, times, problems, message)
        return self.page(f"Incident {incident.id}", s, body, status)

    def change_incident(self, s: Signed, ident: str, action: str) -> Response:
        guard = s.session.guard_id
        try:
            if action == "close":
                self.desk.close_incident(guard, ident, validate(IncidentClose, s.fields))
            else:
                self.desk.update_incident(guard, ident, validate(IncidentUpdate, s.fields))
        except FormError as exc:
            return self.incident_page(s, ident, exc.fields, str(exc), 400)
        return redirect(f"/incidents/{ident}?ok={'closed' if action == 'close' else 'updated'}")

    def _pass_form(self, s: Signed, problems: Any = (), message: str = "") -> str:
        return screens.pass_code(self.gate.door_ids, s.session.csrf, problems, message)

    def admit_pass(self, s: Signed) -> Response:
        assert self.passes is not None
        try:
            form = validate(PassCode, s.fields)
            if form.door not in self.gate.door_ids:
                raise FormError("please check the form", [("door", f"no door {form.door!r}")])
            result = self.passes.admit_pass(form.door, form.code, f"guard:{s.session.guard_id}")
            if (refusal := _pass_refusal(result)) is not None:
                raise GateError(refusal)
        except FormError as exc:
            return self.page("Visitor pass", s, self._pass_form(s, exc.fields, str(exc)), 400)
        except GateError as exc:  # refused by the gate: its reason, in its words
            return self.page("Visitor pass", s, self._pass_form(s, [], f"Refused: {exc}"), 400)
        return redirect("/pass?ok=pass")


def _wait_words(wait: float, scope: str) -> str:
    amount = f"{max(1, round(wait))} s" if wait < 90 else f"{max(1, round(wait / 60))} min"
    if scope == "address":
        return f"Too many wrong passwords from this device: try again in {amount}."
    return f"Too many wrong passwords: try again in {amount}."


def _pass_refusal(result: object) -> str | None:
    """The reason when the gate's answer says no (``ok``/``granted`` false), else None."""
    get = result.get if isinstance(result, dict) else lambda k, d=None: getattr(result, k, d)
    for flag in ("ok", "granted", "admitted"):
        if get(flag, None) is False:
            return str(get("reason", None) or get("error", None) or "refused").replace("_", " ")
    return None
