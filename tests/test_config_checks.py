"""check-config catches what would hurt on a real gate, and run refuses the same things."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.errors import ConfigError
from agent.models.config import validate_config
from agent.models.lines import DEMO_OFFICE_PUBLIC_KEY
from agent.store.credentials import write_new_key
from agent.store.keyfiles import secret_file_problems
from tests.conftest import ROOT, merge

REAL: dict[str, Any] = {
    "gate": {"site": "s", "gate_id": "g", "timezone": "Africa/Cairo"},
    "storage": {"dir": "state"},
    "security": {"credential_key_file": "site.key"},
    "clock": {"sync_marker": "/run/systemd/timesync/synchronized"},
    "doors": [
        {
            "id": "main",
            "readers": [{"id": "main-in", "driver": "wiegand", "d0": 5, "d1": 6}],
            "relay": {"driver": "gpio", "pin": 17},
            "contact": {"driver": "gpio", "pin": 27},
        }
    ],
}


def _errors(tmp_path: Path, **override: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_config(merge(REAL, override), tmp_path)
    return caught.value.errors


def test_a_real_gate_config_passes(tmp_path: Path) -> None:
    config = validate_config(REAL, tmp_path)
    assert not config.gate.simulated


def test_simulated_devices_need_a_bench(tmp_path: Path) -> None:
    doors = [{"id": "main", "readers": [{"id": "main-in"}]}]  # no relay line: silently sim
    errors = dict(_errors(tmp_path, doors=doors))
    assert list(errors) == ["doors.0.relay", "doors.0.readers.0"]
    assert errors["doors.0.relay"].startswith("simulated device")
    assert "[gate] simulated = true" in errors["doors.0.readers.0"]
    validate_config(merge(REAL, {"doors": doors, "gate": {"simulated": True}}), tmp_path)


def test_the_demo_office_key_needs_a_bench(tmp_path: Path) -> None:
    mqtt = {"enabled": True, "office_public_key": DEMO_OFFICE_PUBLIC_KEY}
    ((path, message),) = _errors(tmp_path, mqtt=mqtt)
    assert path == "mqtt.office_public_key" and message.startswith("the repository's demo key")


@pytest.mark.parametrize("value", ["yes", "on", 1, "true"])
def test_booleans_are_booleans(tmp_path: Path, value: object) -> None:
    doors = [{**REAL["doors"][0], "release_on_fire": value}]
    errors = _errors(tmp_path, doors=doors)
    assert errors[0][0] == "doors.0.release_on_fire"
    relay = {"driver": "gpio", "pin": 17, "active_high": value}
    errors = _errors(tmp_path, doors=[{**REAL["doors"][0], "relay": relay}])
    assert "active_high" in errors[0][1]


def test_secret_files_missing_exposed_or_demo(tmp_path: Path) -> None:
    key = tmp_path / "site.key"
    mqtt = {"enabled": True, "office_public_key": "A" * 43 + "=", "require_signatures": False}
    data = merge(REAL, {"mqtt": {**mqtt, "password_file": "broker.pass"}})
    config = validate_config(data, tmp_path)
    problems = dict(secret_file_problems(config))
    assert "cannot read" in problems["security.credential_key_file"]
    assert "cannot read" in problems["mqtt.password_file"]

    write_new_key(key)
    (tmp_path / "broker.pass").write_text("secret\n")
    os.chmod(tmp_path / "broker.pass", 0o644)
    problems = dict(secret_file_problems(config))
    assert list(problems) == ["mqtt.password_file"]
    assert "readable by every user (mode 0644)" in problems["mqtt.password_file"]

    key.unlink()
    key.write_bytes((ROOT / "config" / "sim-site.key").read_bytes())
    os.chmod(key, 0o600)
    os.chmod(tmp_path / "broker.pass", 0o640)
    problems = dict(secret_file_problems(config))
    assert "the repository's demo key" in problems["security.credential_key_file"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    return subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    return path


GATE_TOML = """
[gate]
site = "s"
gate_id = "g"
[storage]
dir = "state"
[security]
credential_key_file = "site.key"
[clock]
sync_marker = "/run/systemd/timesync/synchronized"
untrusted_policy = "ignore_schedules"
[schedules.day]
windows = [{ days = ["mon"], start = "08:00", end = "18:00" }]
[[doors]]
id = "main"
relay = { driver = "gpio", pin = 17 }
readers = [{ id = "main-in", driver = "serial", port = "/dev/ttyUSB-gone" }]
"""


def test_check_config_and_run_agree_and_name_key_paths(tmp_path: Path) -> None:
    key = tmp_path / "site.key"
    write_new_key(key)
    config = _write(tmp_path, GATE_TOML)
    ok = _cli("check-config", str(config))
    assert ok.returncode == 0, ok.stderr
    assert "warning: doors.0.readers.0.port: /dev/ttyUSB-gone is not there now" in ok.stderr
    assert "warning: clock.untrusted_policy: ignore_schedules" in ok.stderr

    os.chmod(key, 0o644)
    for result in (_cli("check-config", str(config)), _cli("run", "-c", str(config))):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "security.credential_key_file: " in result.stderr
        assert "readable by every user" in result.stderr

    os.chmod(key, 0o600)
    bad = _write(tmp_path, GATE_TOML.replace("pin = 17 }", 'pin = 17, active_high = "yes" }'))
    result = _cli("check-config", str(bad))
    assert result.returncode == 2 and "doors.0.relay" in result.stderr


def test_the_shipped_simulator_config_says_it_is_one() -> None:
    text = (ROOT / "config" / "sim.toml").read_text()
    assert "simulated = true" in text
    unmarked = text.replace("simulated = true", "simulated = false")
    with pytest.raises(ConfigError):
        import tomllib

        validate_config(tomllib.loads(unmarked), ROOT / "config")


def test_logging_levels_from_config(tmp_path: Path) -> None:
    from agent.faces.logs import parse_levels

    config = validate_config(
        merge(REAL, {"logging": {"level": "warning", "levels": {"agent.link": "debug"}}}),
        tmp_path,
    )
    assert config.logging.spec() == "warning,agent.link=debug"
    root, per_logger = parse_levels(config.logging.spec())
    assert root == 30 and per_logger == {"agent.link": 10}
    errors = _errors(tmp_path, logging={"level": "loud"})
    assert errors[0][0] == "logging.level"


def test_a_driver_whose_library_is_missing_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "drivers.keyboard", raising=False)
    monkeypatch.setitem(sys.modules, "evdev", None)  # as on a machine without it
    reader = {"id": "main-in", "driver": "keyboard", "device": "/dev/input/event0"}
    errors = _errors(tmp_path, doors=[{**REAL["doors"][0], "readers": [reader]}])
    assert errors[0][0] == "doors.0.readers.0"
    assert "the 'keyboard' reader driver needs the Python package 'evdev'" in errors[0][1]
