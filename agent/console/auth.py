"""Console sign-in: sessions, CSRF tokens and the lockout after wrong passwords.

A session token is 32 random bytes, made only when a password was right, so a token
planted before sign-in (session fixation) is never adopted. Each session carries its
own CSRF token for every form. After ``FAILURES`` wrong passwords within ``WINDOW_S``
for one account, or from one address, that account or address is locked for
``LOCK_S``; during a lock no password is even checked. Time is the injected clock's.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Literal

from agent.core.clock import Clock

FAILURES = 5
WINDOW_S = 300.0
LOCK_S = 300.0
MAX_SESSIONS = 64
MAX_TRACKED = 4096  # accounts and addresses remembered with failures (oldest forgotten)

Scope = Literal["account", "address"]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class Session:
    """A signed-in guard."""

    token: str
    guard_id: str
    csrf: str
    expires: float  # on the clock's monotonic scale
    breakglass: bool = False


class Sessions:
    """Live sessions by token; each ends at its expiry or at sign-out."""

    def __init__(self, clock: Clock, minutes: int) -> None:
        self._clock = clock
        self._ttl = minutes * 60.0
        self._lock = threading.Lock()
        self._by_token: OrderedDict[str, Session] = OrderedDict()

    def create(self, guard_id: str, breakglass: bool = False) -> Session:
        """A new session with fresh tokens (the oldest goes when there are too many)."""
        session = Session(
            new_token(), guard_id, new_token(), self._clock.monotonic() + self._ttl, breakglass
        )
        with self._lock:
            self._by_token[session.token] = session
            while len(self._by_token) > MAX_SESSIONS:
                self._by_token.popitem(last=False)
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token``, or None (unknown, or expired: then forgotten)."""
        if not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None
            if self._clock.monotonic() >= session.expires:
                del self._by_token[token]
                return None
            return session

    def peek(self, token: str | None) -> Session | None:
        """As ``get``, for a live view's checks (not a guard's doing)."""
        return self.get(token)

    def drop(self, token: str | None) -> Session | None:
        with self._lock:
            return self._by_token.pop(token, None) if token else None

    def count(self) -> int:
        with self._lock:
            return len(self._by_token)


@dataclass(frozen=True)
class Lock:
    """A lock that has just started: what to record."""

    scope: Scope
    subject: str
    failures: int


class LoginGuard:
    """Counts wrong passwords per account and per address; locks after too many."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[Scope, str], deque[float]] = OrderedDict()
        self._locked_until: dict[tuple[Scope, str], float] = {}

    def locked_for(self, account: str, address: str) -> float:
        """Seconds until both the account and the address may try again (0: now)."""
        now = self._clock.monotonic()
        with self._lock:
            ends = [self._locked_until.get(k, 0.0) for k in self._keys(account, address)]
        return max(0.0, max(ends) - now)

    def failed(self, account: str, address: str) -> tuple[int, list[Lock]]:
        """Count one wrong password: failures in the window for the account, new locks."""
        now = self._clock.monotonic()
        locks: list[Lock] = []
        counts = []
        with self._lock:
            for key in self._keys(account, address):
                times = self._failures.pop(key, deque())
                times.append(now)
                while times and times[0] <= now - WINDOW_S:
                    times.popleft()
                self._failures[key] = times  # most recently failed last
                counts.append(len(times))
                if len(times) >= FAILURES:
                    self._locked_until[key] = now + LOCK_S
                    locks.append(Lock(key[0], key[1], len(times)))
                    times.clear()  # after the lock, five more to lock again
            self._forget(now)
        return counts[0], locks

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            for key in self._keys(account, address):
                self._failures.pop(key, None)

    @staticmethod
    def _keys(account: str, address: str) -> tuple[tuple[Scope, str], tuple[Scope, str]]:
        return ("account", account), ("address", address)

    def _forget(self, now: float) -> None:
        """Bounded memory whatever an attacker sends: old entries go first."""
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]
