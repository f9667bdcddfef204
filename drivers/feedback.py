"""LED and buzzer lines of a reader (Wiegand and serial readers bring them out as wires)."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from drivers.base import Feedback

log = logging.getLogger(__name__)


class FeedbackPins(BaseModel):
    """``feedback = { green = 22, red = 23, buzzer = 24 }``: GPIO lines, any may be left out.

    Most readers light their LED and sound their buzzer when the line is pulled low:
    ``active_high = false`` (the default) says so.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    green: int | str | None = None
    red: int | str | None = None
    buzzer: int | str | None = None
    active_high: StrictBool = False
    grant_s: float = Field(1.0, gt=0, le=10)  # green on, and a short beep
    deny_s: float = Field(1.0, gt=0, le=10)  # red on, and a long beep


class GpioFeedback:
    """Blinks the lines in gpiozero's background threads, so showing never blocks."""

    SHORT_BEEP_S = 0.1
    LONG_BEEP_S = 0.6

    def __init__(self, pins: FeedbackPins, pin_factory: object | None) -> None:
        from gpiozero import DigitalOutputDevice

        from drivers.gpio import gpio_errors

        self.pins = pins

        def line(pin: int | str | None) -> DigitalOutputDevice | None:
            if pin is None:
                return None
            with gpio_errors(f"reader feedback line GPIO {pin}"):
                return DigitalOutputDevice(
                    pin, active_high=pins.active_high, initial_value=False, pin_factory=pin_factory
                )

        self.green = line(pins.green)
        self.red = line(pins.red)
        self.buzzer = line(pins.buzzer)

    def show(self, result: Feedback) -> None:
        grant = result is Feedback.GRANT
        light = self.green if grant else self.red
        if light is not None:
            light.blink(on_time=self.pins.grant_s if grant else self.pins.deny_s, n=1)
        if self.buzzer is not None:
            self.buzzer.blink(on_time=self.SHORT_BEEP_S if grant else self.LONG_BEEP_S, n=1)

    def close(self) -> None:
        for device in (self.green, self.red, self.buzzer):
            if device is not None:
                device.close()
