"""The office's intake: an events message to checked rows, batches bounded by events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.link.mqtt import MqttSettings
from agent.office.db.base import EventRow
from agent.office.intake import events_of
from agent.office.service import OfficeService, ServeOptions


def event(seq: int, gate: str = "g1", **extra: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex, "seq": seq, "time": datetime.now(UTC).isoformat(),
        "site": "s1", "gate": gate, "type": "access_granted", "severity": "info",
        "door": "main", "details": {"holder_id": "R-1"}, **extra,
    }  # fmt: skip


def message(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def test_a_whole_backlog_message_becomes_rows_in_order() -> None:
    rows = events_of("s1", "g1", message(*(event(i) for i in range(1, 101))))
    assert [r.seq for r in rows] == list(range(1, 101))
    assert rows[0].details_json == '{"holder_id": "R-1"}' and rows[0].time.tzinfo is UTC


def test_one_bad_event_costs_only_itself() -> None:
    bad = {**event(2), "seq": "two"}
    alien = event(3, gate="g2")  # a gate speaks only for itself
    huge = {**event(4), "seq": 2**63}  # beyond what either store can hold
    rows = events_of("s1", "g1", message(event(1), bad, alien, huge, event(5)))
    assert [r.seq for r in rows] == [1, 5]


def test_a_single_live_event_and_text_no_store_can_hold() -> None:
    rows = events_of("s1", "g1", json.dumps({**event(7), "door": "m\u0000ain"}).encode())
    assert [(r.seq, r.door) for r in rows] == [(7, "m\ufffdain")]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_payload_gives_rows_or_nothing_never_an_error(payload: bytes) -> None:
    assert isinstance(events_of("s1", "g1", payload), list)


class Rows:
    """The service's store, keeping each transaction's rows."""

    def __init__(self) -> None:
        self.batches: list[list[EventRow]] = []

    def add_rows(self, rows: Sequence[EventRow]) -> int:
        self.batches.append(list(rows))
        return len(rows)

    def update_gate(self, site: str, gate: str, **fields: Any) -> None:
        pass

    def highest_contiguous_seq(self, site: str, gate: str) -> int:
        return 0


def test_a_transaction_holds_at_most_batch_max_events() -> None:
    store = Rows()
    service = OfficeService(
        MqttSettings(host="127.0.0.1", port=1, client_id="t"), store,
        Ed25519PrivateKey.generate(), ServeOptions(batch_max=250),
    )  # fmt: skip
    for first in range(1, 1001, 100):
        service._queue.put(("gate/s1/g1/events", message(*(event(first + i) for i in range(100)))))
    service.start()
    try:
        for _ in range(200):
            if sum(len(b) for b in store.batches) == 1000:
                break
            service._stopping.wait(0.05)
    finally:
        service.stop()
    assert sum(len(b) for b in store.batches) == 1000
    assert max(len(b) for b in store.batches) <= 300  # 250, rounded up to whole messages
    assert [r.seq for b in store.batches for r in b] == list(range(1, 1001))
