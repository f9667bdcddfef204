"""Which GPIO lines and serial ports a config's devices use, and which are used twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.models.config import DriverSpec, GateConfig

GPIO_LINE_OPTIONS = {"gpio": ("pin",), "wiegand": ("d0", "d1")}
PORT_DRIVERS = frozenset({"serial", "osdp"})


def _lines_of(path: str, spec: DriverSpec) -> list[tuple[str, str]]:
    """(GPIO line or serial port, key path) pairs a device uses."""
    options = spec.options
    used = [(f"GPIO {_pin(options[k])}", f"{path}.{k}")
            for k in GPIO_LINE_OPTIONS.get(spec.driver, ()) if k in options]  # fmt: skip
    feedback = options.get("feedback")
    if isinstance(feedback, dict):
        used += [(f"GPIO {_pin(feedback[k])}", f"{path}.feedback.{k}")
                 for k in ("green", "red", "buzzer") if feedback.get(k) is not None]  # fmt: skip
    if spec.driver in PORT_DRIVERS and isinstance(options.get("port"), str):
        used.append((f"port {options['port']}", f"{path}.port"))
    return used


def _pin(value: object) -> str:
    text = str(value).upper()
    for prefix in ("GPIO", "BCM"):
        text = text.removeprefix(prefix)
    return text


def shared_lines(config: GateConfig) -> list[str]:
    """Two devices on one GPIO line or serial port cannot both be opened: say which."""
    devices: list[tuple[str, DriverSpec]] = []
    for i, door in enumerate(config.doors):
        devices.append((f"doors.{i}.relay", door.relay))
        devices += [(f"doors.{i}.readers.{j}", r) for j, r in enumerate(door.readers)]
        for role in ("contact", "exit_button"):
            spec = getattr(door, role)
            if spec is not None:
                devices.append((f"doors.{i}.{role}", spec))
    for role in ("visitor_button", "fire_alarm"):
        spec = getattr(config.inputs, role)
        if spec is not None:
            devices.append((f"inputs.{role}", spec))
    seen: dict[str, str] = {}
    problems = []
    for path, spec in devices:
        for line, where in _lines_of(path, spec):
            if line in seen:
                problems.append(f"{where} uses {line}, which {seen[line]} uses already")
            else:
                seen[line] = where
    return problems
