"""Backends by name. Config says ``driver = "sim"``; this table says which class that is.

Entries are "module:Class" strings so a backend's hardware library is imported only
when a config chooses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from agent.errors import DriverError
from drivers.base import Device, DriverContext

BACKENDS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("reader", "sim"): "drivers.sim:SimCardReader",
        ("reader", "nfc"): "drivers.nfc:NfcReader",
        ("reader", "serial"): "drivers.serial_reader:SerialReader",
        ("reader", "keyboard"): "drivers.keyboard:KeyboardReader",
        ("reader", "wiegand"): "drivers.wiegand:WiegandReader",
        ("reader", "osdp"): "drivers.osdp:OsdpReader",
        # QR and barcode scanners for visitor passes: readers that deliver text
        ("reader", "scanner-serial"): "drivers.scanner_serial:SerialScanner",
        ("reader", "scanner-keyboard"): "drivers.scanner_keyboard:KeyboardScanner",
        ("reader", "scanner-sim"): "drivers.sim:SimScanner",
        # ANPR cameras (issue 22): plate readers, fed by the gate's plate receiver
        ("reader", "anpr-hikvision"): "drivers.anpr:HikvisionCamera",
        ("reader", "anpr-dahua"): "drivers.anpr:DahuaCamera",
        ("reader", "anpr-webhook"): "drivers.anpr:PlateCamera",
        ("reader", "anpr-sim"): "drivers.anpr_sim:SimPlateCamera",
        ("relay", "sim"): "drivers.sim:SimRelay",
        ("relay", "gpio"): "drivers.gpio:GpioRelay",
        ("input", "sim"): "drivers.sim:SimInput",
        ("input", "gpio"): "drivers.gpio:GpioInput",
        # LED text signs at a vehicle barrier (issue 22)
        ("sign", "serial"): "drivers.sign:SerialSign",
        ("sign", "sim"): "drivers.sign_sim:SimSign",
    }
)


def names(kind: str) -> list[str]:
    return sorted(name for k, name in BACKENDS if k == kind)


def backend(kind: str, name: str) -> type[Device]:
    """The class registered for (kind, name); KeyError names the choices."""
    try:
        target = BACKENDS[(kind, name)]
    except KeyError:
        raise KeyError(f"no {kind} driver {name!r}; choose from {names(kind)}") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # the backend's hardware library is not installed
        raise DriverError(
            f"the {name!r} {kind} driver needs the Python package {exc.name!r}, "
            "which is not installed here (see docs/install.md)"
        ) from None
    cls: type[Device] = getattr(module, class_name)
    return cls


def create(
    kind: str, name: str, device_id: str, options: Mapping[str, Any], context: DriverContext
) -> Device:
    cls = backend(kind, name)
    device = cls(device_id, cls.Options.model_validate(dict(options)), context)
    device.driver_name = name
    return device
