"""The simulated twin of an LED text sign: it keeps what it showed."""

from __future__ import annotations

from drivers.base import DriverContext, DriverOptions
from drivers.sign import TextSign


class SimSign(TextSign):
    """A sign that remembers every update (``history``) instead of lighting LEDs."""

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self.history: list[tuple[str, ...]] = []

    def _send(self, rows: tuple[str, ...]) -> None:
        self.history = [*self.history[-49:], rows]  # the last 50 are plenty for a bench
