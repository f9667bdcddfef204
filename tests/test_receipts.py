"""End-to-end receipts: an event is delivered when the office committed it, not when the
broker said PUBACK. Real mosquitto, a real gate, the real office service."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.link.mqtt import MqttSettings
from agent.link.signing import seal
from agent.link.wiring import attach
from agent.models.config import GateConfig
from agent.office.db.base import EventRow
from agent.office.intake import seq_ranges
from agent.office.service import OfficeService, ServeOptions
from tests.conftest import mqtt_table
from tests.mqtt_helpers import TOPICS, office, wait_for


class ListStore:
    """The service's store interface over a dict: enough to see what was committed."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.gates: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def add_rows(self, rows: Sequence[EventRow]) -> int:
        with self.lock:  # a repeat within one batch is stored once too, as in the real store
            new = {r.id: {"id": r.id, "seq": r.seq} for r in rows if r.id not in self.events}
            self.events.update(new)
            return len(new)

    def update_gate(self, site: str, gate: str, **fields: Any) -> None:
        self.gates.setdefault((site, gate), {}).update(fields)

    def highest_contiguous_seq(self, site: str, gate: str) -> int:
        seqs = self.seqs()
        top = seqs[0] - 1 if seqs else 0
        for seq in seqs:
            if seq != top + 1:
                break
            top = seq
        return top

    def seqs(self) -> list[int]:
        with self.lock:
            return sorted(e["seq"] for e in self.events.values())


def test_seq_ranges() -> None:
    assert seq_ranges([5, 3, 4, 9, 1, 1]) == [(1, 1), (3, 5), (9, 9)]
    assert seq_ranges([]) == []


@pytest.fixture
def service(broker: Any, office_key: Any) -> Iterator[Callable[..., OfficeService]]:
    running: list[OfficeService] = []

    def start(
        store: ListStore, client_id: str = "gate-office-serve", audit_s: float = 30.0
    ) -> OfficeService:
        settings = MqttSettings(
            host=broker.host, port=broker.port, client_id=client_id, clean_session=False,
            reconnect_max_s=1,
        )  # fmt: skip
        svc = OfficeService(settings, store, office_key, ServeOptions(audit_s=audit_s))
        svc.start()
        assert svc.conn.wait_connected(10)
        running.append(svc)
        return svc

    yield start
    for svc in running:
        svc.stop()


