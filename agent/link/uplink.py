"""Events and status to the office.

Events are published at QoS 1 and marked sent only when the broker's PUBACK comes
back; after any disconnect everything unsent is published again, so an event can
arrive twice (the office drops repeats by id) but never not at all. New events go
out as they happen; the backlog drains in sequence order beside them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime
from functools import partial

from agent.core.kinds import EventType
from agent.core.runner import Threads
from agent.errors import MqttError
from agent.gate.ports import GatePort
from agent.link.mqtt import MqttConnection
from agent.link.topics import Topics
from agent.models.messages import GateStatus
from agent.models.wire import Event
from agent.store.eventlog import EventLog

log = logging.getLogger(__name__)

WINDOW = 1000  # events published but not yet acknowledged
BATCH = 500
STATUS_EVENTS = frozenset(
    {EventType.MODE_CHANGED, EventType.ALLOWLIST_UPDATED, EventType.CONFIG_CHANGED}
)


class Uplink:
    """Drains the outbox and keeps the retained status fresh; a part of the runner."""

    name = "uplink"

    def __init__(
        self,
        gate: GatePort,
        outbox: EventLog,
        conn: MqttConnection,
        topics: Topics,
        status_interval_s: float,
    ) -> None:
        self.gate = gate
        self.outbox = outbox
        self.conn = conn
        self.topics = topics
        self.status_interval_s = status_interval_s
        self._wake = threading.Event()
        self._reset = threading.Event()
        self._status_due = threading.Event()
        self._acked: deque[int] = deque()  # seqs acknowledged, appended on paho's thread
        self._live: deque[Event] = deque()
        self._threads: Threads | None = None
        self.sent_count = 0
        self.last_acked: tuple[int, datetime] | None = None  # (seq, when), for status
        gate.add_event_listener(self._on_event)

    # -- lifecycle ----------------------------------------------------------
    def start(self, threads: Threads) -> None:
        self._threads = threads
        threads.spawn("gate-uplink", self._run)

    def stop(self, flush_s: float = 2.0) -> None:
        """Give the backlog (``agent_stopped`` last) a moment to go out, then stop."""
        clock = self.gate.clock
        deadline = clock.monotonic() + flush_s
        stopping = self._threads.stopping if self._threads else threading.Event()
        while self.conn.connected and self.outbox.depth() and clock.monotonic() < deadline:
            self._wake.set()
            stopping.wait(0.05)
        stopping.set()
        self._wake.set()
        if self._threads is not None:
            self._threads.stop()
        if self.conn.connected:
            offline = GateStatus(
                online=False, site=self.topics.site, gate=self.topics.gate, time=clock.now()
            )
            self.conn.wait_published(
                self.topics.status, offline.model_dump_json().encode(), 2.0, retain=True
            )

    # -- callbacks (paho and core threads) --------------------------------------
    def _on_event(self, event: Event) -> None:
        # Offline, or too far behind, the outbox already holds it: the backlog pass
        # will send it, so memory stays flat through an outage of any length.
        if self.conn.connected and len(self._live) < WINDOW:
            self._live.append(event)
        if event.type in STATUS_EVENTS:
            self._status_due.set()
        self._wake.set()

    def session_changed(self) -> None:
        """Connected or disconnected: start the backlog pass over."""
        self._reset.set()
        self._status_due.set()
        self._wake.set()

    def request_status(self) -> None:
        self._status_due.set()
        self._wake.set()

    def _on_ack(self, seq: int) -> None:
        self.last_acked = (seq, self.gate.clock.now())
        self._acked.append(seq)
        self._wake.set()

    # -- the publisher thread ----------------------------------------------------
    def _run(self) -> None:
        assert self._threads is not None
        stopping = self._threads.stopping
        inflight: set[int] = set()
        cursor = 0
        next_status = 0.0
        while not stopping.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._reset.is_set():
                self._reset.clear()
                inflight.clear()
                self._live.clear()
                cursor = 0
            try:
                self._settle(inflight)
                if not self.conn.connected:
                    continue
                now = self.gate.clock.monotonic()
                if self._status_due.is_set() or now >= next_status:
                    self._status_due.clear()
                    self._publish_status()
                    next_status = now + self.status_interval_s
                cursor = self._publish_events(inflight, cursor)
            except MqttError as exc:
                log.debug("uplink: %s; the backlog pass starts over when connected", exc)
            except Exception:
                log.exception("uplink: publishing failed; will retry")
                stopping.wait(1.0)

    def _settle(self, inflight: set[int]) -> None:
        done: list[int] = []
        while self._acked:
            done.append(self._acked.popleft())
        if done:
            self.outbox.mark_sent(done)
            inflight.difference_update(done)
            self.sent_count += len(done)

    def _send(self, event: Event, inflight: set[int]) -> None:
        inflight.add(event.seq)
        try:
            self.conn.publish(
                self.topics.events,
                event.model_dump_json().encode(),
                on_ack=partial(self._on_ack, event.seq),
            )
        except MqttError:
            inflight.discard(event.seq)
            raise

    def _publish_events(self, inflight: set[int], cursor: int) -> int:
        while self._live and len(inflight) < WINDOW:
            event = self._live.popleft()
            if event.seq not in inflight:
                self._send(event, inflight)
        room = min(WINDOW - len(inflight), BATCH)
        if room <= 0:
            return cursor
        batch = self.outbox.unsent(after_seq=cursor, limit=room)
        for event in batch:
            if event.seq not in inflight:
                self._send(event, inflight)
            cursor = event.seq
        if len(batch) == room:
            self._wake.set()  # more backlog waits
        return cursor

    def _publish_status(self) -> None:
        status = self.gate.status(0)
        self.conn.publish(
            self.topics.status,
            status.model_dump_json(exclude={"recent_events", "office_link"}).encode(),
            retain=True,
        )
