"""Requests and responses of the console, and the plumbing every page shares.

Kept apart from the ASGI app (``asgi.py``, Starlette) so the routes can be read (and
tested) as plain functions of a ``Request``; the app reads cookies, query and body with
Starlette and writes responses and cookies with it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.console.auth import Session
from agent.console.forms import parse_body

SESSION_COOKIE = "gate_console"
PRE_COOKIE = "gate_console_pre"  # the sign-in form's own CSRF token (double submit)
SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
)


@dataclass(frozen=True)
class Request:
    """What the server read: method, path, query, cookies, body and the peer's address."""

    method: str
    path: str
    query: Mapping[str, str]
    cookies: Mapping[str, str]
    body: bytes
    address: str

    def form(self) -> dict[str, str]:
        return parse_body(self.body)


@dataclass(frozen=True)
class Cookie:
    """A cookie to set (``max_age`` 0: to delete); always HttpOnly and SameSite=Strict."""

    name: str
    value: str
    max_age: int
    path: str = "/"


@dataclass
class Response:
    """A page, a redirect, or a stream of server-sent events (``stream``, until done)."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[Cookie] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None


def html(text: str, status: int = 200) -> Response:
    return Response(status, text.encode())


def redirect(to: str) -> Response:
    return Response(303, headers=[("Location", to)])


class Refusals:
    """CSRF and similar refusals: the first reported at once as a ``security_alert``, the
    rest counted into the next report, at most one a minute (an attack cannot flood the log).
    """

    def __init__(self, now: Callable[[], float], report: Callable[[str, int, float], Any]):
        self._now = now
        self._report = report
        self._lock = threading.Lock()
        self._since: dict[str, float] = {}  # the first refusal not reported yet
        self._count: dict[str, int] = {}
        self._reported: dict[str, float] = {}

    def refused(self, reason: str, every_s: float = 60.0) -> None:
        now = self._now()
        with self._lock:
            self._count[reason] = self._count.get(reason, 0) + 1
            self._since.setdefault(reason, now)
            last = self._reported.get(reason)
            if last is not None and now - last < every_s:
                return
            count, since = self._count.pop(reason), self._since.pop(reason)
            self._reported[reason] = now
        self._report(reason, count, round(now - since, 1))


@dataclass(frozen=True)
class Signed:
    """A request from a signed-in guard whose form (if any) passed the CSRF check."""

    request: Request
    session: Session
    fields: dict[str, str]
