"""GPIO backends on gpiozero's MockFactory: the same classes a Pi runs, with mock pins."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from agent.core.clock import ManualClock
from agent.gate.assemble import build_app
from drivers import registry
from drivers.base import DriverContext
from drivers.gpio import GpioInput, GpioRelay
from tests.conftest import enroll, tap


@pytest.fixture
def factory() -> MockFactory:
    f = MockFactory()
    yield f
    f.close()


def test_relay_starts_off_and_follows(factory: MockFactory) -> None:
    relay = registry.create(
        "relay", "gpio", "r", {"pin": 17}, DriverContext(ManualClock(), factory)
    )
    assert isinstance(relay, GpioRelay)
    pin = factory.pin(17)
    assert pin.state is False
    relay.set_energised(True)
    assert pin.state is True and relay.is_energised
    relay.close()
    assert pin.state is False


def test_active_low_relay_board(factory: MockFactory) -> None:
    relay = registry.create(
        "relay",
        "gpio",
        "r",
        {"pin": 5, "active_high": False},
        DriverContext(ManualClock(), factory),
    )
    assert factory.pin(5).state is True  # off = high on an active-low board
    relay.set_energised(True)
    assert factory.pin(5).state is False


def test_input_reports_contact_to_ground(factory: MockFactory) -> None:
    device = registry.create(
        "input",
        "gpio",
        "exit",
        {"pin": 22, "bounce_s": None},
        DriverContext(ManualClock(), factory),
    )
    assert isinstance(device, GpioInput)
    seen: list[bool] = []
    device.start(seen.append)
    pin = factory.pin(22)
    pin.drive_low()
    pin.drive_high()
    assert seen == [True, False]
    pin.drive_low()
    assert device.is_active


def test_gate_on_gpio_pins(
    make_config,
    clock: ManualClock,
    factory: MockFactory,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    config = make_config(
        doors=[
            {
                "id": "main",
                "pulse_s": 2.0,
                "readers": [{"id": "main-in"}],
                "relay": {"driver": "gpio", "pin": 17},
                "contact": {"driver": "gpio", "pin": 27, "bounce_s": None},
                "exit_button": {"driver": "gpio", "pin": 22, "bounce_s": None},
            }
        ],
        inputs={
            "visitor_button": None,
            "fire_alarm": {"driver": "gpio", "pin": 23, "bounce_s": None},
        },
    )
    app = build_app(config, clock=clock, pin_factory=factory)
    app.start(threaded=False)
    try:
        strike = factory.pin(17)
        enroll(app, "uid:04A1B2C3")
        assert tap(app, "uid:04A1B2C3")["granted"] and strike.state is True
        clock.advance(2.1)
        app.loop.pump()
        assert strike.state is False
        factory.pin(22).drive_low()  # exit button pressed
        app.loop.pump()
        assert strike.state is True
        factory.pin(22).drive_high()
        factory.pin(27).drive_low()  # door opened (authorised by the exit pulse)
        app.loop.pump()
        assert not app.doors["main"].forced
        factory.pin(23).drive_low()  # fire alarm contact
        app.loop.pump()
        assert app.mode.value == "release" and strike.state is True
    finally:
        app.stop()
    assert strike.state is False


def test_safe_state_command_drives_relays_locked(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What systemd's ExecStopPost runs after any exit: strike coil off, maglock coil on."""
    from gpiozero import Device

    from agent.faces.cli import main
    from tests.helpers import write_sim_config

    extra = ""
    config = write_sim_config(tmp_path, extra)
    text = config.read_text()
    text = text.replace('relay = { driver = "sim" }', 'relay = { driver = "gpio", pin = 17 }', 1)
    text = text.replace('relay = { driver = "sim" }', 'relay = { driver = "gpio", pin = 18 }', 1)
    text = text.replace('fail_mode = "secure"', 'fail_mode = "safe"', 1)  # vehicle: maglock
    config.write_text(text)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    previous = Device.pin_factory
    Device.pin_factory = None
    try:
        assert main(["safe-state", "-c", str(config)]) == 0
        factory = Device.pin_factory
        assert factory is not None
        assert factory.pin(17).state is True  # vehicle gate maglock held locked
        assert factory.pin(18).state is False  # pedestrian strike unpowered
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.close()
        Device.pin_factory = previous


def test_no_pin_factory_is_one_line_for_every_command(tmp_path: Path) -> None:
    """On a machine without GPIO, run, check-config and safe-state say why and exit 1."""
    import os
    import subprocess
    import sys

    from agent.store.credentials import write_new_key

    write_new_key(tmp_path / "site.key")
    config = tmp_path / "gate.toml"
    config.write_text(
        '[gate]\nsite = "s"\ngate_id = "g"\nsimulated = true\n[storage]\ndir = "state"\n'
        '[security]\ncredential_key_file = "site.key"\n'
        '[[doors]]\nid = "main"\nreaders = [{ id = "r1", driver = "sim" }]\n'
        'relay = { driver = "gpio", pin = 17 }\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPIOZERO")}
    for args in (
        ["check-config", str(config)],
        ["safe-state", "-c", str(config)],
        ["run", "-c", str(config)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "agent.faces.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no usable GPIO pin factory" in lines[0], result.stderr
        assert "Traceback" not in result.stderr


def test_a_relay_that_cannot_open_is_a_clear_error(factory: MockFactory) -> None:
    """Two relays on one pin are refused by the config (test_config_rollback); a pin the
    board lacks fails when opened, with one line, and what was opened is closed again."""
    from agent.errors import DriverError
    from agent.gate.build import build_hardware
    from agent.models.config import validate_config

    config = validate_config(
        {
            "gate": {"site": "s", "gate_id": "g", "simulated": True},
            "security": {"credential_key_file": "/nonexistent"},
            "doors": [
                {"id": "a", "readers": [{"id": "ra"}], "relay": {"driver": "gpio", "pin": 17}},
                {"id": "b", "readers": [{"id": "rb"}], "relay": {"driver": "gpio", "pin": 99}},
            ],
        }
    )
    with pytest.raises(DriverError, match=r"relay b\.relay on GPIO 99"):
        build_hardware(config, DriverContext(ManualClock(), factory))
    assert factory.pin(17).state is False  # the first relay was closed again
