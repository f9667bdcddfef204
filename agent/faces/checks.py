"""What ``check-config`` warns about: setups that run, but not as the installer meant.

Errors (the gate must not start) come from the models, the secret-file checks and
the GPIO probe; these are warnings: printed, exit status still 0.
"""

from __future__ import annotations

from pathlib import Path

from agent.models.config import GateConfig

_DEVICE_OPTIONS = ("port", "device")


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
    scanners = [f"doors.{i}.readers.{j}" for i, door in enumerate(config.doors)
                for j, reader in enumerate(door.readers) if reader.driver.startswith("scanner-")]
    if scanners and not config.mqtt.office_public_key:
        found.append(
            ("mqtt.office_public_key",
             f"not set: every visitor pass is refused as forged at {', '.join(scanners)} "
             "(a pass is checked against the office's key, with or without the link)")
        )  # fmt: skip
    return found
