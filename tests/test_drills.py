"""Fire and evacuation drills on a real App: sim devices, SQLite, the manual clock.

Timers (the drill's end, relay re-checks) run on the injected clock: tests advance it
and pump the loop, never sleep.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.core.clock import ManualClock
from agent.core.kinds import DrillKind
from agent.errors import DriverError, Rejected
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.drills import DrillCommand, drill_lines
from drivers.sim import SimInput, SimRelay
from tests.conftest import BASE, enroll, tap

CARD = "uid:DEADBEEF"
BACK = {
    "id": "back",
    "pulse_s": 5.0,
    "readers": [{"id": "back-in"}],
    "relay": {"driver": "sim"},
    "contact": {"driver": "sim"},
}
DOORS = [*copy.deepcopy(BASE["doors"]), BACK]  # main and back: contact, released by fire


class FaultyRelay(SimRelay):
    """A relay whose driver fails when asked to unlock (a dead output, a lost expander)."""

    def set_energised(self, energised: bool) -> None:
        if energised:  # side is fail-safe: unlocking cuts the coil, so locking energises
            super().set_energised(energised)
            return
        raise DriverError("relay side: output does not respond")


@pytest.fixture
def gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig]) -> App:
    app = make_app(make_config(doors=DOORS))
    app.start(threaded=False)
    app.loop.pump()
    return app


def sim(app: App, name: str) -> SimInput:
    device = app.devices.inputs[name]
    assert isinstance(device, SimInput)
    return device


def flip(app: App, name: str, active: bool) -> None:
    sim(app, name).set(active)
    app.loop.pump()


def later(app: App, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    app.loop.pump()


def since(app: App, seq: int) -> list[Any]:
    return [e for e in app.events.recent(1000) if e.seq > seq]


def ended(app: App) -> dict[str, Any]:
    (event,) = [e for e in app.events.recent(1000) if e.type.value == "drill_ended"][-1:]
    return event.details


def test_fire_drill_releases_marks_every_event_and_reports(gate: App, clock: ManualClock) -> None:
    enroll(gate, CARD)
    before = gate.events.last_seq() or 0
    started = gate.start_drill(DrillKind.FIRE, "office", minutes=10, note="quarterly")
    tag = {"id": started["id"], "kind": "fire"}
    assert started["mode"] == "release" and gate.drill() is not None
    assert not gate.doors["main"].locked and not gate.doors["back"].locked
    assert gate.doors["side"].locked  # release_on_fire = false: as the fire input would
    assert tap(gate, CARD)["reason"] == "emergency_release"
    later(gate, clock, 4.0)
    flip(gate, "main.contact", True)
    later(gate, clock, 20.0)
    flip(gate, "main.contact", False)
    assert not gate.doors["main"].locked  # still released: closing does not relock it
    during = since(gate, before)
    assert [e.type.value for e in during[:2]] == ["drill_started", "mode_changed"]
    assert during[0].details["by"] == "office" and during[0].details["doors"] == ["main", "back"]
    assert during[0].details["previous_mode"] == "normal"
    assert during[0].details["note"] == "quarterly"
    assert all(e.details["drill"] == tag for e in during), [e.type for e in during]
    assert {"access_granted", "door_opened", "door_closed"} <= {e.type.value for e in during}
    mark = gate.events.last_seq() or 0
    later(gate, clock, 600.0 - 24.0)  # the end comes from the clock's timer
    report = ended(gate)
    assert report["drill"] == tag and report["reason"] == "time" and report["ended_by"] == "drill"
    assert report["doors"]["main"] == {"released": True, "released_s": 0.0, "took_s": 0.0,
                                       "opened_s": 4.0}  # fmt: skip
    assert report["doors"]["back"] == {"released": True, "released_s": 0.0, "took_s": 0.0}
    assert report["doors"]["side"] == {"expected": False}
    assert report["not_released"] == [] and report["duration_s"] == 600.0
    assert report["restored_mode"] == "normal" and report["started_by"] == "office"
    assert gate.doors["main"].locked and gate.doors["back"].locked and gate.drill() is None
    closing = since(gate, mark)
    assert [e.type.value for e in closing] == ["mode_changed", "drill_ended"]
    assert closing[0].details == {"mode": "normal", "previous": "release", "by": "drill",
                                  "drill": tag}  # fmt: skip
    assert "drill" not in tap(gate, CARD) and "drill" not in gate.events.recent(1)[0].details
    text = "\n".join(drill_lines(report))
    assert "back: released at +0.0 s, took 0.0 s; nobody opened it" in text
    assert "main: released at +0.0 s, took 0.0 s; opened at +4.0 s" in text


def test_evacuation_releases_every_door_and_names_a_relay_fault(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    app = make_app(make_config(doors=DOORS))
    broken = FaultyRelay("side", {}, app.hardware.context)  # type: ignore[arg-type]
    app.doors["side"].relay = broken
    app.hardware.relays["side"] = broken
    app.start(threaded=False)
    app.loop.pump()
    app.start_drill(DrillKind.EVACUATION, "office", minutes=5)
    assert not app.doors["main"].locked and not app.doors["back"].locked  # the fault stopped none
    (fault,) = [e for e in app.events.recent(20) if e.type.value == "agent_fault"]
    assert fault.door == "side" and fault.details["error"] == "DriverError"
    assert fault.details["drill"]["kind"] == "evacuation"
    flip(app, "main.contact", True)
    later(app, clock, 2.5)
    flip(app, "back.contact", True)
    later(app, clock, 30.0)  # the relay is looked at again each second: still no good
    report = app.stop_drill("office")
    assert report["reason"] == "stopped" and report["not_released"] == ["side"]
    assert report["doors"]["side"] == {
        "released": False,
        "contact": False,
        "problem": "the relay never showed the unlocked state",
    }
    assert report["doors"]["back"]["opened_s"] == 2.5
    assert report["doors"]["main"]["released_s"] == 0.0


def test_a_released_door_is_released_whether_or_not_anybody_opened_it(
    gate: App, clock: ManualClock
) -> None:
    flip(gate, "main.contact", True)  # propped open before the drill
    gate.start_drill(DrillKind.EVACUATION, "office", minutes=5)
    later(gate, clock, 30.0)  # nobody goes through back; side has no contact
    report = gate.stop_drill("office")
    assert report["not_released"] == []
    released = {"released": True, "released_s": 0.0, "took_s": 0.0}
    assert report["doors"]["back"] == released
    assert report["doors"]["main"] == {**released, "open_at_start": True}
    assert report["doors"]["side"] == {**released, "contact": False}
    text = "\n".join(drill_lines(report))
    assert "DID NOT RELEASE" not in text and "every door released" in text
    assert "back: released at +0.0 s, took 0.0 s; nobody opened it" in text
    assert "main: released at +0.0 s, took 0.0 s; the door was already open at the start" in text
    assert "side: released at +0.0 s, took 0.0 s; no door contact: the relay is all" in text


def test_reports_of_earlier_gates_still_read() -> None:
    door = {"released": True, "released_s": 4.0, "took_s": 4.0, "measured_by": "contact",
            "relay_s": 0.0}  # fmt: skip
    text = "\n".join(drill_lines({"kind": "fire", "doors": {"main": door}}))
    assert "  main: released at +4.0 s, took 4.0 s (contact)\n" in text


def test_an_earlier_report_of_a_relay_that_released_is_never_did_not_release() -> None:
    """Gates before 2026-12 said ``released: false`` for a door whose relay released when
    nobody opened it (its ``relay_s`` says the relay did): the office reads it as released."""
    door = {"released": False, "problem": "the door contact never showed the door open",
            "relay_s": 0.3}  # fmt: skip
    report = {"kind": "fire", "doors": {"main": door}, "not_released": ["main"]}
    text = "\n".join(drill_lines(report))
    assert "DID NOT RELEASE" not in text and "not released: main" not in text
    assert "  main: released at +0.3 s (relay)" in text and "every door released" in text


def test_stop_early_restores_lockdown(gate: App, clock: ManualClock) -> None:
    gate.set_lockdown(True, by="office", request_id="r-1")
    started = gate.start_drill(DrillKind.FIRE, "local", minutes=30)
    assert gate.mode.value == "release"
    later(gate, clock, 90.0)
    report = gate.stop_drill("office")
    assert report["reason"] == "stopped" and report["ended_by"] == "office"
    assert report["duration_s"] == 90.0 and report["restored_mode"] == "lockdown"
    assert gate.mode.value == "lockdown" and gate.doors["main"].locked
    changed = [e.details for e in gate.events.recent(10) if e.type.value == "mode_changed"]
    assert changed[-1]["lockdown_by"] == "office" and changed[-1]["drill"]["id"] == started["id"]
    later(gate, clock, 3600.0)  # the end timer is gone with the drill
    assert [e.type.value for e in gate.events.recent(200)].count("drill_ended") == 1


def test_a_real_fire_during_an_evacuation_drill_wins(gate: App, clock: ManualClock) -> None:
    started = gate.start_drill(DrillKind.EVACUATION, "office", minutes=10)
    tag = {"id": started["id"], "kind": "evacuation"}
    later(gate, clock, 60.0)
    mark = gate.events.last_seq() or 0
    flip(gate, "fire", True)
    flip(gate, "main.contact", True)
    alarm, opened = since(gate, mark)
    assert alarm.type.value == "fire_alarm" and "drill" not in alarm.details
    assert alarm.details == {"real_fire": True, "during_drill": tag}
    assert opened.type.value == "door_opened" and "drill" not in opened.details
    assert gate.drill() is not None  # the drill goes on under the fire
    later(gate, clock, 600.0)
    report = ended(gate)
    assert report["real_fire_at_s"] == 60.0 and report["restored_mode"] == "release"
    assert not gate.doors["main"].locked  # the fire still holds the doors
    mark = gate.events.last_seq() or 0
    flip(gate, "fire", False)
    assert all("drill" not in e.details for e in since(gate, mark))
    assert gate.mode.value == "normal" and gate.doors["main"].locked
    assert "a real fire input at +60.0 s took over" in "\n".join(drill_lines(report))


def test_the_fire_input_during_a_fire_drill_is_the_drills(gate: App, clock: ManualClock) -> None:
    started = gate.start_drill(DrillKind.FIRE, "office", minutes=10)
    flip(gate, "fire", True)  # the panel sounded for the drill
    alarm = gate.events.recent(1)[0]
    assert alarm.type.value == "fire_alarm" and alarm.details["drill"]["id"] == started["id"]
    flip(gate, "fire", False)
    assert gate.mode.value == "release"  # the drill still holds the release


def test_a_drill_carries_on_after_a_restart_and_ends_properly(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    config = make_config(doors=DOORS)
    first = make_app(config)
    first.start(threaded=False)
    first.loop.pump()
    started = first.start_drill(DrillKind.FIRE, "guard:alice", minutes=10)
    later(first, clock, 3.0)
    flip(first, "main.contact", True)
    first.stop()  # doors locked on the way down; the drill is kept
    assert first.doors["main"].locked
    later(first, clock, 60.0)
    second = make_app(config)
    sim(second, "main.contact").set(False)
    second.start(threaded=False)
    second.loop.pump()
    assert second.drill() is not None and second.drill()["id"] == started["id"]  # type: ignore[index]
    assert not second.doors["main"].locked and not second.doors["back"].locked
    resumed = [e for e in second.events.recent(10) if e.type.value == "mode_changed"][-1]
    assert resumed.details["by"] == "drill_resume" and resumed.details["drill"]["kind"] == "fire"
    later(second, clock, 600.0 - 63.0)
    report = ended(second)
    assert report["restarts"] == 1 and report["reason"] == "time"
    assert report["doors"]["main"]["opened_s"] == 3.0  # from before the restart
    assert report["duration_s"] == 600.0 and report["started_by"] == "guard:alice"
    assert second.doors["main"].locked and second.drill() is None
    second.stop()
    third = make_app(config)
    third.start(threaded=False)
    assert third.drill() is None and third.doors["main"].locked


def test_a_drill_whose_end_passed_while_stopped_ends_at_start(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    config = make_config(doors=DOORS)
    first = make_app(config)
    first.start(threaded=False)
    first.start_drill(DrillKind.EVACUATION, "office", minutes=5)
    first.stop()
    clock.advance(3600.0)
    second = make_app(config)
    second.start(threaded=False)
    second.loop.pump()
    report = ended(second)
    assert report["reason"] == "ended_while_stopped" and report["duration_s"] == 3600.0
    assert second.mode.value == "normal" and second.doors["side"].locked


def test_refusals_are_one_line_and_change_nothing(gate: App, clock: ManualClock) -> None:
    with pytest.raises(Rejected, match=r"^no drill is running$"):
        gate.stop_drill("office")
    with pytest.raises(Rejected, match="must end after now and within 240 minutes"):
        gate.start_drill(DrillKind.FIRE, "office", until=clock.now() - timedelta(minutes=1))
    with pytest.raises(Rejected, match="within 240 minutes"):
        gate.start_drill(DrillKind.FIRE, "office", until=clock.now() + timedelta(hours=5))
    flip(gate, "fire", True)
    with pytest.raises(Rejected, match="fire input is active"):
        gate.start_drill(DrillKind.EVACUATION, "office", minutes=5)
    flip(gate, "fire", False)
    gate.start_drill(DrillKind.FIRE, "office", minutes=5)
    with pytest.raises(Rejected, match=r"^a fire drill is running .*: stop it first$"):
        gate.start_drill(DrillKind.EVACUATION, "office", minutes=5)
    assert [e.type.value for e in gate.events.recent(100)].count("drill_started") == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"kind": "flood", "minutes": 5}, "kind"),
        ({"kind": "fire", "minutes": -3}, "minutes"),
        ({"kind": "fire", "minutes": 5, "until": "2026-06-10T10:00:00+03:00"}, "one of them"),
        ({"kind": "fire"}, "minutes or until"),
        ({"stop": True, "kind": "fire"}, "stop takes no kind"),
        ({"minutes": 5}, "needs kind"),
        ({"kind": "fire", "minutes": "5"}, "minutes"),
    ],
)
def test_the_command_model_refuses_bad_drills(body: dict[str, Any], problem: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=problem):
        DrillCommand.model_validate({"request_id": "r", **body})


VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-10, 10_000)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["fire", "evacuation", "2026-06-10T07:05:00+00:00"])
)
KEYS = st.sampled_from(["request_id", "kind", "minutes", "until", "note", "stop", "door"])
BODIES = (
    st.dictionaries(KEYS | st.text(max_size=6), VALUES, max_size=6)
    | st.lists(VALUES, max_size=3)
    | VALUES
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(body=BODIES)
def test_any_drill_message_is_done_or_refused_in_one_line(gate: App, body: Any) -> None:
    from agent.link.commands import Commands

    commands = Commands(gate, lambda _why: None, lambda: None)
    try:
        ack = commands.run("drill", body)
    except Rejected as exc:
        assert exc.error and "\n" not in exc.error and len(exc.error) <= 200
    else:
        assert ack.ok and ack.result is not None
    if gate.drill() is not None:
        gate.stop_drill("test")
    assert gate.mode.value == "normal" and gate.doors["main"].locked
