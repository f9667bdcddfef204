"""check-config finds what runs but hurts: shared UART pins, a fire door that stays locked,
a held-open alarm shorter than the pulse, a broker password in clear, the unedited template.

Errors stop `check-config` and `run` (exit 2); warnings are printed and exit 0. Each
names its key path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.errors import ConfigError
from agent.faces.checks import warnings
from agent.models.config import validate_config
from agent.store.credentials import write_new_key
from tests.conftest import ROOT, merge
from tests.test_config_checks import REAL


def _errors(tmp_path: Path, data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_config(data, tmp_path)
    return caught.value.errors


def _door(**fields: Any) -> dict[str, Any]:
    return {"doors": [{**REAL["doors"][0], **fields}]}


@pytest.mark.parametrize(
    ("reader", "where"),
    [
        ({"driver": "serial", "port": "/dev/serial0"}, "doors.0.readers.0.port (/dev/serial0"),
        ({"driver": "osdp", "port": "/dev/ttyAMA0"}, "doors.0.readers.0.port (/dev/ttyAMA0"),
        ({"driver": "nfc", "device": "tty:serial0:pn532"}, "doors.0.readers.0.device (tty:"),
    ],
)
def test_a_gpio_device_on_the_uart_pins_of_a_reader_is_an_error(
    tmp_path: Path, reader: dict[str, Any], where: str
) -> None:
    readers = [{"id": "main-in", **reader}]
    exit_button = {"driver": "gpio", "pin": 14}
    errors = _errors(tmp_path, merge(REAL, _door(readers=readers, exit_button=exit_button)))
    messages = [message for _path, message in errors]
    assert any(
        m.startswith(f"doors.0.exit_button.pin uses GPIO 14, which {where}") for m in messages
    ), messages
    contact = {"driver": "gpio", "pin": "GPIO15"}
    errors = _errors(tmp_path, merge(REAL, _door(readers=readers, contact=contact)))
    assert any("doors.0.contact.pin uses GPIO 15" in m for _path, m in errors), errors


def _gpio_gate(tmp_path: Path, devices: str) -> Path:
    """A one-door gate on GPIO (relay on 17) with ``devices`` added to the door, and its key."""
    write_new_key(tmp_path / "site.key")
    config = tmp_path / "gate.toml"
    config.write_text(
        '[gate]\nsite = "s"\ngate_id = "g"\n[storage]\ndir = "state"\n[security]\n'
        'credential_key_file = "site.key"\n[[doors]]\nid = "main"\n'
        f'relay = {{ driver = "gpio", pin = 17 }}\n{devices}'
    )
    return config


def test_check_config_refuses_an_exit_button_on_the_readers_uart(tmp_path: Path) -> None:
    config = _gpio_gate(
        tmp_path,
        'readers = [{ id = "main-in", driver = "serial", port = "/dev/serial0" }]\n'
        'exit_button = { driver = "gpio", pin = 14 }\n',
    )
    checked = _check_config(config)
    assert checked.returncode == 2 and "Traceback" not in checked.stderr
    assert "doors.0.exit_button.pin uses GPIO 14, which doors.0.readers.0.port" in checked.stderr


def test_a_serial_reader_off_the_uart_leaves_gpio_14_free(tmp_path: Path) -> None:
    readers = [{"id": "main-in", "driver": "serial", "port": "/dev/ttyUSB0"}]
    exit_button = {"driver": "gpio", "pin": 14}
    validate_config(merge(REAL, _door(readers=readers, exit_button=exit_button)), tmp_path)


def test_a_maglock_kept_locked_in_a_fire_is_an_error_unless_waived(tmp_path: Path) -> None:
    locked = _door(fail_mode="safe", release_on_fire=False)
    ((path, message),) = _errors(tmp_path, merge(REAL, locked))
    assert path == "doors.0.release_on_fire"
    assert "stays locked in a fire" in message and "release_on_fire_waived" in message
    waived = _door(fail_mode="safe", release_on_fire=False, release_on_fire_waived=True)
    validate_config(merge(REAL, waived), tmp_path)
    validate_config(merge(REAL, _door(fail_mode="secure", release_on_fire=False)), tmp_path)


def test_a_held_open_alarm_shorter_than_the_pulse_is_a_warning(tmp_path: Path) -> None:
    config = validate_config(merge(REAL, _door(pulse_s=5.0, held_open_s=3.0)), tmp_path)
    found = dict(warnings(config))
    assert found["doors.0.held_open_s"].startswith("3 s is shorter than pulse_s (5 s)")
    config = validate_config(merge(REAL, _door(pulse_s=5.0, held_open_s=5.0)), tmp_path)
    assert "doors.0.held_open_s" not in dict(warnings(config))


@pytest.mark.parametrize(
    ("host", "tls", "warned"),
    [
        ("192.168.1.10", None, True),
        ("broker.lan", None, True),
        ("192.168.1.10", {"ca_file": "ca.crt"}, False),
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("::1", None, False),
    ],
)
def test_a_broker_password_in_clear_is_a_warning(
    tmp_path: Path, host: str, tls: dict[str, str] | None, warned: bool
) -> None:
    mqtt: dict[str, Any] = {"enabled": True, "host": host, "password_file": "broker.pass"}
    mqtt |= {"require_signatures": False} | ({"tls": tls} if tls else {})
    found = dict(warnings(validate_config(merge(REAL, {"mqtt": mqtt}), tmp_path)))
    assert ("mqtt.password_file" in found) is warned, found
    if warned:
        assert f"goes to {host}:1883 in clear" in found["mqtt.password_file"]


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"},
        timeout=60,
    )


def test_check_config_warns_about_the_unedited_template(tmp_path: Path) -> None:
    write_new_key(tmp_path / "site.key")
    text = (ROOT / "config" / "gate.example.toml").read_text()
    text = text.replace("/etc/gate-agent/site.key", str(tmp_path / "site.key"))
    text = text.replace('"/var/lib/gate-agent"', f'"{tmp_path / "state"}"')
    config = tmp_path / "gate.toml"
    config.write_text(text)
    checked = _check_config(config)
    assert checked.returncode == 0, checked.stderr
    assert "warning: gate.site: 'my-site' is the template's placeholder" in checked.stderr
    assert "warning: mqtt.host: 'broker.example.net' is the template's placeholder" in (
        checked.stderr
    )
    config.write_text(text.replace('"my-site"', '"palm-grove"').replace("example.net", "lan"))
    checked = _check_config(config)
    assert checked.returncode == 0 and "placeholder" not in checked.stderr, checked.stderr


def test_off_the_pi_check_config_names_the_installers_lgpio_and_the_mock(tmp_path: Path) -> None:
    config = _gpio_gate(
        tmp_path, 'readers = [{ id = "main-in", driver = "wiegand", d0 = 5, d1 = 6 }]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPIOZERO")}
    checked = subprocess.run(
        [sys.executable, "-m", "agent.faces.cli", "check-config", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 1
    (line,) = checked.stderr.splitlines()
    assert "no usable GPIO pin factory" in line and "python3-lgpio" not in line
    assert f"{sys.prefix}/bin/pip install lgpio" in line  # the wheel the installer uses
    assert f"GPIOZERO_PIN_FACTORY=mock gate-agent check-config {config}" in line
    assert _check_config(config).returncode == 0  # as the hint says
