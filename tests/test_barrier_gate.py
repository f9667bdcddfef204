"""Vehicle barriers in a real App: gpiozero mock pins for the relay and the loops, the
manual clock for the timers, the simulated LED sign for what drivers see."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from agent.core.clock import ManualClock
from agent.core.kinds import DrillKind
from agent.errors import ConfigError
from agent.faces.checks import warnings
from agent.gate.app import App
from agent.gate.barriers import BarrierRefused
from agent.link.remote_config import needs_restart
from agent.models.config import GateConfig, validate_config
from drivers.cards import CardRead
from drivers.sign_sim import SimSign
from drivers.sim import SimCardReader
from tests.conftest import ROOT, enroll, tap, types

RELAY, LOOP, ARMING, FAULT, FIRE = 17, 27, 22, 23, 24


def car_door(**barrier: Any) -> dict[str, Any]:
    return {
        "id": "car", "kind": "barrier", "pulse_s": 5.0, "readers": [{"id": "car-in"}],
        "relay": {"driver": "gpio", "pin": RELAY},
        "barrier": {
            "presence_loop": {"driver": "gpio", "pin": LOOP, "bounce_s": None},
            "arming_loop": {"driver": "gpio", "pin": ARMING, "bounce_s": None},
            "loop_fault": {"driver": "gpio", "pin": FAULT, "bounce_s": None},
            "require_arming": True, "max_raise_s": 20.0, "close_delay_s": 2.0,
            "sign": {"driver": "sim", "show_s": 5.0}, **barrier,
        },
    }  # fmt: skip


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


@pytest.fixture
def gate(pins: MockFactory, make_app: Callable[..., App],
         make_config: Callable[..., GateConfig]) -> App:  # fmt: skip
    # pins first: the factory closes after the App stops
    config = make_config(doors=[car_door(), {"id": "main", "readers": [{"id": "main-in"}]}],
                         inputs={"visitor_button": None, "fire_alarm": {
                             "driver": "gpio", "pin": FIRE, "bounce_s": None}})  # fmt: skip
    app = make_app(config, pin_factory=pins)
    app.start(threaded=False)
    app.loop.pump()
    return app


def arm_up(pins: MockFactory) -> bool:
    return bool(pins.pin(RELAY).state)


def drive(pins: MockFactory, app: App, pin: int, active: bool) -> None:
    """An input wired to ground: low is active (a vehicle, a fault, the fire alarm)."""
    (pins.pin(pin).drive_low if active else pins.pin(pin).drive_high)()
    app.loop.pump()


def wait(app: App, seconds: float) -> None:
    clock: ManualClock = app.clock  # type: ignore[assignment]
    clock.advance(seconds)
    app.loop.pump()


def sign(app: App) -> SimSign:
    device = app.hardware.signs["car"]
    assert isinstance(device, SimSign)
    return device


def details(app: App, kind: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(500) if e.type.value == kind]


def test_a_car_through_the_barrier(gate: App, pins: MockFactory) -> None:
    enroll(gate, "uid:04A1B2C3", kind="resident")
    assert sign(gate).showing == ("欢迎光临", "")
    drive(pins, gate, ARMING, True)  # the car waits on the arming loop
    assert tap(gate, "uid:04A1B2C3", "car-in")["granted"] and arm_up(pins)
    assert sign(gate).showing[0] == "欢迎回家"
    drive(pins, gate, ARMING, False)
    drive(pins, gate, LOOP, True)  # under the arm
    wait(gate, 120)  # far past every timer: a car is under it
    assert arm_up(pins) and gate.status().barriers["car"].phase == "occupied"
    assert sign(gate).showing[0] == "欢迎光临"  # the outcome showed for show_s
    drive(pins, gate, LOOP, False)
    wait(gate, 1.9)
    assert arm_up(pins)
    wait(gate, 0.2)
    assert not arm_up(pins) and gate.status().barriers["car"].phase == "down"
    assert "vehicle_tailgate" not in types(gate)


def test_a_second_car_on_one_raise_is_a_vehicle_tailgate(gate: App, pins: MockFactory) -> None:
    enroll(gate, "uid:04A1B2C3")
    drive(pins, gate, ARMING, True)
    tap(gate, "uid:04A1B2C3", "car-in")
    for _ in range(2):
        drive(pins, gate, LOOP, True)
        drive(pins, gate, LOOP, False)
    (tailgate,) = details(gate, "vehicle_tailgate")
    assert tailgate == {"vehicles": 2, "allowed": 1}
    assert gate.status().barriers["car"].vehicle_tailgates == 1
    wait(gate, 2.1)
    assert not arm_up(pins)


def test_a_read_without_a_car_on_the_arming_loop_is_ignored(gate: App,
                                                            pins: MockFactory) -> None:  # fmt: skip
    enroll(gate, "uid:04A1B2C3")
    reader = gate.devices.readers["car-in"]
    assert isinstance(reader, SimCardReader)
    for _ in range(7):  # more than the reader's denial threshold: no lockout follows
        reader.present("uid:0BADCAFE")
        gate.loop.pump()
    assert not arm_up(pins)
    assert "access_denied" not in types(gate) and "repeated_denials" not in types(gate)
    (ignored,) = details(gate, "barrier_read_ignored")
    assert ignored == {"reader": "car-in", "reason": "no_vehicle", "count": 1}
    wait(gate, 11)
    reader.present("uid:0BADCAFE")
    gate.loop.pump()
    assert details(gate, "barrier_read_ignored")[-1]["count"] == 7  # the six held back, too
    assert gate.status().barriers["car"].reads_ignored == 8
    drive(pins, gate, ARMING, True)
    assert tap(gate, "uid:04A1B2C3", "car-in")["granted"] and arm_up(pins)
    assert tap(gate, "uid:0BADCAFE", "car-in")["reason"] == "unknown"
    assert sign(gate).showing[0] == "未登记车辆"


def test_other_doors_are_not_filtered(gate: App, pins: MockFactory) -> None:
    enroll(gate, "uid:04A1B2C3")
    assert tap(gate, "uid:04A1B2C3", "main-in")["granted"]
    assert gate.status().barriers["car"].reads_ignored == 0


def test_fire_raises_and_holds_then_closes_after_the_car(gate: App, pins: MockFactory) -> None:
    drive(pins, gate, FIRE, True)
    assert arm_up(pins) and gate.status().barriers["car"].phase == "held"
    wait(gate, 600)
    drive(pins, gate, LOOP, True)
    drive(pins, gate, LOOP, False)
    drive(pins, gate, LOOP, True)
    assert arm_up(pins) and "vehicle_tailgate" not in types(gate)
    drive(pins, gate, FIRE, False)
    wait(gate, 60)
    assert arm_up(pins)  # a car is still under it
    drive(pins, gate, LOOP, False)
    wait(gate, 2.1)
    assert not arm_up(pins)


def test_a_loop_fault_keeps_the_arm_up_and_raises_an_alarm(gate: App, pins: MockFactory) -> None:
    enroll(gate, "uid:04A1B2C3")
    drive(pins, gate, ARMING, True)
    tap(gate, "uid:04A1B2C3", "car-in")
    drive(pins, gate, FAULT, True)
    assert details(gate, "barrier_loop_fault") == [{"cause": "detector"}]
    wait(gate, 300)
    assert arm_up(pins) and gate.status().barriers["car"].loop_fault
    gate.lock_all()  # the crash path too
    assert arm_up(pins)
    drive(pins, gate, FAULT, False)
    assert details(gate, "barrier_loop_restored") == [{"cause": "detector"}]
    wait(gate, 2.1)
    assert not arm_up(pins)


def test_the_crash_path_never_lowers_on_a_car(gate: App, pins: MockFactory) -> None:
    gate.open_door("car", by="office")
    drive(pins, gate, LOOP, True)
    gate.lock_all()
    assert arm_up(pins)
    drive(pins, gate, LOOP, False)
    gate.lock_all()
    assert not arm_up(pins)


def test_a_car_on_the_loop_at_start_is_seen(
    pins: MockFactory, make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    app = make_app(make_config(doors=[car_door()], inputs={"visitor_button": None}),
                   pin_factory=pins)  # fmt: skip
    pins.pin(LOOP).drive_low()  # a car stood on the loop when the gate started
    app.start(threaded=False)
    app.loop.pump()
    assert app.status().barriers["car"].vehicle_present
    app.open_door("car", by="office")
    wait(app, 100)
    assert arm_up(pins)


def test_the_guards_raise_records_the_plate_masked(gate: App, pins: MockFactory) -> None:
    assert gate.raise_barrier("car", "alice", "京a·12345", "console-1") == "京A****45"
    assert arm_up(pins) and sign(gate).showing[0] == "允许通行"
    (raised,) = [e for e in gate.events.recent(50) if e.type.value == "barrier_raised_by_guard"]
    assert raised.door == "car"
    assert raised.details == {"guard": "alice", "by": "guard:alice", "plate": "京A****45",
                              "request_id": "console-1"}  # fmt: skip
    stored = json.dumps([e.model_dump(mode="json") for e in gate.events.recent(500)],
                        ensure_ascii=False)  # fmt: skip
    assert "12345" not in stored and "京A1" not in stored
    assert gate.status().barriers["car"].guard_raises == 1
    with pytest.raises(BarrierRefused):
        gate.raise_barrier("car", "alice", "not a plate!")
    with pytest.raises(BarrierRefused):
        gate.raise_barrier("main", "alice", "京A12345")


class Spaces:
    """A stand-in for the car park's occupancy count."""

    def __init__(self, free: int | None) -> None:
        self.free = free

    def free_spaces(self, door: str) -> int | None:
        return self.free


