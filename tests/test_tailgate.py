"""Tailgating seen (issue 21, item 7): door cycles against the authorisations that paid for
them, a door held open long enough for several people, and exits never entered. Driven
on a manual clock through the real App, its sim contact, exit button and readers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.clock import ManualClock
from agent.core.tailgate import DoorCycles
from agent.errors import ConfigError
from agent.faces.checks import warnings
from agent.gate.app import App
from agent.models.config import GateConfig, validate_config
from agent.models.tailgate import TailgateConfig
from drivers.sim import SimInput
from tests.conftest import BASE, enroll, merge, tap, types

CARD = "uid:04A1B2C3"
WATCH = {"window_s": 30, "several_passages_s": 10}


def doors(main: dict[str, Any] | None = None, **side: Any) -> list[dict[str, Any]]:
    """BASE's doors with ``main`` (and ``side``) fields added."""
    out = copy.deepcopy(BASE["doors"])
    out[0].update({"tailgate": WATCH} if main is None else main)
    out[1].update(side)
    return out


@pytest.fixture
def gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig]) -> App:
    app = make_app(make_config(doors=doors()))
    app.start(threaded=False)
    app.loop.pump()
    enroll(app, CARD)
    return app


def at(app: App, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    app.loop.pump()


def contact(app: App, is_open: bool) -> None:
    device = app.devices.inputs["main.contact"]
    assert isinstance(device, SimInput)
    device.set(is_open)
    app.loop.pump()


def press_exit(app: App) -> None:
    device = app.devices.inputs["main.exit"]
    assert isinstance(device, SimInput)
    device.press()
    app.loop.pump()


def cycle(app: App, clock: ManualClock, open_s: float, then_closed_s: float) -> None:
    contact(app, True)
    at(app, clock, open_s)
    contact(app, False)
    at(app, clock, then_closed_s)


def alarms(app: App) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(200) if e.type.value == "tailgate_suspected"]


