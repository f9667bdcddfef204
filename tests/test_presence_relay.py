"""Presence relay messages on the link (issue 21): the gate merges what the office signs,
refuses and counts what it did not (forged, replayed, stale, not a batch), never goes
back a revision, and asks for what a gap left out. The office's presence table: its
last-writer-wins, paging, restarting a count, forgetting. Real mosquitto and SQLite."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.core.presence import Presence, to_us
from agent.gate.app import App
from agent.link.mqtt import Handlers, MqttConnection, MqttSettings
from agent.link.signing import seal
from agent.link.topics import Topics
from agent.models.config import GateConfig
from agent.models.presence_sync import PresenceAsk, PresenceBatch
from agent.office.db import open_store
from agent.office.db.base import EventRow
from agent.office.db.presence import move_of, presence_of
from tests.mqtt_helpers import wait_for
from tests.presence_rig import SITE, Gate, gate
from tests.test_office_store import pg_database, target

__all__ = ["pg_database", "target"]

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
EAST = Topics("gate", SITE, "east")


def batch(frm: int, to: int, moves: list[Presence], head: int | None = None) -> dict[str, Any]:
    rows = [[m.holder_id, m.area, m.kind, m.at_us, m.gate, m.seq] for m in moves]
    return {"epoch": "e1", "site": SITE, "from_rev": frm, "to_rev": to,
            "head": to if head is None else head, "moves": rows}  # fmt: skip


def move(holder: str, area: str | None, minute: int, seq: int) -> Presence:
    return Presence(holder, area, "resident", to_us(T0 + timedelta(minutes=minute)), "west", seq)


@pytest.fixture
def sender(broker: Any) -> Iterator[MqttConnection]:
    """A client on the broker that may publish anything (the office, or an attacker)."""
    asks: list[bytes] = []
    handlers = Handlers(subscriptions=[(EAST.presence_request, 1)])
    handlers.message = lambda _t, payload: asks.append(payload)
    conn = MqttConnection(MqttSettings(host=broker.host, port=broker.port, client_id="sender"),
                          handlers)  # fmt: skip
    conn.asks = asks  # type: ignore[attr-defined]
    conn.start()
    assert conn.wait_connected(10)
    wait_for(lambda: conn.subscriptions.complete, what="the sender's subscription")
    yield conn
    conn.stop()


def test_forged_replayed_stale_and_old_batches(
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    sender: MqttConnection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    east: Gate = gate(make_app, make_config, broker, office_key, "east")
    wait_for(lambda: east.link.conn.subscriptions.complete, what="east's subscriptions")
    sync, refusals = east.link.presence, east.link.inbox.refusals
    assert sync is not None
    topic = EAST.site_presence

    def send(body: Any, key: Ed25519PrivateKey = office_key, at: datetime | None = None) -> bytes:
        raw = seal(key, topic, body, at or datetime.now(UTC))
        sender.publish(topic, raw)
        return raw

    genuine = send(batch(0, 2, [move("R-1", "compound", 10, 5), move("R-2", "compound", 11, 6)]))
    wait_for(lambda: sync.rev == 2 and east.area("R-2") == "compound", what="the first batch")

    sender.publish(topic, genuine)  # the same message again: refused, counted
    wait_for(lambda: refusals.total == 1, what="the replay refused")
    # an older batch, genuinely signed now (the office paging again): merged as a no-op
    # for R-1 (its stamp is older), new for R-6, and the revision does not go back
    send(batch(0, 1, [move("R-1", "outside", 1, 2), move("R-6", "compound", 1, 3)]))
    wait_for(lambda: east.area("R-6") == "compound", what="the old batch")
    assert sync.rev == 2 and east.area("R-1") == "compound"

    forger = Ed25519PrivateKey.generate()
    send(batch(2, 3, [move("R-1", "outside", 20, 9)]), key=forger)
    wait_for(lambda: refusals.total == 2, what="the forgery refused")
    send(batch(2, 3, [move("R-1", "outside", 20, 9)]), at=datetime.now(UTC) - timedelta(hours=1))
    wait_for(lambda: refusals.total == 3, what="the stale batch refused")
    sender.publish(topic, b"\x00not json")
    wait_for(lambda: refusals.total == 4, what="garbage refused")
    send({**batch(2, 3, []), "from_rev": 5})  # signed, but no batch: refused, counted
    wait_for(lambda: sync.invalid == 1, what="the bad batch refused")
    assert sync.rev == 2 and east.area("R-1") == "compound"

    # a gap (revisions 3-4 never came): merged, the revision held, and the gate asks
    asks = sender.asks  # type: ignore[attr-defined]
    before = len(asks)
    send(batch(4, 5, [move("R-3", "compound", 30, 12)]))
    wait_for(lambda: east.area("R-3") == "compound", what="the batch after the gap")
    assert sync.rev == 2
    wait_for(lambda: len(asks) > before, what="east to ask for the gap")
    assert json.loads(asks[-1]) == {"after": 2, "epoch": "e1"}

    # the office's database was restored from an older backup: its answer starts over,
    # and only then may the revision go back
    answer = {**batch(0, 1, [move("R-4", "compound", 40, 13)]), "reset": True}
    sender.publish(EAST.presence_sync, seal(office_key, EAST.presence_sync, answer,
                                            datetime.now(UTC)))  # fmt: skip
    wait_for(lambda: east.area("R-4") == "compound", what="the answer that starts over")
    assert sync.rev == 1 and east.area("R-3") == "compound"  # records are kept

    alerts = east.events("security_alert")
    assert {a["reason"] for a in alerts if a["topic"] == "presence"} >= {
        "replayed", "bad_signature", "stale", "malformed",
    }  # fmt: skip
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def row(seq: int, holder: str, type_: str = "access_granted", **details: Any) -> EventRow:
    details = {"holder_id": holder, "kind": "resident", "granted": True, **details}
    return EventRow(
        id=f"east-{seq}", site=SITE, gate="east", seq=seq, time=T0 + timedelta(seconds=seq),
        type=type_, severity="info", door="main", details_json=json.dumps(details),
    )  # fmt: skip


def test_the_office_table_wins_pages_restarts_and_forgets(target: str) -> None:
    """On SQLite and on PostgreSQL (the office store's own fixtures)."""
    store = open_store(target)
    presence = presence_of(store)
    assert presence is not None
    inside = ["outside", "compound"]
    store.add_rows([row(1, "R-1", passage=inside), row(2, "R-2", passage=inside),
                    row(3, "R-1", passage=["compound", "outside"]),
                    row(4, "R-3"),  # no passage: moves nobody
                    row(5, "R-4", passage=inside, granted=False)])  # fmt: skip
    assert [(r.holder_id, r.area, r.seq) for r in presence.all(SITE)] == [
        ("R-1", "outside", 3), ("R-2", "compound", 2),
    ]  # fmt: skip
    assert store.add_rows([row(1, "R-1", passage=inside)]) == 0  # a repeat changes nothing
    epoch, head = presence.heads()[SITE]
    assert head == 2
    store.add_rows([row(6, "R-2", "passback_forgiven")])
    assert [r.area for r in presence.all(SITE)] == ["outside", None]

    page = presence.changes(SITE, 0, limit=1)
    assert page.more and (page.from_rev, page.to_rev, page.head) == (0, 2, 3)
    rest = presence.changes(SITE, page.to_rev, limit=10)
    assert not rest.more and rest.to_rev == rest.head == 3
    assert {m.holder_id for m in page.moves + rest.moves} == {"R-1", "R-2"}
    assert presence.changes(SITE, 99).reset  # asked from beyond: a restored database

    assert presence.forget(["R-1", "R-9"], to_us(T0 + timedelta(hours=1))) == 1
    after = presence.changes(SITE, 3)
    assert set(after.forget) == {"R-1", "R-9"} and after.moves == []
    store.add_rows([row(7, "R-1", passage=inside)])  # older than the forgetting: not taken
    assert [r.holder_id for r in presence.all(SITE)] == ["R-2"]
    assert presence.heads()[SITE] == (epoch, 5)
    store.close()


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "holder_id",
                "passage",
                "kind",
                "granted",
                "epoch",
                "site",
                "from_rev",
                "to_rev",
                "head",
                "moves",
                "forget",
                "more",
                "reset",
                "other",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=6),
            max_leaves=12,
        ),
    )
)
def test_any_body_is_a_batch_or_a_validation_error(body: dict[str, Any]) -> None:
    ask = {"after": body.get("head", 0), "epoch": body.get("epoch")}
    with contextlib.suppress(ValidationError):  # what the office reads of a gate's ask
        PresenceAsk.model_validate(ask)
    details = EventRow(id="x", site=SITE, gate="east", seq=1, time=T0, type="access_granted",
                       severity="info", door=None, details_json=json.dumps(body))  # fmt: skip
    found = move_of(details)  # whatever a gate's event says: a move or none, never a raise
    assert found is None or isinstance(found, Presence)
    try:
        parsed = PresenceBatch.model_validate(body)
    except ValidationError:
        return
    assert parsed.from_rev <= parsed.to_rev <= parsed.head
    assert all(isinstance(r, Presence) for r in parsed.records())


def test_concurrent_asks_are_one_in_flight() -> None:
    """Asks on connect, on the office's notice and on a gap do not pile up."""
    from agent.link.presence_sync import PresenceSync

    sent: list[bytes] = []

    class Clock:
        t = 0.0

        def monotonic(self) -> float:
            return self.t

    class Port:
        clock = Clock()

    class Merger:
        keeper = type("K", (), {"passages": {}})()

        def revision(self) -> tuple[str | None, int]:
            return "e1", 7

    sync = PresenceSync(Port(), Merger(), EAST, lambda _t, p: sent.append(p), 60.0)  # type: ignore[arg-type]
    sync._load()
    threads = [threading.Thread(target=sync.ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [json.loads(p) for p in sent] == [{"after": 7, "epoch": "e1"}]
    Port.clock.t = 6.0
    sync.ask()
    assert len(sent) == 2
