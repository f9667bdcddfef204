"""Events and status to the office.

Events are published at QoS 1. The broker's PUBACK paces the stream, but an event is
done only when the office's signed receipt says it committed it (``delivery =
"receipt"``, the default; ``"puback"`` trusts the broker). After any disconnect, and
when receipts stop coming while events wait for them, everything not yet received is
published again, so an event can arrive twice (the office drops repeats by id) but
never not at all, even when the broker lost it or the office was never subscribed.
New events go out as they happen; the backlog drains in sequence order beside them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime
from functools import partial

from agent.core.kinds import URGENT, EventType
from agent.core.runner import Threads
from agent.errors import MqttError
from agent.gate.ports import GatePort
from agent.link.mqtt import MqttConnection
from agent.link.topics import Topics
from agent.models.messages import GateStatus
from agent.models.wire import Event
from agent.store.delivery import AT_BROKER, RECEIVED
from agent.store.eventlog import EventLog

log = logging.getLogger(__name__)

WINDOW = 1000  # events published but not yet acknowledged
RESEND_MAX_S = 900.0  # the longest wait for a receipt before sending again
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
        delivery: str = "receipt",
        receipt_timeout_s: float = 30.0,
        per_message: int = 100,
    ) -> None:
        self.gate = gate
        self.per_message = per_message
        self.receipts = delivery == "receipt"
        self._acked_state = AT_BROKER if self.receipts else RECEIVED
        self.receipt_timeout_s = receipt_timeout_s
        self._resend_after = receipt_timeout_s  # doubles while no receipt comes
        self._receipt_seen = False
        self._office_busy = False  # the office said so since the last check
        self._oldest_waiting: int | None = None  # the oldest seq at the broker, last check
        self._oldest_since = 0.0  # monotonic time the oldest was first seen waiting
        self._again_upto = 0  # the seq up to which the current pass resends
        self.outbox = outbox
        self.conn = conn
        self.topics = topics
        self.status_interval_s = status_interval_s
        self._wake = threading.Event()
        self._reset = threading.Event()
        self._status_due = threading.Event()
        self._acked: deque[int] = deque()  # seqs acknowledged, appended on paho's thread
        self._live: deque[Event] = deque()
        # alarms that go ahead of everything waiting (a duress PIN): kept through
        # disconnects, sent first once connected; the outbox still holds them too
        self._urgent: deque[Event] = deque(maxlen=WINDOW)
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
        if event.type in URGENT:
            self._urgent.append(event)
        elif self.conn.connected and len(self._live) < WINDOW:
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

    def received(self, count: int, busy: bool = False) -> None:
        """A receipt came (inbox thread): the office is there; keep the short timeout.
        ``busy``: the office is still working through a queue; what waits is in it."""
        self._receipt_seen = True
        if busy:
            self._office_busy = True
        if count:
            self._status_due.set()

    def resend(self) -> None:
        """Publish everything not yet received again (a replay request, a silent office)."""
        self._reset.set()
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
        next_resend = self.gate.clock.monotonic() + self._resend_after
        while not stopping.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._reset.is_set():
                self._reset.clear()
                inflight.clear()
                self._live.clear()
                cursor = 0
                # this pass also sends what the broker took but the office never confirmed
                self._again_upto = self.outbox.last_seq() if self.receipts else 0
            try:
                self._settle(inflight)
                if not self.conn.connected:
                    continue
                now = self.gate.clock.monotonic()
                if self._status_due.is_set() or now >= next_status:
                    self._status_due.clear()
                    self._publish_status()
                    next_status = now + self.status_interval_s
                if self.receipts and now >= next_resend:
                    self._resend_if_unreceived()
                    next_resend = now + self._resend_after
                cursor = self._publish_events(inflight, cursor)
            except MqttError as exc:
                log.debug("uplink: %s; the backlog pass starts over when connected", exc)
            except Exception:
                log.exception("uplink: publishing failed; will retry")
                stopping.wait(1.0)

    def _resend_if_unreceived(self) -> None:
        """An event the broker took a whole interval ago still has no receipt: the
        broker lost it or kept it for nobody (no office session, a full queue).
        Live traffic with receipts flowing does not hide it: the oldest is checked."""
        oldest = self.outbox.oldest_unreceived()
        now = self.gate.clock.monotonic()
        if oldest != self._oldest_waiting:
            self._oldest_since = now
        # a busy office holds the resend (a fleet draining after an outage would
        # otherwise send its whole backlog again and again), but never beyond the
        # longest wait: a message lost on the way must still go again
        held = self._office_busy and now - self._oldest_since < RESEND_MAX_S
        if oldest is not None and oldest == self._oldest_waiting and held:
            log.debug("event %d waits for a receipt; the office says it is busy", oldest)
        elif oldest is not None and oldest == self._oldest_waiting:
            log.info(
                "event %d has had no receipt for %.0f s: sending what the office lacks again",
                oldest,
                self._resend_after,
            )
            # an absent office must not cost a full resend every interval
            self._resend_after = min(self._resend_after * 2, RESEND_MAX_S)
            self._reset.set()
            self._wake.set()
        elif self._receipt_seen:
            self._resend_after = self.receipt_timeout_s
        self._oldest_waiting = oldest
        self._receipt_seen = self._office_busy = False

    def _settle(self, inflight: set[int]) -> None:
        done: list[int] = []
        while self._acked:
            done.append(self._acked.popleft())
        if done:
            self.outbox.mark_sent(done, self._acked_state)
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

    def _send_many(self, events: list[Event], inflight: set[int]) -> None:
        """Backlog goes several events to a message (``{"events": [...]}``): an outage's
        worth drains in a fraction of the messages, acked together."""
        if len(events) == 1:
            self._send(events[0], inflight)
            return
        seqs = [e.seq for e in events]
        inflight.update(seqs)
        body = b",".join(e.model_dump_json().encode() for e in events)
        try:
            self.conn.publish(
                self.topics.events,
                b'{"events":[' + body + b"]}",
                on_ack=partial(self._on_ack_many, seqs),
            )
        except MqttError:
            inflight.difference_update(seqs)
            raise

    def _on_ack_many(self, seqs: list[int]) -> None:
        self.last_acked = (seqs[-1], self.gate.clock.now())
        self._acked.extend(seqs)
        self._wake.set()

    def _publish_events(self, inflight: set[int], cursor: int) -> int:
        while self._urgent:  # before the live events and the backlog, window or not
            if self._urgent[0].seq not in inflight:
                self._send(self._urgent[0], inflight)
            self._urgent.popleft()
        while self._live and len(inflight) < WINDOW:
            event = self._live.popleft()
            if event.seq not in inflight:
                self._send(event, inflight)
        room = min(WINDOW - len(inflight), BATCH)
        if room <= 0:
            return cursor
        # a resend round covers what the office never confirmed up to the seq it began
        # at; after it only events the broker has not taken: live ones merely waiting
        # for their receipt must not go twice
        again = cursor < self._again_upto
        if again:
            batch = self.outbox.unsent(cursor, room, unreceived=True, upto=self._again_upto)
        else:
            batch = self.outbox.unsent(after_seq=cursor, limit=room)
        todo = [event for event in batch if event.seq not in inflight]
        for start in range(0, len(todo), self.per_message):
            self._send_many(todo[start : start + self.per_message], inflight)
        if batch:
            cursor = batch[-1].seq
        if again and len(batch) < room:
            cursor = self._again_upto  # the round is done: on to what the broker lacks
            self._wake.set()
        elif len(batch) == room:
            self._wake.set()  # more backlog waits
        return cursor

    def _publish_status(self) -> None:
        status = self.gate.status(0)
        self.conn.publish(
            self.topics.status,
            status.model_dump_json(exclude={"recent_events", "office_link"}).encode(),
            retain=True,
        )
