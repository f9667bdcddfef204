"""Device drivers: one abstract class per device kind, real and simulated backends."""

from drivers.base import CardReader, DigitalInput, DriverContext, Relay
from drivers.cards import CardNumber, CardRead, Technology, parse_card

__all__ = [
    "CardNumber",
    "CardRead",
    "CardReader",
    "DigitalInput",
    "DriverContext",
    "Relay",
    "Technology",
    "parse_card",
]
