"""A guard runs a drill from the console: real HTTP, a real App, the manual clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.console.server import ConsolePart
from agent.console.wiring import attach_console
from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.models.config import GateConfig
from tests.console_helpers import Client, add_guards


@pytest.fixture
def console(make_app: Callable[..., App], make_config: Callable[..., GateConfig],
            ) -> tuple[App, ConsolePart]:  # fmt: skip
    app = make_app(make_config(console={"enabled": True, "port": 0, "session_minutes": 30}))
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    return app, part


def drill_events(app: App) -> list[tuple[str, dict[str, object]]]:
    return [(e.type.value, e.details) for e in app.events.recent(200)
            if e.type.value.startswith("drill_")]  # fmt: skip


def settle(app: App, clock: ManualClock, seconds: float) -> None:
    """Move the clock; the loop thread runs what fell due before two calls come back."""
    clock.advance(seconds)
    app.settle()
    app.settle()


def test_a_guard_starts_and_stops_a_drill(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    clock: ManualClock = app.clock  # type: ignore[assignment]
    guard = Client(part)
    assert guard.sign_in("alice") == 303
    status, page = guard.get("/drill")
    assert status == 200 and "Start the drill" in page and 'href="/drill"' in page
    assert (
        guard.post("/drill", kind="fire", minutes="15", note="with the fire warden", confirm="yes")[
            0
        ]
        == 303
    )
    assert guard.header("Location") == ["/drill?ok=drill"]
    assert app.mode.value == "release" and not app.doors["main"].locked
    ((kind, started),) = drill_events(app)
    assert kind == "drill_started" and started["by"] == "guard:alice"
    assert started["note"] == "with the fire warden" and started["kind"] == "fire"
    assert "FIRE DRILL" in guard.get("/")[1]  # the live view says the release is a drill
    page = guard.get("/drill?ok=drill")[1]
    assert "Stop the drill now" in page and "Drill started" in page
    status, page = guard.post("/drill", kind="evacuation", minutes="5", confirm="yes")
    assert status == 400 and "Refused: a fire drill is running" in page
    settle(app, clock, 120.0)
    assert guard.post("/drill/stop")[0] == 303
    kind, report = drill_events(app)[-1]
    assert kind == "drill_ended" and report["ended_by"] == "guard:alice"
    assert report["reason"] == "stopped" and report["duration_s"] == 120.0
    assert report["not_released"] == []  # its relay released it; nobody had to walk through
    assert app.mode.value == "normal" and app.doors["main"].locked
    page = guard.get("/drill")[1]
    assert "Last drill" in page and "main: released at +0.0 s" in page
    status, page = guard.post("/drill/stop")
    assert status == 400 and "Refused: no drill is running" in page


def test_bad_drill_forms_change_nothing(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    guard = Client(part)
    assert guard.sign_in("alice") == 303
    guard.get("/drill")
    for fields in ({"kind": "flood", "minutes": "5"}, {"kind": "fire", "minutes": "0"},
                   {"kind": "fire", "minutes": "-3"}, {"kind": "fire", "minutes": "9999"},
                   {"kind": "fire", "minutes": "10", "note": "x\x07y"}):  # fmt: skip
        status, page = guard.post("/drill", confirm="yes", **fields)
        assert status == 400 and "please check the form" in page, fields
    # a drill releases doors: without the guard's confirmation it does not start (item 23)
    for fields in ({"kind": "fire", "minutes": "5"}, {"kind": "fire", "minutes": "5",
                                                      "confirm": "no"}):  # fmt: skip
        status, page = guard.post("/drill", **fields)
        assert status == 400 and "please check the form" in page, fields
    assert guard.post("/drill", csrf="stale", kind="fire", minutes="5")[0] == 403
    assert drill_events(app) == [] and app.mode.value == "normal"
