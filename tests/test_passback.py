"""Anti-passback at one gate: a holder's area moves with each grant, in its event's commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from tests.conftest import tap

DOORS: list[dict[str, Any]] = [
    {
        "id": "main",
        "readers": [{"id": "main-in"}, {"id": "main-out", "direction": "out"}],
        "relay": {"driver": "sim"},
        "contact": {"driver": "sim"},
    },
    {"id": "side", "readers": [{"id": "side-in"}], "relay": {"driver": "sim"}},
]
PASSAGES = {
    "main-in": {"from": "outside", "to": "compound"},
    "main-out": {"from": "compound", "to": "outside"},
}


def presence_app(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], **area: Any
) -> App:
    config = make_config(
        doors=DOORS,
        inputs={},
        presence={"areas": {"compound": area}, "passages": PASSAGES},
    )
    app = make_app(config)
    app.start(threaded=False)
    app.loop.pump()
    rows = []
    for card, holder in (("uid:0A0B0C0D", "R-1"), ("uid:01020304", "R-2")):
        from drivers.cards import parse_card

        number = parse_card(card)
        rows.append(
            AllowListEntry(
                credential=app.hasher.credential(number),
                masked=app.hasher.masked(number),
                holder_id=holder,
            )
        )
    app.allowlist.replace(rows, 1)
    return app


CARD = "uid:0A0B0C0D"


def events_of(app: App, type_: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(100) if e.type == type_]


def test_hard_refuses_a_second_entry_until_the_holder_leaves(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    app = presence_app(make_app, make_config, passback="hard")
    assert tap(app, CARD)["granted"]
    second = tap(app, CARD)
    assert not second["granted"] and second["reason"] == "passback"
    assert tap(app, "uid:01020304")["granted"]  # another holder is not held to R-1's area
    assert tap(app, CARD, "main-out")["granted"]
    assert tap(app, CARD)["granted"]
    granted = events_of(app, "access_granted")
    assert granted[0]["passage"] == ["outside", "compound"]
    assert app.events.presence.get("R-1").area == "compound"  # type: ignore[union-attr]


def test_soft_admits_and_reports(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    app = presence_app(make_app, make_config, passback="soft")
    assert tap(app, CARD)["granted"]
    assert tap(app, CARD)["granted"]
    (violation,) = events_of(app, "passback_violation")
    assert violation["holder_id"] == "R-1" and violation["passage"] == ["outside", "compound"]
    assert violation["partitioned"] is False
    assert "credential" not in violation and "card" not in violation


def test_timed_refuses_within_the_minutes_then_admits(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    app = presence_app(make_app, make_config, passback="timed", timed_minutes=2)
    assert tap(app, CARD)["granted"]
    clock.advance(60)
    assert tap(app, CARD)["reason"] == "passback"
    clock.advance(61)
    assert tap(app, CARD)["granted"]


def test_presence_expires(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    app = presence_app(make_app, make_config, passback="hard", expiry_hours=1)
    assert tap(app, CARD)["granted"]
    clock.advance(timedelta(hours=1).total_seconds())
    assert tap(app, CARD)["granted"]


def test_a_refused_card_does_not_move(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    app = presence_app(make_app, make_config, passback="hard")
    assert tap(app, CARD)["granted"]
    record = app.events.presence.get("R-1")
    assert tap(app, CARD)["reason"] == "passback"
    assert app.events.presence.get("R-1") == record


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_a_reader_without_a_passage_moves_nobody(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], mode: str
) -> None:
    app = presence_app(make_app, make_config, passback=mode)
    assert tap(app, CARD, "side-in")["granted"]
    assert tap(app, CARD, "side-in")["granted"]
    assert app.events.presence.get("R-1") is None
    assert "passage" not in events_of(app, "access_granted")[0]
