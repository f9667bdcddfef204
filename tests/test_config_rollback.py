"""Office config that cannot run never bricks the gate: refused, or rolled back with an alarm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.errors import ConfigError, Rejected
from agent.gate.app import App
from agent.link.remote_config import ConfigPush, OverlayStore, fall_back
from agent.link.topics import Topics
from agent.models.config import validate_config
from tests.conftest import BASE, merge
from tests.helpers import AgentProcess, cli, write_sim_config


def two_relays_on_pin_17(doors: list[dict[str, object]]) -> list[dict[str, object]]:
    doors = json.loads(json.dumps(doors))
    doors[0]["relay"] = {"driver": "gpio", "pin": 17}
    doors[1]["relay"] = {"driver": "gpio", "pin": "GPIO17"}
    return doors


def test_a_line_used_twice_is_a_config_error(tmp_path: Path) -> None:
    data = merge(BASE, {"doors": two_relays_on_pin_17(BASE["doors"])})
    with pytest.raises(ConfigError) as caught:
        validate_config(data, tmp_path)
    message = "doors.1.relay.pin uses GPIO 17, which doors.0.relay.pin uses already"
    assert message in str(caught.value)


def test_a_push_with_a_pin_conflict_is_refused_before_its_ack(app: App) -> None:
    push = ConfigPush(app, OverlayStore(app.paths.remote_config))
    doors = two_relays_on_pin_17(app.config.model_dump(mode="json")["doors"])
    with pytest.raises(Rejected) as caught:
        push.apply({"revision": 5, "config": {"doors": doors}})
    assert any("GPIO 17" in message for _path, message in caught.value.errors)
    assert not app.paths.remote_config.exists() and app.config_revision == 0


def test_a_failed_revision_falls_back_to_the_last_good_one(app: App) -> None:
    store = OverlayStore(app.paths.remote_config)
    good = {"alarms": {"reader_denials": {"count": 9, "window_s": 60, "lockout_s": 0}}}
    store.save(3, good)
    store.mark_good()
    store.save(4, {"doors": [{"id": "x", "readers": [{"id": "rx"}]}]})
    config, problem = fall_back(app.base_config, 4, "relay x.relay on GPIO 99: no such pin")
    assert config.alarms.reader_denials.count == 9  # revision 3's sections are in force
    assert "revision 4 could not start: relay x.relay on GPIO 99" in problem
    assert store.load() == (4, good)  # the office must push something newer than 4
    assert list(app.paths.dir.glob("config.remote.json.rejected-*"))


def test_truncated_overlay_is_set_aside_with_an_alarm(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    (state / "config.remote.json").write_text('{"revision": 7, "sections": {"doo')
    agent = AgentProcess(config)
    try:
        assert agent.status()["running"]
        assert agent.terminate() == 0
    finally:
        agent.terminate(signal.SIGKILL)
    assert list(state.glob("config.remote.json.rejected-*"))
    events = json.loads(cli(config, "events", "--json", "--limit", "50").stdout)
    alarm = [e for e in events if e["type"] == "config_rollback"]
    assert alarm and "unreadable" in alarm[0]["details"]["error"]
    assert "Traceback" not in agent.log.read_text()


def test_devices_that_cannot_open_roll_back_to_the_installers_file(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    doors = [
        {"id": "vehicle", "readers": [{"id": "vehicle-in"}],
         "relay": {"driver": "gpio", "pin": 99}},  # no such pin: opening it fails
        {"id": "pedestrian", "readers": [{"id": "ped-in"}, {"id": "ped-out"}]},
    ]  # fmt: skip
    OverlayStore(state / "config.remote.json").save(8, {"doors": doors})
    agent = AgentProcess(config, env={"GPIOZERO_PIN_FACTORY": "mock"})
    try:
        status = agent.status()
        assert status["running"] and status["config_revision"] == 8
        assert set(status["doors"]) == {"vehicle", "pedestrian"}  # the installer's doors
        assert agent.terminate() == 0
    finally:
        agent.terminate(signal.SIGKILL)
    events = json.loads(cli(config, "events", "--json", "--limit", "50").stdout)
    alarm = [e for e in events if e["type"] == "config_rollback"]
    assert alarm and alarm[0]["severity"] == "alarm"
    assert "revision 8 could not start" in alarm[0]["details"]["error"]
    assert "GPIO 99" in alarm[0]["details"]["error"]
    assert json.loads((state / "config.remote.json").read_text())["sections"] == {}


def test_a_push_naming_a_pin_the_board_lacks_is_refused_before_its_ack(
    make_app: Callable[..., App],
) -> None:
    from gpiozero.pins.mock import MockFactory

    gate = make_app(pin_factory=MockFactory())
    gate.start(threaded=False)
    push = ConfigPush(gate, OverlayStore(gate.paths.remote_config))
    doors = gate.config.model_dump(mode="json")["doors"]
    doors[0]["relay"] = {"driver": "gpio", "pin": 99}
    with pytest.raises(Rejected) as caught:
        push.apply({"revision": 5, "config": {"doors": doors}})
    assert caught.value.error == "devices cannot be opened on this gate"
    assert caught.value.errors == [
        ("doors.0.relay.pin", "99 is not a GPIO pin of this board (Pi 3B)")
    ]
    assert not gate.paths.remote_config.exists() and gate.config_revision == 0


def test_check_config_names_a_pin_the_board_lacks(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    text = config.read_text().replace(
        'relay = { driver = "sim" }', 'relay = { driver = "gpio", pin = "GPIO17x" }', 1
    )
    assert text != config.read_text()
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", "check-config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "doors.0.relay.pin: 'GPIO17x' is not a GPIO pin" in result.stderr


def test_a_rolled_back_push_is_acked_as_failed(tmp_path: Path, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    from agent.link.signing import public_key_text
    from tests.mqtt_helpers import office

    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'office_public_key = "{public_key_text(office_key)}"\nreconnect_max_s = 2\n'
    )
    config = write_sim_config(tmp_path, mqtt=mqtt)
    state = tmp_path / "state"
    state.mkdir()
    doors = [
        {"id": "vehicle", "readers": [{"id": "vehicle-in"}],
         "relay": {"driver": "gpio", "pin": 99}},
        {"id": "pedestrian", "readers": [{"id": "ped-in"}, {"id": "ped-out"}]},
    ]  # fmt: skip  # no such pin: written by an older gate that let it through
    OverlayStore(state / "config.remote.json").save(9, {"doors": doors})
    topics = Topics("gate", "palm-grove", "main-gate")
    with office(broker, client_id="office-rollback", topics=topics) as link:
        agent = AgentProcess(config, env={"GPIOZERO_PIN_FACTORY": "mock"})
        try:
            ack = link.expect(topics.config_ack, timeout=15)
            assert agent.terminate() == 0
        finally:
            agent.terminate(signal.SIGKILL)
    assert ack is not None and ack["ok"] is False and ack["revision"] == 9
    assert "revision 9 could not start" in ack["error"] and "GPIO 99" in ack["error"]