def test_one_grant_two_cycles_raises_tailgate_suspected(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    at(gate, clock, 1)
    # the first person holds it past the pulse: it closes relocked, within the open grace
    cycle(gate, clock, 4.2, 1.1)
    contact(gate, True)  # the door lets the second cycle by as authorised ...
    assert not gate.doors["main"].forced
    (alarm,) = alarms(gate)  # ... but nobody paid for it
    assert alarm == {"reason": "extra_cycle", "cycles": 2, "grants": 1, "window_s": 30.0}
    event = gate.events.recent(1)[0]
    assert event.severity == "alarm" and event.door == "main"
    assert types(gate)[-2:] == ["door_opened", "tailgate_suspected"]


def test_grant_exit_request_two_cycles_is_no_alarm(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    at(gate, clock, 1)
    cycle(gate, clock, 4.2, 0.3)
    press_exit(gate)  # someone inside lets themselves out: a second cycle is paid for
    at(gate, clock, 0.8)
    cycle(gate, clock, 2, 1)
    assert not alarms(gate)
    assert "door_forced_open" not in types(gate)


def test_a_forced_second_opening_is_the_forced_alarm_only(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    cycle(gate, clock, 2, 2)  # closed within the pulse: relocked
    contact(gate, True)
    assert gate.doors["main"].forced and not alarms(gate)


def test_one_long_episode_is_one_alarm(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    cycle(gate, clock, 5.2, 1.1)
    contact(gate, True)  # unpaid: the alarm
    at(gate, clock, 0.5)
    contact(gate, False)
    at(gate, clock, 1)
    press_exit(gate)
    cycle(gate, clock, 5.2, 1.1)  # paid by the button
    contact(gate, True)  # unpaid again, within the episode: folded into the first alarm
    assert len(alarms(gate)) == 1
    assert gate.tailgating.doors["main"].cycles is not None
    assert gate.tailgating.doors["main"].cycles.held_back == 1
    contact(gate, False)
    at(gate, clock, 31)  # a quiet window ends the episode
    tap(gate, CARD)
    cycle(gate, clock, 5.2, 1.1)
    contact(gate, True)
    assert len(alarms(gate)) == 2


def test_release_mode_never_raises(gate: App, clock: ManualClock) -> None:
    gate.set_release(True)
    for _ in range(5):
        cycle(gate, clock, 12, 2)
    contact(gate, True)
    at(gate, clock, 15)
    gate.set_release(False)  # the release ends with the door open: it was no grant's cycle
    at(gate, clock, 1)
    contact(gate, False)
    assert not alarms(gate)


def test_fire_release_during_a_held_opening_cancels_the_check(
    gate: App, clock: ManualClock
) -> None:
    tap(gate, CARD)
    contact(gate, True)
    at(gate, clock, 5)
    gate.devices.inputs["fire"].set(True)  # type: ignore[attr-defined]
    gate.loop.pump()
    at(gate, clock, 8)
    assert gate.mode.value == "release" and not alarms(gate)


def test_held_open_long_after_one_grant(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    contact(gate, True)
    at(gate, clock, 9.9)
    assert not alarms(gate)
    at(gate, clock, 0.2)
    (alarm,) = alarms(gate)
    assert alarm["reason"] == "held_for_several" and alarm["open_s"] == 10.1
    at(gate, clock, 20)
    assert types(gate)[-1] == "door_held_open"  # its own alarm, later, still comes
    contact(gate, False)
    assert len(alarms(gate)) == 1


def test_held_open_for_two_let_in_is_no_alarm(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    contact(gate, True)
    at(gate, clock, 4)
    enroll(gate, "uid:0BADCAFE", version=2, holder_id="R-2")
    tap(gate, "uid:0BADCAFE")  # a second resident taps while the door stands open
    at(gate, clock, 12)
    contact(gate, False)
    assert not alarms(gate)


def test_contact_chatter_is_one_cycle(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    contact(gate, True)
    at(gate, clock, 5.5)  # the pulse is over: closing leaves the grace running
    for _ in range(3):  # the door bounces off its frame
        contact(gate, False)
        at(gate, clock, 0.2)
        contact(gate, True)
        at(gate, clock, 0.1)
    contact(gate, False)
    assert not alarms(gate) and "door_forced_open" not in types(gate)


def test_a_bounce_does_not_restart_the_held_check(gate: App, clock: ManualClock) -> None:
    tap(gate, CARD)
    contact(gate, True)
    at(gate, clock, 6)
    contact(gate, False)
    at(gate, clock, 0.3)
    contact(gate, True)  # the same opening: ten seconds from the first
    at(gate, clock, 4)
    assert [a["reason"] for a in alarms(gate)] == ["held_for_several"]


def test_a_door_without_the_watch_never_raises(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    app = make_app(make_config(doors=doors(main={})))
    app.start(threaded=False)
    enroll(app, CARD)
    tap(app, CARD)
    cycle(app, clock, 5.2, 1.1)
    contact(app, True)
    at(app, clock, 20)
    assert not alarms(app)


def test_a_live_config_change_turns_the_watch_on(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    app = make_app(make_config(doors=doors(main={})))
    app.start(threaded=False)
    enroll(app, CARD)
    app.reconfigure(make_config(doors=doors()), 2)
    tap(app, CARD)
    cycle(app, clock, 5.2, 1.1)
    contact(app, True)
    assert len(alarms(app)) == 1


def test_no_contact_means_inert_and_check_config_says_so(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], clock: ManualClock
) -> None:
    config = make_config(doors=doors(tailgate=WATCH))  # the side door has no contact
    assert ("doors.1.tailgate",
            "this door has no contact: tailgating cannot be seen there (the watch stays off)"
            ) in warnings(config)  # fmt: skip
    assert not [w for w in warnings(config) if w[0] == "doors.0.tailgate"]
    app = make_app(config)
    app.start(threaded=False)
    enroll(app, CARD)
    for _ in range(3):
        tap(app, CARD, reader="side-in")
        at(app, clock, 12)
    assert app.tailgating.doors["side"].cycles is None and not alarms(app)


def _errors(tmp_path: Path, **fields: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_config(merge(BASE, {"doors": doors(fields)}), tmp_path)
    return caught.value.errors


def test_config_errors_are_one_line_each(tmp_path: Path) -> None:
    errors = _errors(tmp_path, pulse_s=40, held_open_s=20,
                     tailgate={"window_s": 30, "several_passages_s": 25})  # fmt: skip
    assert [key for key, _ in errors] == [
        "doors.0.tailgate.window_s", "doors.0.tailgate.several_passages_s"]  # fmt: skip
    assert all("\n" not in text for _, text in errors)
    assert "pulse (40 s)" in errors[0][1] and "held_open_s (20 s)" in errors[1][1]
    (bad,) = _errors(tmp_path, tailgate={"cycles_per_grant": 0})
    assert bad[0] == "doors.0.tailgate.cycles_per_grant"
    (extra,) = _errors(tmp_path, tailgate={"window": 30})
    assert extra[0] == "doors.0.tailgate.window"
    assert TailgateConfig().several_passages_s == 10.0  # 0 turns the held check off


# -- directional readers: an exit with no recorded entry --------------------------------
def _both_ways(make_config: Callable[..., GateConfig]) -> GateConfig:
    readers = [{"id": "main-in"}, {"id": "main-out", "direction": "out"}]
    return make_config(doors=doors(main={"readers": readers}))


def _exits(app: App) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(200) if e.type.value == "exit_without_entry"]


def test_an_exit_with_no_recorded_entry_is_counted(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    app = make_app(_both_ways(make_config))
    app.start(threaded=False)
    enroll(app, CARD)
    tap(app, CARD, reader="main-out")  # never seen going in
    assert _exits(app) == [{"holder_id": "R-1"}]
    assert app.status(recent=0).exits_without_entry == 1
    event = next(e for e in app.events.recent(5) if e.type.value == "exit_without_entry")
    assert event.severity == "info" and event.door == "main"
    tap(app, CARD, reader="main-out")  # out twice: the second is no entry either
    tap(app, CARD, reader="main-in")
    tap(app, CARD, reader="main-out")  # in, then out: fine
    assert len(_exits(app)) == 2 and app.status(recent=0).exits_without_entry == 2
    denied = tap(app, "uid:DEADBEEF", reader="main-out")
    assert not denied["granted"] and len(_exits(app)) == 2  # a refusal is no exit


def test_entries_survive_a_restart(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    config = _both_ways(make_config)
    app = make_app(config)
    app.start(threaded=False)
    enroll(app, CARD)
    tap(app, CARD, reader="main-in")
    app.stop()
    again = make_app(config)  # read back from the event log
    again.start(threaded=False)
    tap(again, CARD, reader="main-out")
    assert not _exits(again) and again.status(recent=0).exits_without_entry == 0


def test_a_gate_without_readers_both_ways_does_not_count(gate: App) -> None:
    tap(gate, CARD)
    assert gate.status(recent=0).exits_without_entry is None and not _exits(gate)


# -- the counter alone -------------------------------------------------------------------
def test_cycles_per_grant_and_the_window() -> None:
    cycles = DoorCycles(TailgateConfig(window_s=20, cycles_per_grant=2, settle_s=1))
    cycles.authorised(0)
    assert cycles.opened(1, counted=True) is None
    cycles.closed(3)
    assert cycles.opened(5, counted=True) is None  # the grant's second passage
    cycles.closed(7)
    found = cycles.opened(9, counted=True)
    assert found is not None and (found.cycles, found.grants) == (3, 1)
    cycles.closed(10)
    cycles.authorised(40)  # long after: the grant lapses unused
    assert cycles.opened(70, counted=True) is not None
    assert cycles.held_back == 0


def test_a_forced_or_released_opening_is_not_counted() -> None:
    cycles = DoorCycles(TailgateConfig())
    assert cycles.opened(0, counted=False) is None
    assert cycles.held_due() is None and cycles.held(100) is None


# -- what the guard sees -----------------------------------------------------------------
def test_the_console_shows_it_as_an_alarm_until_acknowledged(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    from agent.console.render import catalogue
    from agent.console.wiring import attach_console
    from agent.console.words import event_text
    from agent.core.kinds import EventType
    from tests.console_helpers import Client, add_guards

    app = make_app(make_config(doors=doors(), console={"enabled": True, "port": 0}))
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    guard = Client(part)
    guard.sign_in("alice")
    extra = app.record(EventType.TAILGATE_SUSPECTED, "main", reason="extra_cycle", cycles=2,
                       grants=1, window_s=30.0)  # fmt: skip
    held = app.record(EventType.TAILGATE_SUSPECTED, "main", reason="held_for_several",
                      cycles=1, grants=1, window_s=30.0, open_s=10.1)  # fmt: skip
    page = guard.get("/")[1]
    assert f'data-seq="{extra.seq}"' in page and "TAILGATING" in page
    assert "Door main opened 2 times in 30.0 s for 1 let in" in page
    assert "Door main stood open 10.1 s after one person was let in" in page
    zh = catalogue("zh-Hans").gettext
    assert event_text(extra, zh).startswith("main 在 30.0 秒内开启 2 次")
    assert event_text(held, zh).startswith("main 放行一人后开启了 10.1 秒")
    assert guard.post("/alarms/ack", alarm_seq=str(extra.seq), note="a delivery man")[0] == 303
    ack = next(e for e in app.events.recent(5) if e.type.value == "alarm_acknowledged")
    assert ack.details["alarm_type"] == "tailgate"


def test_the_example_in_hardware_md_is_taken(tmp_path: Path) -> None:
    import tomllib

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "hardware.md").read_text()
    section = text[text.index("## Tailgating and piggy-backing") :]
    example = tomllib.loads(section.split("```toml\n", 1)[1].split("```", 1)[0])
    rule = example["doors"][0]["tailgate"]
    door = doors(main={"tailgate": rule})
    config = validate_config(merge(BASE, {"doors": door}), tmp_path)
    assert config.doors[0].tailgate == TailgateConfig(**rule)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.05, 40),  # gap before the authorisation
            st.floats(0, 6),  # authorisation to opening
            st.floats(0.05, 9.9),  # open for
            st.booleans(),  # a bounce after closing
        ),
        max_size=30,
    )
)
def test_every_cycle_paid_for_never_raises(
    cycles_seen: list[tuple[float, float, float, bool]],
) -> None:
    cycles = DoorCycles(TailgateConfig(window_s=30, several_passages_s=10, settle_s=1))
    now = 0.0
    for gap, wait, open_s, bounce in cycles_seen:
        now += 1.0 + gap  # closed at least settle_s since the last cycle
        cycles.authorised(now)
        now += wait
        assert cycles.opened(now, counted=True) is None
        assert cycles.held(now + open_s) is None  # not due before several_passages_s
        now += open_s
        cycles.closed(now)
        if bounce:  # it swings back open briefly: the same cycle
            assert cycles.opened(now + 0.2, counted=True) is None
            now += 0.4
            cycles.closed(now)
