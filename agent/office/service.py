"""``gate-office serve``: the office as a service for every gate of every site it manages.

One persistent MQTT session subscribes to all gates (``<prefix>/+/+/...``). Events are
stored exactly once by id, in batches, and only after the batch is committed does
the service send each gate a signed receipt naming the seqs it now holds: the gate
counts an event delivered on that receipt, not on the broker's PUBACK. A message
dropped here is therefore never lost: without a receipt the gate sends it again.
Retained statuses and last wills keep each gate's state; alarms, security alerts,
gates offline too long and gates falling behind raise alerts (log and a hook).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent.core.clock import Clock, SystemClock
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.signing import seal
from agent.models.jsonin import loads_bounded
from agent.models.wire import Event
from agent.office.alerts import Alerts, GateWatch

log = logging.getLogger(__name__)

OUTBOUND = ("events", "status", "cmd/ack", "allowlist/ack", "config/ack", "allowlist/request",
            "replay/ack")  # fmt: skip
QUEUE_LIMIT = 100_000


class ServiceStore(Protocol):
    """What the service needs of the office database."""

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> int: ...

    def update_gate(self, site: str, gate: str, **fields: Any) -> None: ...


@dataclass
class ServeOptions:
    """How the service batches, and when it raises alerts."""

    prefix: str = "gate"
    batch_max: int = 5000
    batch_wait_s: float = 0.02
    offline_alert_s: float = 300.0
    lag_alert_s: float = 600.0
    hook: list[str] = field(default_factory=list)


def seq_ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """[3, 1, 2, 7, 8] -> [(1, 3), (7, 8)]."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


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
        )
        self.conn = MqttConnection(settings, handlers, label="broker")
        self._queue: queue.Queue[tuple[str, bytes]] = queue.Queue(QUEUE_LIMIT)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.alerts = Alerts(self.options.hook)
        self.watch = GateWatch(self.alerts, self.options.offline_alert_s, self.options.lag_alert_s)
        self.stored = 0
        self.receipts_sent = 0
        self.dropped = 0

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="office-store", daemon=True)
        self._thread.start()
        self.conn.start()

    def stop(self) -> None:
        self.conn.stop()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)

    def wait(self, stop: threading.Event, tick_s: float = 1.0) -> None:
        """Run until ``stop`` is set, checking the gates once a ``tick_s``."""
        while not stop.wait(tick_s):
            self.watch.check(self.clock.now())

    # -- paho's thread ----------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            # a full queue slows the broker down (TCP backpressure) before it drops:
            # a dropped event has no receipt, so its gate sends it again
            self._queue.put((topic, payload), timeout=5)
        except queue.Full:
            self.dropped += 1

    # -- the worker -------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [first]
            deadline = self.clock.monotonic() + self.options.batch_wait_s
            while len(batch) < self.options.batch_max:
                try:
                    batch.append(
                        self._queue.get(timeout=max(0.0, deadline - self.clock.monotonic()))
                    )
                except queue.Empty:
                    break
            try:
                self.handle(batch)
            except Exception:
                # nothing was receipted: the gates send the batch again
                log.exception("office: a batch of %d message(s) failed", len(batch))
                self._stopping.wait(1.0)

    def handle(self, batch: Sequence[tuple[str, bytes]]) -> None:
        """Store a batch of messages, then receipt the events in it, gate by gate."""
        events: list[dict[str, Any]] = []
        by_gate: dict[tuple[str, str], list[int]] = {}
        for topic, payload in batch:
            parts = topic.split("/", 3)
            if len(parts) < 4:
                continue
            site, gate, kind = parts[1], parts[2], parts[3]
            try:
                data = loads_bounded(payload, 16)
            except ValueError:
                log.warning("office: unreadable %s from %s/%s", kind, site, gate)
                continue
            if kind == "events":
                # the backlog comes several to a message: {"events": [...]}
                batch_of = data.get("events") if isinstance(data, dict) else None
                for item in batch_of if isinstance(batch_of, list) else [data]:
                    event = self._event(site, gate, item)
                    if event is not None:
                        events.append(event)
                        by_gate.setdefault((site, gate), []).append(int(event["seq"]))
            elif kind == "status" and isinstance(data, dict):
                self._status(site, gate, data)
            else:
                log.info("office: %s from %s/%s: %s", kind, site, gate, str(data)[:300])
        if not events:
            return
        new = self.store.add_events(events)  # committed before any receipt goes out
        self.stored += new
        now = self.clock.now()
        for event in events:
            self.watch.event(event, now)
        for (site, gate), seqs in by_gate.items():
            self._receipt(site, gate, seqs)

    def _event(self, site: str, gate: str, data: object) -> dict[str, Any] | None:
        try:
            event = Event.model_validate(data)
        except ValidationError as exc:
            log.warning("office: invalid event from %s/%s: %s", site, gate, exc.errors()[:2])
            return None
        if (event.site, event.gate) != (site, gate):
            # a gate account may only speak for itself (the broker's ACL says so too)
            log.warning("office: %s/%s published an event of %s/%s", site, gate,
                        event.site, event.gate)  # fmt: skip
            return None
        return event.model_dump(mode="json")

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
        topic = f"{self.options.prefix}/{site}/{gate}/receipt"
        body = {"receipt_id": uuid.uuid4().hex, "ranges": seq_ranges(seqs)[:1000]}
        try:
            self.conn.publish(topic, seal(self.key, topic, body, self.clock.now()))
            self.receipts_sent += 1
        except Exception as exc:  # offline now: the gate sends again and gets one then
            log.debug("office: receipt for %s/%s not sent: %s", site, gate, exc)


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
