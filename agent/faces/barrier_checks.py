"""``check-config`` warnings about vehicle barriers: wiring that runs but is not safe for
cars or not what the installer meant (docs/hardware.md, "Vehicle barriers")."""

from __future__ import annotations

from pathlib import Path

from agent.core.kinds import FailMode
from agent.models.config import GateConfig


def barrier_warnings(config: GateConfig) -> list[tuple[str, str]]:
    """(key path, warning) pairs for the config's barriers."""
    found: list[tuple[str, str]] = []
    for i, door in enumerate(config.doors):
        barrier = door.barrier
        if barrier is None:
            continue
        path = f"doors.{i}.barrier"
        for role in ("presence_loop", "arming_loop"):
            spec = getattr(barrier, role)
            if spec is not None and spec.driver == "gpio" and spec.options.get("active_low", True):
                found.append(
                    (f"{path}.{role}",
                     "active_low = true reads a closed contact as a vehicle: a cut wire or a dead "
                     "loop detector then reads as no vehicle. Wire the detector's fail-safe output "
                     "on its normally-closed contact with active_low = false")
                )  # fmt: skip
        if barrier.arming_loop is not None and not barrier.require_arming:
            found.append(
                (f"{path}.require_arming",
                 "false: an arming loop is fitted, but a read with no vehicle on it still "
                 "raises the arm")
            )  # fmt: skip
        if not door.release_on_fire:
            found.append(
                (f"doors.{i}.release_on_fire",
                 "false on a barrier: the arm stays down in a fire, in the way of evacuating "
                 "cars and of the fire brigade")
            )  # fmt: skip
        if door.fail_mode is FailMode.SAFE:
            found.append(
                (f"doors.{i}.fail_mode",
                 "safe on a barrier: the relay is energised to keep the arm DOWN; a dead Pi "
                 "raises it (secure: energised raises it, the usual wiring)")
            )  # fmt: skip
        sign = barrier.sign
        port = sign.options.get("port") if sign is not None else None
        if isinstance(port, str) and port.startswith("/dev/") and not Path(port).exists():
            found.append(
                (f"{path}.sign.port",
                 f"{port} is not there now (unplugged?); the sign is retried, cards still work")
            )  # fmt: skip
    return found
