"""Console sign-in: the form, the password check under the lockout, and whether a
session is still good (its account unchanged since sign-in).

Every sign-in attempt is counted before its password is checked (``LoginGuard.begin``);
an unknown id costs a hash too, so a wrong id is not quicker to tell.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from agent.console.auth import LOCK_S, Session, fingerprint, new_token, same
from agent.console.forms import FormError, SignIn, validate
from agent.console.web import PRE_COOKIE, SESSION_COOKIE, Cookie, Request, Response, redirect
from agent.core.kinds import EventType
from agent.store.passwords import DUMMY_HASH, verify_password

if TYPE_CHECKING:
    from agent.console.routes import Console

_E = EventType
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_token makes
KDF_AT_ONCE = 2  # scrypt takes 32 MiB a go: at most this many sign-ins hash at a time
KDF_WAIT_S = 5.0


class Gatekeeper:
    """Sign-in and session checks of one console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._kdf = threading.BoundedSemaphore(KDF_AT_ONCE)

    def page(self, request: Request, problem: str = "", status: int = 200,
             guard_id: str = "") -> Response:  # fmt: skip
        """The form, with the sign-in token the browser already holds (another tab, or a
        request for an icon, must not make an open form stale) or a new one."""
        c, _ = self.console, self.console.words(request)
        pre = request.cookies.get(PRE_COOKIE, "")
        pre = pre if TOKEN.fullmatch(pre) else new_token()
        response = c.render(request, "sign_in.html", status, title=_("Sign in"), pre=pre,
                            problem=problem, guard_id=guard_id)  # fmt: skip
        response.cookies.append(Cookie(PRE_COOKIE, pre, 900, "/login"))
        return response

    def sign_in(self, request: Request) -> Response:
        c, _ = self.console, self.console.words(request)
        fields = request.form()
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not same(fields.get("csrf", ""), pre):
            c.refusals.refused("csrf")
            return self.page(request, _("The sign-in form was stale: try again."), 403)
        try:
            form = validate(SignIn, fields)
        except FormError:
            return self.page(request, _("Give your guard id and password."), 400)
        guard_id, address = form.guard_id.strip().lower(), request.address
        account = c.gate.account(guard_id)
        breakglass = account is not None and account.breakglass
        wait, scope = c.logins.begin(guard_id, address, breakglass)
        if wait > 0:
            return self.page(request, self._wait_words(request, wait, scope), 429)
        if not self._kdf.acquire(timeout=KDF_WAIT_S):
            c.logins.abandoned(guard_id)
            return self.page(request, _("The console is busy: try again."), 503, guard_id)
        try:
            right = verify_password(form.password, account.password_hash if account else DUMMY_HASH)
        finally:
            self._kdf.release()
        if account is None or not right or account.disabled:
            return self._wrong_password(request, guard_id, breakglass)
        c.logins.succeeded(guard_id, address)
        c.sessions.drop(request.cookies.get(SESSION_COOKIE))  # never keep a planted token
        session, ended = c.sessions.create(guard_id, account.breakglass,
                                           fingerprint(account.password_hash),
                                           only=c.only_session)  # fmt: skip
        for old in ended:
            c.gate.record(_E.GUARD_SIGNED_OUT, None, guard=old.guard_id,
                          reason="signed_in_again")  # fmt: skip
        c.gate.record(_E.GUARD_SIGNED_IN, None, guard=guard_id, address=address,
                      breakglass=account.breakglass)  # fmt: skip
        response = redirect("/")
        response.cookies += [
            Cookie(SESSION_COOKIE, session.token, c.max_age),
            Cookie(PRE_COOKIE, "", 0, "/login"),
        ]
        return response

    def _wrong_password(self, request: Request, guard_id: str, breakglass: bool) -> Response:
        c, _, address = self.console, self.console.words(request), request.address
        failures, locks = c.logins.failed(guard_id, address, breakglass)
        c.gate.record(_E.GUARD_LOGIN_FAILED, None, guard=guard_id, address=address,
                      failures=failures)  # fmt: skip
        if breakglass:  # the account that opens every door: someone must look at once
            c.gate.record(_E.SECURITY_ALERT, None, topic="console", reason="breakglass_failed",
                          count=failures, over_s=0.0, address=address)  # fmt: skip
        for lock in locks:
            c.gate.record(_E.GUARD_LOCKED, None, scope=lock.scope, subject=lock.subject,
                          failures=lock.failures, lock_s=LOCK_S, guard=guard_id)  # fmt: skip
        if locks:
            return self.page(request, _("Too many wrong passwords: sign-in locked for 5 min."),
                             429)  # fmt: skip
        return self.page(request, _("Wrong guard id or password."), 401, guard_id)

    def session(self, token: str | None, touch: bool = True) -> Session | None:
        """The live session of ``token`` whose account is still as it was at sign-in: an
        office push that removed or disabled the guard, or changed their password, ends it."""
        c = self.console
        session = c.sessions.get(token, touch)
        if session is None:
            return None
        account = c.gate.account(session.guard_id)
        if (
            account is None
            or account.disabled
            or (fingerprint(account.password_hash) != session.password)
        ):
            if c.sessions.drop(session.token) is not None and touch:
                c.gate.record(_E.GUARD_SIGNED_OUT, None, guard=session.guard_id,
                              reason="account_changed")  # fmt: skip
            return None
        return session

    def _wait_words(self, request: Request, wait: float, scope: str) -> str:
        _ = self.console.words(request)
        amount = (_("%(n)s s") % {"n": max(1, round(wait))} if wait < 90
                  else _("%(n)s min") % {"n": max(1, round(wait / 60))})  # fmt: skip
        if scope == "address":
            return _("Too many wrong passwords from this device: try again in %(t)s.") % {
                "t": amount}  # fmt: skip
        return _("Too many wrong passwords: try again in %(t)s.") % {"t": amount}
