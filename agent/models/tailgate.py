"""``[doors.tailgate]``: a door's tailgating watch (off unless the table is there).

See ``agent.core.tailgate`` for what is counted and docs/hardware.md for its limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from agent.core.door import OPEN_GRACE_S
from agent.models.base import Strict

if TYPE_CHECKING:
    from agent.models.config import GateConfig


class TailgateConfig(Strict):
    """How many door cycles an authorisation pays for, and for how long."""

    # an authorisation's passages last this long; the alarm counts cycles and grants over it
    window_s: float = Field(30.0, gt=0, le=3600)
    # 2 where people usually hold the door for one more (a family at a lobby door)
    cycles_per_grant: int = Field(1, ge=1, le=10)
    # open this long after one passage: taken for another (0: not checked)
    several_passages_s: float = Field(10.0, ge=0, le=3600)
    # closed for less than this and opened again: the same cycle (chatter, a door bouncing)
    settle_s: float = Field(1.0, ge=0, le=30)


def tailgate_problems(config: GateConfig) -> list[str]:
    """Config errors: settings that would raise the alarm for everyone let in, or never."""
    problems = []
    for i, door in enumerate(config.doors):
        rule = door.tailgate
        if rule is None:
            continue
        if rule.window_s < door.pulse_s + OPEN_GRACE_S:
            problems.append(
                f"doors.{i}.tailgate.window_s: {rule.window_s:g} s is shorter than the door's "
                f"pulse ({door.pulse_s:g} s) and its {OPEN_GRACE_S:g} s grace: someone let in "
                "late in the pulse would be taken for a tailgater"
            )
        several = rule.several_passages_s
        if several and several >= door.held_open_s:
            problems.append(
                f"doors.{i}.tailgate.several_passages_s: {several:g} s is not shorter than "
                f"held_open_s ({door.held_open_s:g} s): door_held_open comes first; "
                "lower it or leave it out"
            )
    return problems


def tailgate_warnings(config: GateConfig) -> list[tuple[str, str]]:
    """check-config warnings: a watch that cannot see anything."""
    return [
        (f"doors.{i}.tailgate",
         "this door has no contact: tailgating cannot be seen there (the watch stays off)")
        for i, door in enumerate(config.doors)
        if door.tailgate is not None and door.contact is None
    ]  # fmt: skip