def test_the_sign_shows_free_spaces_when_counted(gate: App, pins: MockFactory) -> None:
    assert sign(gate).showing == ("欢迎光临", "")  # nothing counts spaces yet: none shown
    spaces = Spaces(12)
    gate.loop.run_sync(gate.barriers.feed_capacity, spaces)
    assert sign(gate).showing == ("欢迎光临", "剩余车位 12")
    spaces.free = 0
    drive(pins, gate, ARMING, True)
    tap(gate, "uid:0BADCAFE", "car-in")
    assert sign(gate).showing == ("未登记车辆", "车位已满")
    assert gate.status().barriers["car"].sign == ["未登记车辆", "车位已满"]


@pytest.mark.parametrize(("barrier", "problem"), [
    (None, "a barrier needs [doors.barrier]"),
    ({"presence_loop": {"driver": "sim"}, "require_arming": True}, "needs an arming_loop"),
    ({"presence_loop": {"driver": "gpio", "pin": RELAY}}, "uses GPIO 17"),
    ({"presence_loop": {"driver": "sim"}, "sign": {"driver": "laser"}}, "no sign driver"),
])  # fmt: skip
def test_barrier_config_problems(make_config: Callable[..., GateConfig],
                                 barrier: dict[str, Any] | None, problem: str) -> None:  # fmt: skip
    door = car_door() | {"barrier": barrier}
    with pytest.raises(ConfigError) as caught:
        make_config(doors=[door], inputs={"visitor_button": None})
    assert problem in str(caught.value)


