"""Console sign-in: sessions, CSRF tokens and the lockout after wrong passwords.

A session token is 32 random bytes, made only when a password was right, so a token
planted before sign-in (session fixation) is never adopted. Each session carries its
own CSRF token for every form; it ends at sign-out, after ``minutes`` in all, after
``idle_minutes`` without a request, at a newer sign-in of the same guard (unless
configured otherwise) and when the guard's account is removed, disabled or given a new
password by the office. ``LoginGuard`` counts wrong passwords. Time is the injected
clock's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from agent.core.clock import Clock

FAILURES = 5
WINDOW_S = 300.0
LOCK_S = 300.0
ADDRESS_FREE = 10  # wrong passwords from one address in a window before it is slowed down
ADDRESS_MAX_WAIT_S = 60.0
BREAKGLASS_WAIT_S = 5.0  # after its first wrong password; doubled after each one
BREAKGLASS_MAX_S = 900.0
BREAKGLASS_WINDOW_S = 3600.0
MAX_SESSIONS = 64
MAX_TRACKED = 4096  # accounts and addresses remembered with failures (oldest forgotten)

Scope = Literal["account", "address"]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


def fingerprint(password_hash: str) -> str:
    """What a session remembers of its account's password: enough to see it changed."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Session:
    """A signed-in guard."""

    token: str
    guard_id: str
    csrf: str
    expires: float  # on the clock's monotonic scale
    breakglass: bool = False
    password: str = ""  # the fingerprint of the account's hash at sign-in


class Sessions:
    """Live sessions by token; each ends at its expiry, when idle, at sign-out or revoked."""

    def __init__(self, clock: Clock, minutes: int, idle_minutes: int | None = None) -> None:
        self._clock = clock
        self._ttl = minutes * 60.0
        self._idle = (idle_minutes if idle_minutes is not None else minutes) * 60.0
        self._lock = threading.Lock()
        self._by_token: OrderedDict[str, Session] = OrderedDict()
        self._seen: dict[str, float] = {}  # token: the last request of its guard

    def create(self, guard_id: str, breakglass: bool = False, password: str = "",
               only: bool = False) -> tuple[Session, list[Session]]:  # fmt: skip
        """A new session with fresh tokens, and the sessions it ended: the guard's older
        ones when ``only``, the oldest of all when there are too many."""
        now = self._clock.monotonic()
        session = Session(new_token(), guard_id, new_token(), now + self._ttl, breakglass,
                          password)  # fmt: skip
        with self._lock:
            ended = [s for s in self._by_token.values() if only and s.guard_id == guard_id]
            for old in ended:
                self._pop(old.token)
            self._by_token[session.token] = session
            self._seen[session.token] = now
            while len(self._by_token) > MAX_SESSIONS:
                self._pop(next(iter(self._by_token)))
        return session, ended

    def get(self, token: str | None, touch: bool = True) -> Session | None:
        """The live session of ``token`` (a request of its guard: it is not idle), or None
        (unknown, or expired: then forgotten)."""
        if not token:
            return None
        now = self._clock.monotonic()
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None
            if now >= session.expires or now - self._seen[token] >= self._idle:
                self._pop(token)
                return None
            if touch:
                self._seen[token] = now
            return session

    def peek(self, token: str | None) -> Session | None:
        """As ``get``, for a live view's checks: not a guard's doing, so it keeps no
        session from going idle."""
        return self.get(token, touch=False)

    def drop(self, token: str | None) -> Session | None:
        with self._lock:
            return self._pop(token) if token else None

    def end_where(self, ends: Callable[[Session], bool]) -> list[Session]:
        """End every session for which ``ends`` is true; the ended ones."""
        with self._lock:
            ended = [s for s in self._by_token.values() if ends(s)]
            for session in ended:
                self._pop(session.token)
        return ended

    def count(self) -> int:
        with self._lock:
            return len(self._by_token)

    def _pop(self, token: str) -> Session | None:
        self._seen.pop(token, None)
        return self._by_token.pop(token, None)


@dataclass(frozen=True)
class Lock:
    """A lock that has just started: what to record."""

    scope: Scope
    subject: str
    failures: int


