"""Subscriptions that stay made: one the broker refuses is asked for again.

A clustered broker can refuse a SUBSCRIBE while it recovers: NATS 2.9, measured with a
three-node cluster, answered 0x80 to 1-3 of a gate's 6 subscriptions (4 runs of 4)
when the node leading its MQTT stream was killed. Without asking again the gate would
stay deaf on those topics (commands, allow-list patches, receipts) until its next
reconnect. A topic the broker forbids is refused every time: it is asked for at most
once a minute, and the log says so once (a warning), then at DEBUG.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

RETRY_MIN_S = 2.0
RETRY_MAX_S = 60.0


class Subscriptions:
    """Sends each subscription, reads its SUBACK, and retries a refused one with backoff.

    ``send(topic, qos)`` subscribes and returns the message id (None when not sent);
    ``hold`` is called on every connect with the topics wanted now, ``acked`` with each
    SUBACK (True per topic granted). A retry planned in one session is dropped by the next.
    ``granted`` runs (on paho's thread) once a session, when every topic it wants is
    granted: from then on nothing published to them is dropped for want of a subscriber.
    """

    def __init__(
        self,
        send: Callable[[str, int], int | None],
        label: str = "mqtt",
        retry_min_s: float = RETRY_MIN_S,
        granted: Callable[[], None] = lambda: None,
    ) -> None:
        self._send = send
        self._label = label
        self._retry_min_s = retry_min_s
        self._granted = granted
        self._lock = threading.Lock()
        self._session = 0
        self._waiting: dict[int, tuple[str, int]] = {}
        self._missing: set[str] = set()  # topics of this session not granted yet
        self._delay: dict[str, float] = {}  # refused topics: the wait before the next ask
        self._timers: list[threading.Timer] = []

    @property
    def refused(self) -> list[str]:
        """Topics the broker refused and has not granted since."""
        with self._lock:
            return sorted(self._delay)

    @property
    def complete(self) -> bool:
        """Whether every topic this session wants is granted."""
        with self._lock:
            return self._session > 0 and not self._missing

    def hold(self, topics: list[tuple[str, int]]) -> None:
        with self._lock:
            self._session += 1
            session = self._session
            self._waiting.clear()
            self._missing = {topic for topic, _qos in topics}
            self._cancel()
        if not topics:
            self._granted()
        for topic, qos in topics:
            self._ask(session, topic, qos)

    def close(self) -> None:
        with self._lock:
            self._session += 1
            self._cancel()

    def acked(self, mid: int, granted: list[bool]) -> None:
        with self._lock:
            item = self._waiting.pop(mid, None)
            if item is None:
                return
            topic, qos = item
            before = self._delay.get(topic)
            complete = False
            if all(granted):
                self._delay.pop(topic, None)
                complete = bool(self._missing) and self._missing == {topic}
                self._missing.discard(topic)
            else:
                delay = min(RETRY_MAX_S, 2 * before) if before else self._retry_min_s
                self._delay[topic] = delay
                timer = threading.Timer(delay, self._ask, (self._session, topic, qos))
                timer.daemon = True
                self._timers = [t for t in self._timers if t.is_alive()] + [timer]
                timer.start()
        if complete:
            self._granted()
        if all(granted):
            if before:
                log.info("%s: the broker now grants %s", self._label, topic)
        elif before is None:
            log.warning(
                "%s: the broker refused a subscription to %s; asking again", self._label, topic
            )
        else:
            log.debug("%s: subscription to %s refused again", self._label, topic)

    def _ask(self, session: int, topic: str, qos: int) -> None:
        # the lock is held while sending so that the SUBACK, which paho reports on its
        # own thread, cannot arrive before its message id is known
        with self._lock:
            if session != self._session:
                return
            mid = self._send(topic, qos)
            if mid is not None:
                self._waiting[mid] = (topic, qos)

    def _cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT wildcard matching (``+`` one level, ``#`` the rest), as the broker does it."""
    want, have = pattern.split("/"), topic.split("/")
    for i, part in enumerate(want):
        if part == "#":
            return True
        if i >= len(have) or (part != "+" and part != have[i]):
            return False
    return len(want) == len(have)
