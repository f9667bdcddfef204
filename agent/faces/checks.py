"""What ``check-config`` warns about: setups that run, but not as the installer meant.

Errors (the gate must not start) come from the models, the secret-file checks and
the GPIO probe; these are warnings: printed, exit status still 0.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from agent.faces.barrier_checks import barrier_warnings
from agent.models.config import GateConfig
from agent.models.pin import pin_warnings
from agent.models.secure import reader_warnings
from agent.models.tailgate import tailgate_warnings

_DEVICE_OPTIONS = ("port", "device")
# config/gate.example.toml's values marked CHANGE that no real site keeps
_TEMPLATE_PLACEHOLDERS = {("gate", "site"): "my-site", ("mqtt", "host"): "broker.example.net"}


def warnings(config: GateConfig) -> list[tuple[str, str]]:
    """(key path, warning) pairs for ``config``."""
    found: list[tuple[str, str]] = []
    for i, door in enumerate(config.doors):
        for j, reader in enumerate(door.readers):
            for option in _DEVICE_OPTIONS:
                value = reader.options.get(option)
                if (
                    isinstance(value, str)
                    and value.startswith("/dev/")
                    and not Path(value).exists()
                ):
                    found.append(
                        (f"doors.{i}.readers.{j}.{option}",
                         f"{value} is not there now (unplugged?); the agent keeps retrying it")
                    )  # fmt: skip
    if config.schedules or config.holidays:
        if not config.clock.sync_marker:
            found.append(
                ("clock.sync_marker",
                 "empty: schedules and validity dates are judged on a clock nobody vouches "
                 "for (a Pi without network boots at its last shutdown time)")
            )  # fmt: skip
        elif config.clock.untrusted_policy == "ignore_schedules":
            found.append(
                ("clock.untrusted_policy",
                 "ignore_schedules: until the clock is synchronised, time-restricted cards "
                 "get in at any hour (residents_only or deny_scheduled are stricter)")
            )  # fmt: skip
    scanners = [
        f"doors.{i}.readers.{j}"
        for i, door in enumerate(config.doors)
        for j, reader in enumerate(door.readers)
        if reader.driver.startswith("scanner-")
    ]
    if scanners and not config.mqtt.office_public_key:
        found.append(
            ("mqtt.office_public_key",
             f"not set: every visitor pass is refused as forged at {', '.join(scanners)} "
             "(a pass is checked against the office's key, with or without the link)")
        )  # fmt: skip
    found += _door_timing(config) + _template_left(config) + reader_warnings(config)[1]
    found += tailgate_warnings(config)
    found += pin_warnings(config)
    found += barrier_warnings(config)
    if problem := _plain_password(config):
        found.append(problem)
    return found


def _door_timing(config: GateConfig) -> list[tuple[str, str]]:
    return [
        (f"doors.{i}.held_open_s",
         f"{door.held_open_s:g} s is shorter than pulse_s ({door.pulse_s:g} s): the "
         "held-open alarm goes off while the door is still released for someone let in")
        for i, door in enumerate(config.doors)
        if door.held_open_s < door.pulse_s
    ]  # fmt: skip


def _template_left(config: GateConfig) -> list[tuple[str, str]]:
    return [
        (f"{table}.{key}",
         f"{placeholder!r} is the template's placeholder (marked CHANGE in gate.example.toml)")
        for (table, key), placeholder in _TEMPLATE_PLACEHOLDERS.items()
        if getattr(getattr(config, table), key) == placeholder
    ]  # fmt: skip


def _plain_password(config: GateConfig) -> tuple[str, str] | None:
    """A broker password sent without TLS to another machine can be read off the network."""
    mqtt = config.mqtt
    if mqtt.password_file is None or mqtt.tls is not None or _is_loopback(mqtt.host):
        return None
    return (
        "mqtt.password_file",
        f"the broker password goes to {mqtt.host}:{mqtt.port} in clear (no [mqtt] tls): "
        "anyone on the way can read it and sign in as this gate; set tls = { ca_file = ... }",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