def test_a_plain_door_has_no_barrier_table(make_config: Callable[..., GateConfig]) -> None:
    door = car_door() | {"kind": "door"}
    with pytest.raises(ConfigError) as caught:
        make_config(doors=[door], inputs={"visitor_button": None})
    assert 'only a door of kind = "barrier"' in str(caught.value)


def test_the_barrier_of_gate_example_toml_is_taken_as_written(tmp_path: Path) -> None:
    template = (ROOT / "config" / "gate.example.toml").read_text()
    start = template.index('# [[doors]]\n# id = "vehicle"')
    end = template.index("[inputs.visitor_button]")
    block = "\n".join(line.removeprefix("# ") for line in template[start:end].splitlines())
    text = template[:start] + block + "\n\n" + template[end:]
    text = text.replace('"/var/lib/gate-agent"', f'"{tmp_path / "state"}"')
    config = validate_config(tomllib.loads(text), tmp_path)
    door = config.door("vehicle")
    assert door.kind == "barrier" and door.barrier is not None
    assert door.barrier.require_arming and door.barrier.sign is not None
    assert door.barrier.sign.driver == "serial" and door.barrier.sign.options["port"]


def test_check_config_warns_about_unsafe_barrier_wiring(
    make_config: Callable[..., GateConfig],
) -> None:
    door = car_door(require_arming=False, sign={"driver": "serial", "port": "/dev/ttyNOPE9"})
    door |= {"release_on_fire": False, "fail_mode": "safe", "release_on_fire_waived": True}
    found = dict(warnings(make_config(doors=[door], inputs={"visitor_button": None})))
    assert "a cut wire" in found["doors.0.barrier.presence_loop"]
    assert "a cut wire" in found["doors.0.barrier.arming_loop"]
    assert "still raises the arm" in found["doors.0.barrier.require_arming"]
    assert "fire brigade" in found["doors.0.release_on_fire"]
    assert "a dead Pi raises it" in found["doors.0.fail_mode"]
    assert "unplugged" in found["doors.0.barrier.sign.port"]
    nc_loop = {"driver": "gpio", "active_low": False}  # the fail-safe wiring
    wired = car_door(presence_loop=nc_loop | {"pin": LOOP}, arming_loop=nc_loop | {"pin": ARMING})
    found = dict(warnings(make_config(doors=[wired], inputs={"visitor_button": None})))
    assert not [path for path in found if ".barrier" in path or path.startswith("doors.0.")]


def test_a_barrier_change_from_the_office_restarts_the_gate(
    make_config: Callable[..., GateConfig],
) -> None:
    old = make_config(doors=[car_door()], inputs={"visitor_button": None})
    new = make_config(doors=[car_door(close_delay_s=4.0)], inputs={"visitor_button": None})
    assert needs_restart(old, new) and not needs_restart(old, old)


def test_a_drill_raises_and_holds_the_arm_until_it_ends(gate: App, pins: MockFactory) -> None:
    gate.start_drill(DrillKind.EVACUATION, "guard:alice", minutes=10)
    assert arm_up(pins) and gate.status().barriers["car"].phase == "held"
    wait(gate, 120)
    assert arm_up(pins)
    gate.stop_drill("guard:alice")
    wait(gate, 2.1)
    assert not arm_up(pins)


def test_an_installer_learning_a_card_needs_no_car(gate: App) -> None:
    learned: list[CardRead] = []
    gate.reads.learning["car-in"] = learned.append  # what `gate-agent learn` sets
    reader = gate.devices.readers["car-in"]
    assert isinstance(reader, SimCardReader)
    reader.present("uid:04A1B2C3")
    gate.loop.pump()
    assert len(learned) == 1 and "barrier_read_ignored" not in types(gate)
