"""The office link: outbox upload, retained status, and the inbox for office messages.

Events are published at QoS 1 and marked sent only when the broker's PUBACK comes
back; after any disconnect everything unsent is published again, so an event can
arrive twice (the office drops repeats by id) but never not at all. New events go
out as they happen; the backlog drains in sequence order beside them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from agent import __version__
from agent.link.inbox import Inbox
from agent.models.messages import GateStatus
from agent.models.wire import Event, EventType
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings, Will
from agent.link.topics import Topics

log = logging.getLogger(__name__)

WINDOW = 1000  # events published but not yet acknowledged
BATCH = 500
ACK_MATCH_ROUNDS = 50  # a PUBACK may beat the bookkeeping of its own publish


class Uplink:
    """Owns the MQTT connection of one App; started and stopped as one of its parts."""

    def __init__(self, app: Any) -> None:
        self.app = app
        gate = app.config.gate
        cfg = app.config.mqtt
        self.topics = Topics(cfg.topic_prefix, gate.site, gate.gate_id)
        offline = GateStatus(online=False, site=gate.site, gate=gate.gate_id)
        settings = MqttSettings.from_config(
            cfg,
            client_id=f"gate-{gate.site}-{gate.gate_id}",
            will=Will(self.topics.status, offline.model_dump_json().encode()),
        )
        self.inbox = Inbox(app, self)
        self.conn = MqttConnection(
            settings,
            Handlers(
                connected=self._on_connected,
                disconnected=lambda _reason: self._session_changed(),
                message=self.inbox.put,
                published=self._on_published,
                subscriptions=[(t, 1) for t in self.topics.inbound],
            ),
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._reset = threading.Event()
        self._status_due = threading.Event()
        self._ack_lock = threading.Lock()
        self._acked: list[tuple[int, int]] = []  # (mid, rounds unmatched)
        self._live: deque[Event] = deque()
        self._thread: threading.Thread | None = None
        self.sent_count = 0
        app.event_listeners.append(self._on_event)

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        self.inbox.start()
        self._thread = threading.Thread(target=self._run, name="gate-uplink", daemon=True)
        self._thread.start()
        self.conn.start()

    def stop(self, flush_s: float = 2.0) -> None:
        deadline = self.app.clock.monotonic() + flush_s
        while (
            self.conn.connected
            and self.app.events.depth()
            and self.app.clock.monotonic() < deadline
        ):
            self._wake.set()
            self._stopping.wait(0.05)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.inbox.stop()
        if self.conn.connected:
            offline = GateStatus(
                online=False,
                site=self.topics.site,
                gate=self.topics.gate,
                time=self.app.clock.now(),
            )
            mid = self.conn.publish(
                self.topics.status, offline.model_dump_json().encode(), retain=True
            )
            if mid is not None:
                self.conn.wait_published(mid, 2.0)
        self.conn.stop()

    # -- callbacks (paho and core threads) --------------------------------------
    def _on_event(self, event: Event) -> None:
        # Offline, or too far behind, the outbox already holds it: the backlog pass
        # will send it, so memory stays flat through an outage of any length.
        if self.conn.connected and len(self._live) < WINDOW:
            self._live.append(event)
        if event.type in (
            EventType.MODE_CHANGED,
            EventType.ALLOWLIST_UPDATED,
            EventType.CONFIG_CHANGED,
        ):
            self._status_due.set()
        self._wake.set()

    def _on_connected(self) -> None:
        self._session_changed()
        self._status_due.set()

    def _session_changed(self) -> None:
        self._reset.set()
        self._wake.set()

    def _on_published(self, mid: int) -> None:
        with self._ack_lock:
            self._acked.append((mid, 0))
        self._wake.set()

    def publish_json(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """For acks and requests: best effort, QoS 1."""
        if self.conn.publish(topic, payload, retain=retain) is None:
            log.warning("not connected: %s not sent", topic)

    def request_status(self) -> None:
        self._status_due.set()
        self._wake.set()

    # -- the publisher thread ----------------------------------------------------
    def _run(self) -> None:
        inflight: dict[int, int] = {}  # mid -> seq
        published: set[int] = set()
        cursor = 0
        interval = self.app.config.mqtt.status_interval_s
        next_status = 0.0
        while not self._stopping.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._reset.is_set():
                self._reset.clear()
                inflight.clear()
                published.clear()
                self._live.clear()
                cursor = 0
                with self._ack_lock:
                    self._acked.clear()
            try:
                self._settle(inflight, published)
                if not self.conn.connected:
                    continue
                now = self.app.clock.monotonic()
                if self._status_due.is_set() or now >= next_status:
                    self._status_due.clear()
                    self._publish_status()
                    next_status = now + interval
                cursor = self._publish_events(inflight, published, cursor)
            except Exception:
                log.exception("uplink: publishing failed; will retry")
                self._stopping.wait(1.0)

    def _settle(self, inflight: dict[int, int], published: set[int]) -> None:
        with self._ack_lock:
            acked, self._acked = self._acked, []
        done, unmatched = [], []
        for mid, rounds in acked:
            seq = inflight.pop(mid, None)
            if seq is not None:
                done.append(seq)
            elif rounds < ACK_MATCH_ROUNDS:
                unmatched.append((mid, rounds + 1))  # status/ack publishes end up dropped here
        if unmatched:
            with self._ack_lock:
                self._acked.extend(unmatched)
        if done:
            self.app.events.mark_sent(done)
            published.difference_update(done)
            self.sent_count += len(done)

    def _send(self, event: Event, inflight: dict[int, int], published: set[int]) -> bool:
        mid = self.conn.publish(self.topics.events, event.model_dump_json().encode())
        if mid is None:
            return False
        inflight[mid] = event.seq
        published.add(event.seq)
        return True

    def _publish_events(self, inflight: dict[int, int], published: set[int], cursor: int) -> int:
        while self._live and len(inflight) < WINDOW:
            event = self._live.popleft()
            if event.seq not in published and not self._send(event, inflight, published):
                return cursor
        room = min(WINDOW - len(inflight), BATCH)
        if room <= 0:
            return cursor
        batch = self.app.events.unsent(after_seq=cursor, limit=room)
        for event in batch:
            if event.seq not in published and not self._send(event, inflight, published):
                return cursor
            cursor = event.seq
        if len(batch) == room:
            self._wake.set()  # more backlog waits
        return cursor

    def _publish_status(self) -> None:
        status = self.app.status(0)
        message = GateStatus(
            online=True,
            site=status["site"],
            gate=status["gate"],
            time=self.app.clock.now(),
            version=__version__,
            mode=status["mode"],
            clock_trusted=status["clock_trusted"],
            allowlist_version=status["allowlist"]["version"],
            allowlist_size=status["allowlist"]["size"],
            outbox_depth=status["outbox_depth"],
            config_revision=status["config_revision"],
            doors=status["doors"],
        )
        self.conn.publish(self.topics.status, message.model_dump_json().encode(), retain=True)


def attach(app: Any) -> Uplink:
    """Create the uplink for ``app`` and register it to start and stop with it."""
    uplink = Uplink(app)
    app.add_part(uplink)
    return uplink
