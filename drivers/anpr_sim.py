"""The simulated twin of an ANPR camera: plates shown from software (tests, the
control socket's ``sim plate``), through the same threshold, format and repeat rules."""

from __future__ import annotations

from drivers.anpr import PlateCamera
from drivers.anpr_push import PlatePush
from drivers.base import DriverContext, DriverOptions
from drivers.cards import CardRead
from drivers.plates import PlateNumber, PlateSighting


class SimPlateCamera(PlateCamera):
    """A camera that reads the plates it is told to (no HTTP, no secret)."""

    vendor = "sim"

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        super().__init__(name, options, context)
        self.last: CardRead | None = None  # the last read delivered

    def show(
        self, plate: str, confidence: float = 1.0, picture: bytes | None = None
    ) -> tuple[str, CardRead | None]:
        """A vehicle in front of the camera: the outcome (``read``, ``repeat``,
        ``unreadable``) and the read delivered, if any; PushRefused for a plate of no
        configured format."""
        self.last = None
        outcome = self.sighted(PlatePush(plate, confidence, picture))
        return outcome, self.last

    def _deliver_plate(self, plate: PlateNumber, sighting: PlateSighting) -> CardRead:
        self.last = super()._deliver_plate(plate, sighting)
        return self.last
