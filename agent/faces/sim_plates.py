"""``gate-agent sim plate DOOR PLATE``: a vehicle in front of a simulated ANPR camera."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from agent.errors import GateError
from drivers.anpr import PlateStimulus
from drivers.anpr_push import PushRefused

if TYPE_CHECKING:
    from agent.faces.simulate import SimControls


def show_plate(sim: SimControls, door: str, plate: str, confidence: float) -> dict[str, Any]:
    """The camera's outcome and, for a plate read, the decision made for this very read."""
    if not isinstance(plate, str):
        raise GateError("plate must be text")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise GateError("confidence is a number from 0 to 1")
    if not 0 <= confidence <= 1:
        raise GateError("confidence is a number from 0 to 1")
    devices = sim.gate.devices
    cameras = [
        device
        for r_id, device in devices.readers.items()
        if devices.reader_door[r_id] == door and isinstance(device, PlateStimulus)
    ]
    if not cameras:
        raise GateError(f"door {door!r} has no simulated camera (driver anpr-sim)")
    try:
        outcome, read = cameras[0].show(plate, float(confidence))
    except PushRefused as exc:
        return {"outcome": "refused", "reason": exc.reason}
    sim.gate.settle()  # the read was posted before this barrier: it has been decided
    answer: dict[str, Any] = {"outcome": outcome}
    if read is not None and outcome == "read":
        record = sim.take_decision(read.reader, read.read_id)
        if record is not None:
            answer |= asdict(record)
    return answer
