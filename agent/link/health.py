"""What a broker connection is doing, for status, and the log lines that say so.

A broker that stays away must not fill the log: the first failed attempt is a
warning with its reason (a new reason is warned about again), repeats go to DEBUG
with a count, and the return is one INFO line that says how many attempts failed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSnapshot:
    """The connection's state at one moment."""

    connected: bool
    connected_since: datetime | None
    disconnected_since: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failed_attempts: int


def utc_now() -> datetime:
    return datetime.now(UTC)


def describe(exc: BaseException) -> str:
    """A short reason for a failed connection attempt: "connection refused", "timed out"."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return sentence_case(text)


def disconnect_reason(reason: object) -> str:
    """Why paho says a connection ended; a dropped socket is "connection lost"."""
    # paho reports a lost socket as reason code 128, "Unspecified error" (an MQTT 3.1.1
    # broker never says why it closes)
    if getattr(reason, "value", None) == 128:
        return "connection lost"
    return sentence_case(str(reason))


def sentence_case(text: str) -> str:
    """Lower the first letter ("Connection refused" -> "connection refused"), not an acronym."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


class LinkHealth:
    """Connection state and its log lines; updated on paho's thread, read from any."""

    def __init__(self, label: str, where: str, now: Callable[[], datetime]) -> None:
        self.label = label
        self.where = where
        self._now = now
        self._lock = threading.Lock()
        self._connected = False
        self._connected_since: datetime | None = None
        self._disconnected_since: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._failed = 0
        self._warned_reason: str | None = None

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def snapshot(self) -> LinkSnapshot:
        with self._lock:
            return LinkSnapshot(
                self._connected,
                self._connected_since,
                self._disconnected_since,
                self._last_error,
                self._last_error_at,
                self._failed,
            )

    def up(self) -> None:
        with self._lock:
            failed, self._failed = self._failed, 0
            self._connected, self._connected_since = True, self._now()
            self._disconnected_since = None
            self._warned_reason = None
        if failed:
            plural = "" if failed == 1 else "s"
            log.info(
                "%s up after %d failed attempt%s (connected to %s)",
                self.label,
                failed,
                plural,
                self.where,
            )
        else:
            log.info("%s up (connected to %s)", self.label, self.where)

    def failed(self, reason: str) -> None:
        """An attempt to connect that did not get as far as a session."""
        with self._lock:
            self._failed += 1
            count = self._failed
            self._note_error(reason)
            if self._disconnected_since is None:
                self._disconnected_since = self._last_error_at
            repeat = reason == self._warned_reason
            self._warned_reason = reason
        if repeat:
            log.debug(
                "%s: cannot connect to %s: %s (%d failed attempts)",
                self.label,
                self.where,
                reason,
                count,
            )
        else:
            log.warning(
                "%s: cannot connect to %s: %s; retrying (repeats are logged at DEBUG)",
                self.label,
                self.where,
                reason,
            )

    def down(self, reason: str) -> None:
        """An established session ended without being asked to."""
        with self._lock:
            self._connected, self._connected_since = False, None
            self._note_error(reason)
            self._disconnected_since = self._last_error_at
            self._warned_reason = None
        log.warning("%s down (%s): %s; reconnecting", self.label, self.where, reason)

    def closed(self) -> None:
        """The owner closed the connection (stopping)."""
        with self._lock:
            was, self._connected, self._connected_since = self._connected, False, None
            self._disconnected_since = self._now()
        if was:
            log.info("%s closed (%s)", self.label, self.where)

    def _note_error(self, reason: str) -> None:
        self._last_error, self._last_error_at = reason, self._now()
