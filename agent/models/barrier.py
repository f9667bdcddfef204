"""``[doors.barrier]``: a vehicle barrier's loops, timers and LED sign, and its status.

A door of ``kind = "barrier"`` carries this table. It is imported at the end of
``agent.models.config`` (it builds on the device specs defined there) and completes
``DoorConfig`` once it is defined, whichever of the two modules is imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, StrictBool, model_validator

from agent.core.barrier import Timings
from agent.models import config as _config
from agent.models.base import Strict

if TYPE_CHECKING:
    from agent.models.config import GateConfig


class SignSpec(_config.DriverSpec):
    """An LED text sign beside the barrier: ``driver`` ("serial", "sim") with its options,
    plus what it shows (the language of its words, how long an outcome stays)."""

    _kind = "sign"
    language: Literal["zh-Hans", "en"] = "zh-Hans"
    show_s: float = Field(6.0, gt=0, le=300)  # an outcome stays this long, then the idle text
    idle_text: str = Field("", max_length=32)


class BarrierConfig(Strict):
    """The loops and timers of a barrier arm; the relay (``doors.relay``) raises it."""

    presence_loop: _config.InputSpec  # the safety loop under the arm: active = a vehicle
    arming_loop: _config.InputSpec | None = None  # the loop before the barrier
    require_arming: StrictBool = False  # a read with no vehicle on the arming loop is ignored
    loop_fault: _config.InputSpec | None = None  # the loop detector's fault output
    max_raise_s: float = Field(30.0, gt=0, le=600)  # up without a vehicle, then down
    close_delay_s: float = Field(1.5, ge=0, le=60)  # after the vehicle leaves the safety loop
    stuck_s: float = Field(900.0, gt=0, le=86_400)  # presence this long is a loop fault
    sign: SignSpec | None = None

    @model_validator(mode="after")
    def _arming_needs_a_loop(self) -> BarrierConfig:
        if self.require_arming and self.arming_loop is None:
            raise ValueError("require_arming = true needs an arming_loop")
        return self

    def timings(self) -> Timings:
        return Timings(self.max_raise_s, self.close_delay_s, self.stuck_s)


class BarrierStatus(Strict):
    """A barrier as status shows it; the counts are since the agent started."""

    phase: Literal["down", "waiting", "occupied", "closing", "held"]
    vehicle_present: bool
    arming_present: bool | None = Field(None, description="null: no arming loop fitted")
    loop_fault: bool
    vehicle_tailgates: int = 0
    reads_ignored: int = 0
    guard_raises: int = 0
    sign: list[str] | None = Field(None, description="what the LED sign shows now")


def barrier_problems(config: GateConfig) -> list[str]:
    """A barrier needs its table; a plain door must not have one."""
    problems = []
    for i, door in enumerate(config.doors):
        if door.kind == "barrier" and door.barrier is None:
            problems.append(
                f"doors.{i}.barrier: a barrier needs [doors.barrier] with its presence_loop"
            )
        if door.kind != "barrier" and door.barrier is not None:
            problems.append(f'doors.{i}.barrier: only a door of kind = "barrier" has one')
    return problems


def barrier_inputs(config: GateConfig) -> dict[str, _config.InputSpec]:
    """The barriers' inputs by the name the gate routes them under."""
    specs: dict[str, _config.InputSpec] = {}
    for door in config.doors:
        if door.barrier is None:
            continue
        specs[f"{door.id}.loop"] = door.barrier.presence_loop
        if door.barrier.arming_loop is not None:
            specs[f"{door.id}.arming"] = door.barrier.arming_loop
        if door.barrier.loop_fault is not None:
            specs[f"{door.id}.loop_fault"] = door.barrier.loop_fault
    return specs


_namespace = {"BarrierConfig": BarrierConfig}
_config.DoorConfig.model_rebuild(_types_namespace=_namespace)
_config.GateConfig.model_rebuild(_types_namespace=_namespace)
