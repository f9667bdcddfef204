"""``gate-office serve``: the office as a service for every gate of every site it manages.

One persistent MQTT session subscribes to all gates (``<prefix>/+/+/...``). Events are
stored exactly once by id, in batches, and only after the batch is committed does
the service send each gate a signed receipt naming the seqs it now holds: the gate
counts an event delivered on that receipt, not on the broker's PUBACK. A message
dropped here is therefore never lost: without a receipt the gate sends it again.
Retained statuses and last wills keep each gate's state; alarms, security alerts,
gates offline too long and gates falling behind raise alerts (log and a hook).
Once subscribed after starting, or after the broker lost its session, it says so in a
signed ``office/online`` notice: every gate then sends at once what has no receipt
(what this office took and never committed, or what found no session to wait in).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import Clock, SystemClock
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.signing import seal
from agent.link.topics import office_online_topic
from agent.models.jsonin import loads_bounded
from agent.office.alerts import Alerts, GateWatch
from agent.office.intake import MAX_DEPTH, Batch, events_of, seq_ranges
from agent.office.presence_relay import relay_for
from agent.office.resync import PushRecord, answer_request
from agent.office.serve_options import ServeOptions as ServeOptions
from agent.office.serve_options import ServiceStore
from agent.office.upkeep import Upkeep

log = logging.getLogger(__name__)

OUTBOUND = ("events", "status", "cmd/ack", "allowlist/ack", "config/ack", "allowlist/request",
            "replay/ack", "presence/request")  # fmt: skip
# messages held between paho and the intake (a backlog message holds up to 100 events):
# bounded, so the office's memory is too; beyond it the broker waits
QUEUE_LIMIT = 1000
TICK_S = 1.0
BEHIND_MESSAGES = 50  # queued messages that make the office tell gates it is busy
QUEUE_WAIT_S = 30.0  # how long paho may be held before a message is dropped (resent later)


class OfficeService:
    """The MQTT session, a worker that stores and receipts, and the gate watch."""

    def __init__(
        self,
        settings: MqttSettings,
        store: ServiceStore,
        key: Ed25519PrivateKey,
        options: ServeOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.options = options or ServeOptions()
        self.store = store
        self.key = key
        self.clock = clock or SystemClock()
        prefix = self.options.prefix
        handlers = Handlers(
            subscriptions=[(f"{prefix}/+/+/{suffix}", 1) for suffix in OUTBOUND],
            message=self._on_message,
            subscribed=self._subscribed,
        )
        self.conn = MqttConnection(settings, handlers, label="broker")
        self.started = self.clock.now()
        self.announced = 0  # office/online notices sent
        self._queue: queue.Queue[tuple[str, bytes]] = queue.Queue(QUEUE_LIMIT)
        # two batches may wait for the store: the next is read while one is stored
        self._ready: queue.Queue[Batch] = queue.Queue(2)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reading = self._storing = False
        self.alerts = Alerts(self.options.hook)
        self.watch = GateWatch(self.alerts, self.options.offline_alert_s, self.options.lag_alert_s)
        self.upkeep = Upkeep(
            store, self._publish, self.behind, self.busy, self.clock.monotonic,
            self.options.audit_s,
        )  # fmt: skip
        self.stored = self.receipts_sent = self.dropped = 0
        # each site's presence moves, relayed to its gates (issue 21)
        self.relay = relay_for(store, self.conn, key, self.clock, self.options)

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        steps = (
            ("office-intake", self._run_intake),
            ("office-store", self._run_store),
            ("office-upkeep", self._run_upkeep),
        )
        for name, target in steps:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.conn.start()

    def stop(self) -> None:
        self.conn.stop()
        self._stopping.set()
        for thread in self._threads:
            thread.join(10)

    def wait(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set (the service's own threads do the work)."""
        stop.wait()

    def _run_upkeep(self) -> None:
        """Once a second: gates offline too long, busy notices, lost events."""
        while not self._stopping.wait(TICK_S):
            try:
                self.watch.check(self.clock.now())
                self.upkeep.tick()
                if self.relay is not None:
                    self.relay.tick([site for site, _gate in list(self.watch.gates)])
            except Exception:
                log.exception("office: upkeep failed; trying again")

    def busy(self) -> bool:
        """Whether a message is waiting or a batch is being read or stored."""
        return self._reading or self._storing or not self._queue.empty() or not self._ready.empty()

    def behind(self) -> bool:
        """Whether messages queue up faster than they are stored (an outage's backlog)."""
        return self._queue.qsize() >= BEHIND_MESSAGES or self._ready.full()

    # -- paho's thread ----------------------------------------------------------
    def _subscribed(self) -> None:
        """Every subscription is in place. After a start, or when the broker no longer
        had this session, events in flight may be lost: tell every gate to resend."""
        if self.announced and self.conn.session_present:
            log.info("office: subscribed again; the broker kept the session")
            return
        reason = "session_lost" if self.announced else "started"
        topic = office_online_topic(self.options.prefix)
        body = {"office_id": self.conn.settings.client_id, "started": self.started.isoformat(),
                "reason": reason}  # fmt: skip
        try:
            self.conn.publish(topic, seal(self.key, topic, body, self.clock.now()))
        except Exception as exc:  # the connection went again: the next one announces
            log.warning("office: online notice not sent: %s", exc)
            return
        self.announced += 1
        log.info("office: subscribed; told the gates it is online (%s)", reason.replace("_", " "))

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            # a full queue holds paho (and so the broker: TCP backpressure) before it
            # drops: a dropped event has no receipt, so its gate sends it again
            self._queue.put((topic, payload), timeout=QUEUE_WAIT_S)
        except queue.Full:
            self.dropped += 1

    # -- intake: messages to checked rows, in batches of events -------------------
    def _run_intake(self) -> None:
        batch, deadline = Batch(), 0.0
        while not self._stopping.is_set():
            wait = max(0.0, deadline - self.clock.monotonic()) if batch else 0.5
            try:
                topic, payload = self._queue.get(timeout=wait)
            except queue.Empty:
                if batch:
                    self._hand_over(batch)
                    batch = Batch()
                continue
            self._reading = True
            try:
                self._take(topic, payload, batch)
            except Exception:  # one message's fault never stops the intake
                log.exception("office: a message on %s could not be read", topic)
            finally:
                self._reading = False
            if not batch:
                continue
            if batch.first_at is None:
                batch.first_at = self.clock.monotonic()
                deadline = batch.first_at + self.options.batch_wait_s
            if len(batch.rows) >= self.options.batch_max or self.clock.monotonic() >= deadline:
                self._hand_over(batch)
                batch = Batch()

    def _hand_over(self, batch: Batch) -> None:
        while not self._stopping.is_set():
            try:
                self._ready.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def _take(self, topic: str, payload: bytes, batch: Batch) -> None:
        parts = topic.split("/", 3)
        if len(parts) < 4:
            return
        site, gate, kind = parts[1], parts[2], parts[3]
        if kind == "events":
            batch.add(site, gate, events_of(site, gate, payload))
            return
        try:
            data = loads_bounded(payload, MAX_DEPTH)
        except ValueError:
            log.warning("office: unreadable %s from %s/%s", kind, site, gate)
            return
        if kind == "status" and isinstance(data, dict):
            batch.statuses[site, gate] = data  # stored with the batch: only the newest
        elif kind == "allowlist/request" and isinstance(self.store, PushRecord):
            answer_request(self.store, self._publish, site, gate, data)
        elif kind == "presence/request" and self.relay is not None:
            self.relay.answer(site, data, partial(self._publish, site, gate))
        else:
            log.info("office: %s from %s/%s: %s", kind, site, gate, str(data)[:300])

    # -- store: one transaction per batch, then the receipts ------------------------
    def _run_store(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._ready.get(timeout=0.5)
            except queue.Empty:
                continue
            self._storing = True
            try:
                self.store_batch(batch)
            except Exception:
                # nothing was receipted: the gates send the batch again
                log.exception("office: a batch of %d event(s) failed", len(batch.rows))
                self._stopping.wait(1.0)
            finally:
                self._storing = False

    def handle(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Read, store and receipt some messages at once (the threads do it in steps)."""
        batch = Batch()
        for topic, payload in messages:
            self._take(topic, payload, batch)
        self.store_batch(batch)

    def store_batch(self, batch: Batch) -> None:
        """Store a batch of events, then receipt them, gate by gate."""
        if batch.rows:
            new = self.store.add_rows(batch.rows)  # committed before any receipt goes out
            self.stored += new
            self.watch.rows(batch.rows, self.clock.now())
            if self.relay is not None:  # moves go to the site's gates before the receipts
                self.relay.relay_new()
            for (site, gate), seqs in batch.by_gate.items():
                self._receipt(site, gate, seqs)
        for (site, gate), data in batch.statuses.items():
            self._status(site, gate, data)
            self.upkeep.status(site, gate, data)

    def _status(self, site: str, gate: str, data: Mapping[str, Any]) -> None:
        online = bool(data.get("online"))
        now = self.clock.now()
        fields: dict[str, Any] = {"online": online, "last_status": dict(data), "last_seen": now}
        if self.watch.changed(site, gate, online):
            fields["online_since"] = now
        for key, name in (
            ("allowlist_version", "allowlist_version"),
            ("config_revision", "config_revision"),
            ("outbox_depth", "backlog"),
        ):
            if key in data:
                fields[name] = data[key]
        self.store.update_gate(site, gate, **fields)  # fmt: skip
        self.watch.status(site, gate, online, self.clock.now())

    def _receipt(self, site: str, gate: str, seqs: list[int]) -> None:
        body = {"receipt_id": uuid.uuid4().hex, "ranges": seq_ranges(seqs)[:1000]}
        if self._publish(site, gate, "receipt", body):
            self.receipts_sent += 1

    def _publish(self, site: str, gate: str, suffix: str, body: dict[str, Any]) -> bool:
        """Sign and send an office message to one gate; False when it could not go."""
        topic = f"{self.options.prefix}/{site}/{gate}/{suffix}"
        try:
            self.conn.publish(topic, seal(self.key, topic, body, self.clock.now()))
            return True
        except Exception as exc:  # offline now: the gate sends again and gets one then
            log.debug("office: %s for %s/%s not sent: %s", suffix, site, gate, exc)
            return False


def run_service(
    service: OfficeService, stop: threading.Event, ready: Callable[[], None] = lambda: None
) -> None:
    """Start, report ready, run until ``stop``, stop."""
    service.start()
    ready()
    try:
        service.wait(stop)
    finally:
        service.stop()
