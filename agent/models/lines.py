"""Which GPIO lines and serial ports a config's devices use, and which are used twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.models.config import DriverSpec, GateConfig

GPIO_LINE_OPTIONS = {"gpio": ("pin",), "wiegand": ("d0", "d1")}
PORT_DRIVERS = frozenset({"serial", "osdp", "scanner-serial"})
SIM_DRIVERS = frozenset({"sim", "scanner-sim"})
FEEDBACK_LINES = ("green", "red", "buzzer")
# the Pi header's UART: TXD on GPIO 14, RXD on GPIO 15, whichever name opens it
UART_PORTS = frozenset({"/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0"})
UART_NFC_DEVICES = frozenset({"tty:serial0", "tty:AMA0", "tty:S0"})  # nfcpy's path, without :chip
UART_PINS = (14, 15)
# the public half of config/sim-office.key, whose private half is in the repository
DEMO_OFFICE_PUBLIC_KEY = "6B47cc2pviH2HBiYZhqWTYV/pri9tpyX5DAnQ5HsS10="


def _pins_of(path: str, spec: DriverSpec) -> list[tuple[str, int | str]]:
    """(key path, pin as written) for each GPIO line one device uses."""
    options = spec.options
    pins = [
        (f"{path}.{k}", options[k]) for k in GPIO_LINE_OPTIONS.get(spec.driver, ()) if k in options
    ]
    feedback = options.get("feedback")
    if isinstance(feedback, dict):
        pins += [
            (f"{path}.feedback.{k}", feedback[k])
            for k in FEEDBACK_LINES
            if feedback.get(k) is not None
        ]
    return pins


def _lines_of(path: str, spec: DriverSpec) -> list[tuple[str, str]]:
    """(GPIO line or serial port, key path) pairs a device uses."""
    used = [(f"GPIO {_pin(value)}", where) for where, value in _pins_of(path, spec)]
    if spec.driver in PORT_DRIVERS and isinstance(spec.options.get("port"), str):
        used.append((f"port {spec.options['port']}", f"{path}.port"))
    if uart := _uart_of(spec):
        option, value = uart
        used += [
            (f"GPIO {pin}", f"{path}.{option} ({value}: the UART on GPIO 14 and 15)")
            for pin in UART_PINS
        ]
    return used


def _uart_of(spec: DriverSpec) -> tuple[str, str] | None:
    """(option, value) when the device talks through the header's UART pins."""
    port, device = spec.options.get("port"), spec.options.get("device")
    if spec.driver in PORT_DRIVERS and port in UART_PORTS:
        return "port", str(port)
    on_uart = isinstance(device, str) and ":".join(device.split(":")[:2]) in UART_NFC_DEVICES
    if spec.driver == "nfc" and on_uart:
        return "device", str(device)
    return None


def _pin(value: object) -> str:
    text = str(value).upper()
    for prefix in ("GPIO", "BCM"):
        text = text.removeprefix(prefix)
    return text


def gpio_pins(config: GateConfig) -> list[tuple[str, int | str]]:
    """(key path, pin as written) for every GPIO line the config's devices use."""
    return [pin for path, spec in _devices(config) for pin in _pins_of(path, spec)]


def _devices(config: GateConfig) -> list[tuple[str, DriverSpec]]:
    devices: list[tuple[str, DriverSpec]] = []
    for i, door in enumerate(config.doors):
        devices.append((f"doors.{i}.relay", door.relay))
        devices += [(f"doors.{i}.readers.{j}", r) for j, r in enumerate(door.readers)]
        for role in ("contact", "exit_button"):
            spec = getattr(door, role)
            if spec is not None:
                devices.append((f"doors.{i}.{role}", spec))
        if door.barrier is not None:  # a vehicle barrier's loops and sign
            for role in ("presence_loop", "arming_loop", "loop_fault", "sign"):
                if (spec := getattr(door.barrier, role)) is not None:
                    devices.append((f"doors.{i}.barrier.{role}", spec))
    for role in ("visitor_button", "fire_alarm"):
        spec = getattr(config.inputs, role)
        if spec is not None:
            devices.append((f"inputs.{role}", spec))
    return devices


def shared_lines(config: GateConfig) -> list[str]:
    """Two devices on one GPIO line or serial port cannot both be opened: say which."""
    seen: dict[str, str] = {}
    problems = []
    for path, spec in _devices(config):
        for line, where in _lines_of(path, spec):
            if line in seen:
                problems.append(f"{where} uses {line}, which {seen[line]} uses already")
            else:
                seen[line] = where
    return problems


def simulated_parts(config: GateConfig) -> list[str]:
    """What only a bench may use: simulated devices and the repository's demo office key."""
    problems = [
        f'{path}: simulated device (driver "{spec.driver}"; "sim" is the default when none '
        "is set); a gate needs real hardware, or [gate] simulated = true on a test bench"
        for path, spec in _devices(config)
        if spec.driver in SIM_DRIVERS
    ]
    if (config.mqtt.office_public_key or "").strip() == DEMO_OFFICE_PUBLIC_KEY:
        problems.append(
            "mqtt.office_public_key: the repository's demo key (its private half is public); "
            "make one with `gate-office keygen`"
        )
    return problems
