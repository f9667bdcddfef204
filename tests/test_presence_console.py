"""A guard sees occupancy, corrects a count and forgives a holder at the console: real
HTTP, a real App, the manual clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.console.server import ConsolePart
from agent.console.wiring import attach_console
from agent.gate.app import App
from agent.models.config import GateConfig
from tests.console_helpers import Client, add_guards
from tests.test_occupancy import CARD, DOORS, fill, presence


@pytest.fixture
def console(make_app: Callable[..., App], make_config: Callable[..., GateConfig],
            ) -> tuple[App, ConsolePart]:  # fmt: skip
    config = make_config(doors=DOORS, inputs={},
                         presence=presence(passback="hard", capacity=2,
                                           when_full="refuse_visitors"),
                         console={"enabled": True, "port": 0, "session_minutes": 30})  # fmt: skip
    app = make_app(config)
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    fill(app)
    return app, part


def details(app: App, type_: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(200) if e.type == type_]


def tap(app: App, card: str) -> dict[str, Any]:
    """A tap at the threaded gate's main-in reader; its decision once the gate settled."""
    from drivers.sim import SimCardReader

    reader = app.devices.readers["main-in"]
    assert isinstance(reader, SimCardReader)
    before = app.events.last_seq()
    reader.present(card)
    app.settle()
    (decided,) = [e for e in app.events.matching(after_seq=before)
                  if e.type.value.startswith("access_")]  # fmt: skip
    return decided.details


def signed_in(part: ConsolePart) -> Client:
    guard = Client(part)
    assert guard.sign_in("alice") == 303
    return guard


def test_the_page_shows_counts_and_a_full_area(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    guard = signed_in(part)
    status, page = guard.get("/presence")
    assert status == 200 and 'href="/presence"' in page and "compound" in page
    app.correct_occupancy("guard:bob", "compound", "visitor", count=2)
    page = guard.get("/presence")[1]
    assert "FULL: visitors are refused" in page


def test_a_guard_corrects_a_count(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    guard = signed_in(part)
    guard.get("/presence")
    assert guard.post("/presence/correct", area="compound", kind="visitor", count="1",
                      reason="a delivery walked in")[0] == 303  # fmt: skip
    assert guard.header("Location") == ["/presence?ok=corrected"]
    (event,) = details(app, "occupancy_corrected")
    assert event["by"] == "guard:alice" and event["count"] == 1 and event["was"] == 0
    assert "Count corrected." in guard.get("/presence?ok=corrected")[1]
    assert guard.post("/presence/correct", area="compound", kind="visitor", delta="-1")[0] == 303
    assert app.status(0).occupancy["compound"].counts["visitor"] == 0


@pytest.mark.parametrize(("fields", "said"), [
    ({"area": "moon", "kind": "visitor", "count": "1"}, "Refused: correction: no area"),
    ({"area": "compound", "kind": "visitor", "count": "-4"}, "please check the form"),
    ({"area": "compound", "kind": "visitor", "delta": "-1"}, "cannot go below 0"),
    ({"area": "compound", "kind": "visitor", "count": "many"}, "please check the form"),
    ({"area": "compound", "kind": "robot", "count": "1"}, "please check the form"),
    ({"area": "compound", "kind": "visitor"}, "Refused: correction: give the new count"),
])  # fmt: skip
def test_bad_corrections_are_refused_on_the_page(console, fields: dict[str, str],  # type: ignore[no-untyped-def]
                                                 said: str) -> None:  # fmt: skip
    app, part = console
    guard = signed_in(part)
    guard.get("/presence")
    status, page = guard.post("/presence/correct", **fields)
    assert status == 400 and said in page
    assert not details(app, "occupancy_corrected")


def test_a_guard_forgives_a_holder(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    guard = signed_in(part)
    assert tap(app, CARD["R-1"])["granted"]
    assert tap(app, CARD["R-1"])["reason"] == "passback"
    guard.get("/presence")
    assert guard.post("/presence/forgive", holder_id="R-1", reason="card swapped")[0] == 303
    (event,) = details(app, "passback_forgiven")
    assert event["by"] == "guard:alice" and event["holder_id"] == "R-1"
    assert event["reason"] == "card swapped" and event["was"] == "compound"
    assert tap(app, CARD["R-1"])["granted"]
    for bad in ("", "x" * 65, "R-1\x07"):
        status, page = guard.post("/presence/forgive", holder_id=bad)
        assert status == 400 and "please check the form" in page
    assert guard.post("/presence/forgive", holder_id="R-1", csrf="forged")[0] == 403
    assert len(details(app, "passback_forgiven")) == 1