@dataclass
class _Tries:
    """Wrong passwords (times) of one account or address, attempts under way, and when
    the next attempt may start."""

    failures: deque[float] = field(default_factory=deque)
    pending: int = 0
    not_before: float = 0.0


class LoginGuard:
    """Wrong passwords, counted per account and per address.

    An account is locked for ``LOCK_S`` after ``FAILURES`` wrong passwords in ``WINDOW_S``;
    an attempt is counted (``begin``) before its password is checked, so sign-ins sent at
    once can never check more than ``FAILURES`` passwords in a window. An address is only
    slowed down: past ``ADDRESS_FREE`` failures each try waits longer (1 s, 2 s, 4 s ... up
    to ``ADDRESS_MAX_WAIT_S``), so one guard's mistakes on a shared tablet lock out nobody
    else. The break-glass account is never slowed by others' failures; its own failures
    each double its wait (from ``BREAKGLASS_WAIT_S``, one check at a time).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tries: OrderedDict[tuple[Scope, str], _Tries] = OrderedDict()

    def begin(self, account: str, address: str, breakglass: bool = False) -> tuple[float, Scope]:
        """Seconds to wait and whose limit it is; (0, ...) counts one attempt under way,
        to be ended by ``failed``, ``succeeded`` or ``abandoned``."""
        now = self._clock.monotonic()
        with self._lock:
            mine = self._get(("account", account))
            if now < mine.not_before:
                return mine.not_before - now, "account"
            self._expire(mine, now, BREAKGLASS_WINDOW_S if breakglass else WINDOW_S)
            # break-glass: one check at a time (its failures set its wait, above)
            under_way = mine.pending + (0 if breakglass else len(mine.failures))
            if under_way >= (1 if breakglass else FAILURES):
                return (BREAKGLASS_WAIT_S if breakglass else LOCK_S), "account"
            if not breakglass:
                place = self._get(("address", address))
                if now < place.not_before:
                    return place.not_before - now, "address"
            mine.pending += 1
            return 0.0, "account"

    def failed(self, account: str, address: str, breakglass: bool = False,
               ) -> tuple[int, list[Lock]]:  # fmt: skip
        """Count one wrong password: failures in the window for the account, new locks."""
        now = self._clock.monotonic()
        locks: list[Lock] = []
        with self._lock:
            mine = self._get(("account", account))
            mine.pending = max(0, mine.pending - 1)
            mine.failures.append(now)
            count = len(mine.failures)
            if breakglass:
                mine.not_before = now + min(BREAKGLASS_WAIT_S * 2 ** (count - 1), BREAKGLASS_MAX_S)
            elif count >= FAILURES:
                mine.not_before = now + LOCK_S
                locks.append(Lock("account", account, count))
                mine.failures.clear()  # after the lock, five more to lock again
            place = self._get(("address", address))
            self._expire(place, now, WINDOW_S)
            place.failures.append(now)
            over = len(place.failures) - ADDRESS_FREE
            if over > 0:
                place.not_before = now + min(2.0 ** (over - 1), ADDRESS_MAX_WAIT_S)
            self._forget()
        return count, locks

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            mine = self._get(("account", account))
            mine.pending = max(0, mine.pending - 1)
            mine.failures.clear()

    def abandoned(self, account: str) -> None:
        """An attempt that checked no password (the console was busy)."""
        with self._lock:
            mine = self._get(("account", account))
            mine.pending = max(0, mine.pending - 1)

    def _get(self, key: tuple[Scope, str]) -> _Tries:
        tries = self._tries.pop(key, None) or _Tries()
        self._tries[key] = tries  # most recently used last
        return tries

    @staticmethod
    def _expire(tries: _Tries, now: float, window: float) -> None:
        while tries.failures and tries.failures[0] <= now - window:
            tries.failures.popleft()

    def _forget(self) -> None:
        """Bounded memory whatever an attacker sends: the least recently used go first."""
        while len(self._tries) > MAX_TRACKED:
            key = next(iter(self._tries))
            if self._tries[key].pending:
                break
            del self._tries[key]
