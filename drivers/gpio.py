"""GPIO backends on gpiozero: a relay output and a debounced input.

The pin factory comes from the driver context, so tests hand in gpiozero's
``MockFactory`` and a Pi uses lgpio, with no global state touched.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gpiozero import Device, DigitalInputDevice, DigitalOutputDevice
from gpiozero.exc import BadPinFactory, GPIOZeroError, PinFactoryFallback, PinInvalidPin
from pydantic import StrictBool

from agent.errors import DriverError
from drivers.base import DigitalInput, DriverContext, DriverOptions, Relay

# the installer puts the lgpio wheel from PyPI into the agent's own virtualenv: name that
NO_FACTORY = (
    "no usable GPIO pin factory: this is not a Raspberry Pi, or lgpio is missing from "
    f"{sys.prefix} (re-run deploy/install.sh, or {sys.prefix}/bin/pip install lgpio)"
)


@contextmanager
def gpio_errors(what: str) -> Iterator[None]:
    """gpiozero's failures as one-line DriverErrors, without its fallback warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PinFactoryFallback)
        try:
            yield
        except BadPinFactory:
            raise DriverError(NO_FACTORY) from None
        except GPIOZeroError as exc:
            raise DriverError(f"{what}: {exc}") from None


def probe_pin_factory(pin_factory: object | None = None) -> None:
    """Raise DriverError unless GPIO can be driven here (for check-config and safe-state)."""
    if pin_factory is not None:
        return
    with gpio_errors("GPIO"):
        Device.ensure_pin_factory()


def unknown_pins(
    pins: list[tuple[str, int | str]], pin_factory: object | None = None
) -> list[tuple[str, str]]:
    """(key path, why) for each pin this board does not have, found without opening any.

    Raises DriverError when there is no GPIO here at all.
    """
    with gpio_errors("GPIO"):
        if pin_factory is None:
            Device.ensure_pin_factory()
        factory: Any = pin_factory or Device.pin_factory
        board = factory.board_info
        problems = []
        for path, pin in pins:
            try:
                board.to_gpio(pin)
            except PinInvalidPin:
                problems.append(
                    (path, f"{pin!r} is not a GPIO pin of this board (Pi {board.model})")
                )
    return problems


class GpioRelayOptions(DriverOptions):
    pin: int | str
    active_high: StrictBool = True


class GpioRelay(Relay):
    """A relay on one GPIO line, de-energised the moment it is opened."""

    Options = GpioRelayOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        assert isinstance(options, GpioRelayOptions)
        with gpio_errors(f"relay {name} on GPIO {options.pin}"):
            self._device: Any = DigitalOutputDevice(
                options.pin,
                active_high=options.active_high,
                initial_value=False,
                pin_factory=context.pin_factory,
            )

    def set_energised(self, energised: bool) -> None:
        if energised:
            self._device.on()
        else:
            self._device.off()

    @property
    def is_energised(self) -> bool:
        return bool(self._device.value)

    def close(self) -> None:
        if not self._device.closed:
            self._device.off()
            self._device.close()


class GpioInputOptions(DriverOptions):
    pin: int | str
    pull_up: StrictBool = True
    active_low: StrictBool = True  # a contact to ground reads low when active
    bounce_s: float | None = 0.05


class GpioInput(DigitalInput):
    """A button or contact on one GPIO line; gpiozero calls back from its own thread."""

    Options = GpioInputOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        assert isinstance(options, GpioInputOptions)
        # gpiozero reports value 1 for "pulled away from rest"; map that to active
        # according to how the contact is wired.
        with gpio_errors(f"input {name} on GPIO {options.pin}"):
            self._device: Any = DigitalInputDevice(
                options.pin,
                pull_up=options.pull_up,
                bounce_time=options.bounce_s,
                pin_factory=context.pin_factory,
            )
        self._invert = options.pull_up != options.active_low

    def _open(self) -> None:
        self._device.when_activated = lambda: self._changed(not self._invert)
        self._device.when_deactivated = lambda: self._changed(self._invert)

    @property
    def is_active(self) -> bool:
        return bool(self._device.value) != self._invert

    def close(self) -> None:
        self._device.close()