def _gate(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    **mqtt: Any,
) -> App:
    config = make_config(mqtt=mqtt_table(broker, office_key, **{"receipt_timeout_s": 1, **mqtt}))
    app = make_app(config, clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    wait_for(lambda: link.conn.subscriptions.complete, timeout=10, what="the gate's subscriptions")
    return app


def test_events_published_before_any_office_existed_still_arrive(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    service: Callable[..., OfficeService],
) -> None:
    """The README order that lost events #1-#23: the broker took them (PUBACK) with no
    office session to keep them for. Without a receipt the gate sends them again."""
    gate = _gate(make_app, make_config, broker, office_key)
    for n in range(20):
        gate.record(gate_event(), "main", n=n)
    wait_for(lambda: gate.events.depth() == 0, what="the broker to take every event")
    assert gate.events.unreceived() >= 21  # PUBACKed, yet nobody has them
    store = ListStore()
    service(store)
    wait_for(lambda: gate.events.unreceived() == 0, timeout=20, what="receipts for all")
    assert store.seqs() == list(range(1, gate.events.last_seq() + 1))


def test_a_receipt_is_sent_only_after_the_commit_and_duplicates_are_stored_once(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    service: Callable[..., OfficeService],
) -> None:
    store = ListStore()
    svc = service(store)
    gate = _gate(make_app, make_config, broker, office_key)
    for n in range(200):
        gate.record(gate_event(), "main", n=n)
    wait_for(lambda: gate.events.unreceived() == 0, timeout=20, what="every receipt")
    assert store.seqs() == list(range(1, gate.events.last_seq() + 1))
    assert svc.stored == len(store.events) and svc.receipts_sent >= 1
    assert store.gates[("test-site", "g1")]["online"] is True


def test_the_office_asks_for_a_replay_after_losing_events(
    tmp_path: Path,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    service: Callable[..., OfficeService],
) -> None:
    store = ListStore()
    service(store)
    gate = _gate(make_app, make_config, broker, office_key)
    for n in range(30):
        gate.record(gate_event(), "main", n=n)
    wait_for(lambda: gate.events.unreceived() == 0, timeout=20, what="every receipt")
    with store.lock:  # the office's database is restored from an older backup
        for event_id in [i for i, e in store.events.items() if e["seq"] > 10]:
            del store.events[event_id]
    with office(broker, office_key, client_id="office-replay") as link:
        body = {"request_id": "r-1", "from_seq": 11}
        link.send_raw(TOPICS.replay, seal(office_key, TOPICS.replay, body, gate.clock.now()))
        ack = link.expect(TOPICS.replay_ack, timeout=10)
    assert ack is not None and ack["ok"] and ack["request_id"] == "r-1"
    assert ack["queued"] == gate.events.last_seq() - 10 and ack.get("gone") is None
    wait_for(
        lambda: store.seqs() == list(range(1, gate.events.last_seq() + 1)),
        timeout=20,
        what="the replayed events",
    )


def test_an_office_restored_from_an_older_backup_asks_by_itself(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    service: Callable[..., OfficeService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The gate holds receipts for all 30 events; the office's store lost the last 20.
    Nobody sends a replay by hand: the service sees it in the gate's status."""
    caplog.set_level(logging.INFO, logger="agent.link.receipts")
    store = ListStore()
    # a receipt late on a busy machine makes the gate send again, and copies in flight at
    # the "restore" below would refill the store by themselves: this test is about the ask
    gate = _gate(make_app, make_config, broker, office_key, receipt_timeout_s=60)
    # the office's "online" notice (not retained: heard only by a gate already subscribed)
    # makes the gate send every event without a receipt again: heard after the 30 below,
    # those copies would refill the store by themselves
    svc = service(store, audit_s=0.5)
    wait_for(
        lambda: any("is online" in r.getMessage() for r in caplog.records),
        timeout=10,
        what="the gate hearing that the office is online",
    )
    for n in range(30):
        gate.record(gate_event(), "main", n=n)
    wait_for(lambda: gate.events.unreceived() == 0, timeout=20, what="every receipt")
    with store.lock:  # the office's database is restored from an older backup
        for event_id in [i for i, e in store.events.items() if e["seq"] > 10]:
            del store.events[event_id]
    wait_for(
        lambda: store.seqs() == list(range(1, gate.events.last_seq() + 1)),
        timeout=20,
        what="the events replayed on the office's request",
    )
    assert svc.upkeep.replays_asked == 1


def test_a_busy_office_holds_the_gates_resend_until_it_is_not(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
) -> None:
    """After an outage the office works through a long queue: a gate told so waits for its
    receipts instead of sending its backlog again; once the office stops saying so, the
    gate sends again what still has no receipt (here: everything, nobody stores it)."""
    with office(broker, office_key, client_id="office-busy") as link:
        gate = _gate(make_app, make_config, broker, office_key)  # receipt timeout 1 s
        for n in range(5):
            gate.record(gate_event(), "main", n=n)
        wait_for(lambda: gate.events.depth() == 0, what="the broker to take every event")
        last = gate.events.last_seq()

        def busy() -> None:
            body = {"receipt_id": uuid.uuid4().hex, "busy": True}
            link.send_raw(TOPICS.receipt, seal(office_key, TOPICS.receipt, body, gate.clock.now()))

        def seqs_seen(
            seconds: float, notices: bool, enough: Callable[[list[int]], bool] = lambda _: False
        ) -> list[int]:
            """What arrives within ``seconds``, or until what arrived is ``enough``."""
            seen: list[int] = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not enough(seen):
                if notices:
                    busy()
                message = link.expect(TOPICS.events, timeout=0.3)
                if message is not None:
                    seen += [e["seq"] for e in message.get("events", [message])]
            return seen

        seqs_seen(1.0, notices=True)  # the first sending, under way: let it pass
        assert seqs_seen(5.0, notices=True) == []  # five receipt timeouts: held
        again = seqs_seen(6.0, notices=False, enough=lambda s: set(range(1, last + 1)) <= set(s))
    assert set(range(1, last + 1)) <= set(again)
    assert gate.events.unreceived() == last


def gate_event() -> Any:
    from agent.core.kinds import EventType

    return EventType.EXIT_REQUEST


def test_an_office_outage_longer_than_the_brokers_queue_loses_nothing(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    service: Callable[..., OfficeService],
) -> None:
    """mosquitto keeps 1,000 messages for an absent session (max_queued_messages) and
    PUBACKs the rest anyway; receipts are what tell the gate the 500 others never came."""
    store = ListStore()
    service(store).stop()  # the office's persistent session exists, the office is away
    gate = _gate(make_app, make_config, broker, office_key)
    for n in range(1500):
        gate.record(gate_event(), "main", n=n)
    wait_for(lambda: gate.events.depth() == 0, timeout=30, what="the broker to take all")
    service(store)
    wait_for(lambda: gate.events.unreceived() == 0, timeout=40, what="receipts for all")
    assert store.seqs() == list(range(1, gate.events.last_seq() + 1))
