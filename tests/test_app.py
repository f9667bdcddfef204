"""Door control, modes and alarms, driven on a manual clock without sleeping."""

from __future__ import annotations

import threading
from collections.abc import Callable

from agent.core.clock import ManualClock
from agent.errors import FatalError
from agent.gate.app import App
from drivers.sim import SimInput, SimRelay
from tests.conftest import enroll, tap, types

CARD = "uid:04A1B2C3"


def relay(app: App, door: str = "main") -> SimRelay:
    device = app.doors[door].relay
    assert isinstance(device, SimRelay)
    return device


def sim_input(app: App, name: str) -> SimInput:
    device = app.devices.inputs[name]
    assert isinstance(device, SimInput)
    return device


def stimulate(app: App, name: str, action: Callable[[SimInput], None]) -> None:
    action(sim_input(app, name))
    app.loop.pump()


def test_relays_are_locked_at_start(app: App) -> None:
    # fail-secure strike: coil off; fail-safe maglock: coil on
    assert relay(app, "main").history == [(relay(app, "main").history[0][0], False)]
    assert relay(app, "side").is_energised is True
    assert all(d.locked for d in app.doors.values())


def test_grant_pulses_then_relocks(app: App, clock: ManualClock) -> None:
    enroll(app, CARD)
    result = tap(app, CARD)
    assert result["granted"] and result["holder_id"] == "R-1"
    assert relay(app).is_energised and not app.doors["main"].locked
    clock.advance(4.9)
    app.loop.pump()
    assert not app.doors["main"].locked
    clock.advance(0.2)
    app.loop.pump()
    assert app.doors["main"].locked and not relay(app).is_energised
    assert types(app)[-1] == "access_granted"


def test_fail_safe_door_pulses_by_cutting_the_coil(app: App, clock: ManualClock) -> None:
    enroll(app, CARD)
    tap(app, CARD, reader="side-in")
    assert relay(app, "side").is_energised is False
    clock.advance(3.1)
    app.loop.pump()
    assert relay(app, "side").is_energised is True


def test_denied_card_does_not_move_the_relay(app: App) -> None:
    before = list(relay(app).history)
    result = tap(app, "uid:DEADBEEF")
    assert not result["granted"] and result["reason"] == "unknown"
    assert relay(app).history == before


def test_event_written_before_relay_moves(app: App) -> None:
    enroll(app, CARD)
    seen: list[int] = []
    device = relay(app)
    original = device.set_energised

    def spy(energised: bool) -> None:
        seen.append(app.events.last_seq())
        original(energised)

    device.set_energised = spy  # type: ignore[method-assign]
    result = tap(app, CARD)
    assert seen and seen[0] == result["seq"]


def test_forced_open_and_cleared(app: App) -> None:
    stimulate(app, "main.contact", lambda d: d.set(True))
    assert app.doors["main"].forced
    stimulate(app, "main.contact", lambda d: d.set(False))
    assert types(app)[-3:] == ["door_forced_open", "door_closed", "door_forced_cleared"]
    assert not app.doors["main"].forced
    alarm = next(e for e in app.events.recent(10) if e.type.value == "door_forced_open")
    assert alarm.severity == "alarm" and alarm.door == "main"


def test_authorised_open_then_held_open_alarm(app: App, clock: ManualClock) -> None:
    enroll(app, CARD)
    tap(app, CARD)
    stimulate(app, "main.contact", lambda d: d.set(True))
    assert "door_forced_open" not in types(app)
    clock.advance(29)
    app.loop.pump()
    assert not app.doors["main"].held
    clock.advance(2)
    app.loop.pump()
    assert app.doors["main"].held and types(app)[-1] == "door_held_open"
    stimulate(app, "main.contact", lambda d: d.set(False))
    assert types(app)[-2:] == ["door_closed", "door_held_cleared"]


def test_close_relocks_before_the_pulse_ends(app: App) -> None:
    enroll(app, CARD)
    tap(app, CARD)
    stimulate(app, "main.contact", lambda d: d.set(True))
    stimulate(app, "main.contact", lambda d: d.set(False))
    assert app.doors["main"].locked
    # and the grant does not cover a second opening
    stimulate(app, "main.contact", lambda d: d.set(True))
    assert app.doors["main"].forced


def test_open_just_after_pulse_is_within_grace(app: App, clock: ManualClock) -> None:
    enroll(app, CARD)
    tap(app, CARD)
    clock.advance(5.5)
    app.loop.pump()
    stimulate(app, "main.contact", lambda d: d.set(True))
    assert not app.doors["main"].forced


def test_exit_button_pulses_even_in_lockdown(app: App) -> None:
    app.set_lockdown(True)
    stimulate(app, "main.exit", SimInput.press)
    assert not app.doors["main"].locked
    assert "exit_request" in types(app)


def test_visitor_button_logs_and_opens(app: App) -> None:
    stimulate(app, "visitor", SimInput.press)
    event = app.events.recent(1)[0]
    assert event.type.value == "visitor_registered" and event.details["opened"] is True
    assert not app.doors["main"].locked
    app.doors["main"].lock()
    app.set_lockdown(True)
    stimulate(app, "visitor", SimInput.press)
    assert app.events.recent(1)[0].details["opened"] is False
    assert app.doors["main"].locked


def test_fire_releases_configured_doors_until_cleared(app: App) -> None:
    enroll(app, CARD)
    stimulate(app, "fire", lambda d: d.set(True))
    assert app.mode.value == "release"
    assert not app.doors["main"].locked and app.doors["side"].locked  # side: release_on_fire=false
    assert tap(app, "uid:DEADBEEF")["reason"] == "emergency_release"
    stimulate(app, "main.contact", lambda d: d.set(True))
    assert not app.doors["main"].forced
    stimulate(app, "fire", lambda d: d.set(False))
    assert app.mode.value == "normal" and app.doors["main"].locked
    assert {"fire_alarm", "fire_alarm_cleared", "mode_changed"} <= set(types(app))


def test_fire_active_at_boot_releases(make_app) -> None:  # type: ignore[no-untyped-def]
    gate = make_app()
    sim_input(gate, "fire").set(True)
    gate.start(threaded=False)
    gate.loop.pump()
    assert gate.mode.value == "release" and not gate.doors["main"].locked


def test_lockdown_is_kept_across_restart(make_app, app: App) -> None:  # type: ignore[no-untyped-def]
    enroll(app, CARD)
    enroll(app, "uid:0BADCAFE", version=2, holder_id="SEC-1", lockdown_override=True)
    app.set_lockdown(True, by="test")
    assert tap(app, "uid:0BADCAFE")["granted"]
    app.stop()
    again = make_app()
    again.start(threaded=False)
    assert again.mode.value == "lockdown"
    assert tap(again, "uid:0BADCAFE")["granted"]


def test_repeated_denials_lock_out_the_card_then_lift(app: App, clock: ManualClock) -> None:
    enroll(app, CARD, suspended=True)
    for _ in range(3):
        assert tap(app, CARD)["reason"] == "suspended"
    alarm = next(e for e in app.events.recent(10) if e.type.value == "repeated_denials")
    assert alarm.details["scope"] == "card" and alarm.details["subject"] == "uid:****B2C3"
    assert tap(app, CARD)["reason"] == "card_locked_out"
    clock.advance(121)
    app.loop.pump()
    assert "lockout_ended" in types(app)
    assert tap(app, CARD)["reason"] == "suspended"


def test_many_cards_lock_out_the_reader(app: App, clock: ManualClock) -> None:
    enroll(app, CARD)
    for i in range(5):
        tap(app, f"uid:DEAD00{i:02X}")
    assert tap(app, CARD)["reason"] == "reader_locked_out"
    assert tap(app, CARD, reader="side-in")["granted"]  # other readers unaffected
    clock.advance(31)
    app.loop.pump()
    assert tap(app, CARD)["granted"]


def test_denials_outside_the_window_do_not_add_up(app: App, clock: ManualClock) -> None:
    for i in range(4):
        tap(app, f"uid:DEAD00{i:02X}")
        clock.advance(20)
    assert "repeated_denials" not in types(app)


def test_untrusted_clock_policy_applies(app: App, clock: ManualClock) -> None:
    enroll(app, CARD, kind="visitor")
    clock.trusted = False
    assert tap(app, CARD)["reason"] == "clock_untrusted"
    clock.trusted = True
    assert tap(app, CARD)["granted"]


def test_crash_in_a_handler_locks_the_doors(app: App) -> None:
    enroll(app, CARD)
    tap(app, CARD)
    assert not app.doors["main"].locked

    def boom() -> None:
        raise RuntimeError("driver exploded")

    app.loop.post(boom)
    app.loop.pump()
    assert app.doors["main"].locked and not relay(app).is_energised
    fault = app.events.recent(1)[0]
    assert fault.type.value == "agent_fault" and fault.details["error"] == "RuntimeError"


def test_fatal_error_stops_the_agent_locked(make_app) -> None:  # type: ignore[no-untyped-def]
    gate = make_app(clock=ManualClock())
    gate.start(threaded=True)
    gate.loop.run_sync(lambda: gate.doors["main"].pulse("test"))
    gate.loop.post(lambda: (_ for _ in ()).throw(FatalError("disk gone")))
    assert gate.wait(5)
    assert gate.doors["main"].locked and not relay(gate).is_energised
    assert gate.doors["side"].relay.is_energised  # maglock held locked


def test_stop_locks_even_during_release(app: App) -> None:
    stimulate(app, "fire", lambda d: d.set(True))
    app.stop()
    assert app.doors["main"].locked and not relay(app).is_energised


def test_thread_crash_hook_locks(app: App) -> None:
    from agent.gate.supervisor import lock_on_thread_crash

    enroll(app, CARD)
    tap(app, CARD)
    hooked: list[object] = []
    hook = lock_on_thread_crash(app, hooked.append)
    thread = threading.Thread(target=lambda: None)
    hook(threading.ExceptHookArgs((RuntimeError, RuntimeError("x"), None, thread)))
    assert app.doors["main"].locked and hooked


def test_two_gates_in_one_process_are_independent(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    gates = [make_app(make_config(storage={"dir": f"gate{i}"})) for i in range(2)]
    for gate in gates:
        gate.start(threaded=False)
    enroll(gates[0], CARD)
    assert tap(gates[0], CARD)["granted"]
    assert not tap(gates[1], CARD)["granted"]
    assert gates[1].doors["main"].locked


def test_bad_frames_are_counted_and_logged(app: App, caplog) -> None:  # type: ignore[no-untyped-def]
    from drivers.sim import SimCardReader

    reader = app.devices.readers["main-in"]
    assert isinstance(reader, SimCardReader)
    reader.garble("parity")
    reader.garble("checksum")
    assert app.status().readers["main-in"].frame_errors == 2
    assert "bad frame (checksum); 2 so far" in caplog.text
    assert app.doors["main"].locked
