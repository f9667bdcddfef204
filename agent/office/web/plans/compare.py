"""A drill compared with its plan: pure (no Django), so a property test can drive it.

Per door the plan lists: when the gate commanded the release and when the relay (or, for
older reports, the contact) confirmed it, against the plan's target. A door that released
is never reported as failed, whether or not it has a door contact; a door the gate's
report lacks is "missing". Steps ticked by the staff on duty are held against their
target minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.models.drills import door_released

ON_TIME, LATE, NOT_RELEASED, MISSING = "on_time", "late", "not_released", "missing"
LOCKED, RELEASED_NOT_LOCKED = "locked", "released_not_locked"


@dataclass(frozen=True)
class DoorResult:
    """One door of the plan in the drill."""

    site: str
    gate: str
    door: str
    action: str  # release or lock, as the plan says
    state: str
    commanded_s: float | None = None
    released_s: float | None = None
    took_s: float | None = None
    contact: bool = True
    problem: str = ""


@dataclass(frozen=True)
class StepResult:
    """One step of the plan: when it was ticked off and by whom, against its target."""

    index: int
    text: str
    role: str
    target_min: float
    done_min: float | None = None
    by: str = ""
    late: bool = False


@dataclass
class Comparison:
    """The whole comparison; ``failed`` names what went wrong, door by door."""

    doors: list[DoorResult] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)

    @property
    def failed_doors(self) -> list[DoorResult]:
        """Doors the plan releases that did not release (or no report said so)."""
        return [d for d in self.doors if d.state in (NOT_RELEASED, MISSING, RELEASED_NOT_LOCKED)]

    @property
    def late_steps(self) -> list[StepResult]:
        """Steps ticked after their target, or never ticked."""
        return [s for s in self.steps if s.late or s.done_min is None]


def released(report: dict[str, Any]) -> bool:
    """The gate's word for one door: released when its relay showed the unlocked state
    (older reports: ``relay_s``, see ``door_released``)."""
    return door_released(report) or report.get("released_s") is not None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def door_result(
    plan_door: dict[str, str], report: dict[str, Any] | None, target_s: float
) -> DoorResult:
    """One door of the plan against its gate's report (None: the report lacks it)."""
    where = (plan_door["site"], plan_door["gate"], plan_door["door"], plan_door["action"])
    if report is None:
        return DoorResult(*where, state=MISSING)
    contact = report.get("contact") is not False
    if plan_door["action"] == "lock":
        state = RELEASED_NOT_LOCKED if released(report) else LOCKED
        return DoorResult(*where, state=state, contact=contact)
    if not released(report):
        problem = str(report.get("problem") or "")
        if report.get("expected") is False:
            problem = "this kind of drill does not release the door"
        return DoorResult(*where, state=NOT_RELEASED, contact=contact, problem=problem)
    at, took = _number(report.get("released_s")), _number(report.get("took_s"))
    if at is None:  # an older report: the relay's time is the release
        at, took = _number(report.get("relay_s")), None
    commanded = round(at - took, 2) if at is not None and took is not None else None
    # the target counts from the command: how long the gate took to release the door
    measure = took if took is not None else at
    state = LATE if measure is not None and measure > target_s else ON_TIME
    return DoorResult(
        *where, state=state, commanded_s=commanded, released_s=at, took_s=took, contact=contact
    )


def compare(
    doors: list[dict[str, str]],
    target_s: float,
    reports: dict[str, dict[str, Any]],
    steps: list[dict[str, Any]],
    ticks: list[dict[str, Any]],
) -> Comparison:
    """The plan's ``doors`` ({site, gate, door, action}) against ``reports`` ("site/gate":
    the gate's ``drill_ended`` details) and its ``steps`` ({minutes, role, text}) against
    ``ticks`` ({step, minutes, by}: minutes after the drill's start; the first tick of a
    step counts)."""
    out = Comparison()
    for d in doors:
        per_door = (reports.get(f"{d['site']}/{d['gate']}") or {}).get("doors")
        one = per_door.get(d["door"]) if isinstance(per_door, dict) else None
        out.doors.append(door_result(d, one if isinstance(one, dict) else None, target_s))
    first: dict[int, dict[str, Any]] = {}
    for tick in sorted(ticks, key=lambda t: float(t["minutes"])):
        first.setdefault(int(tick["step"]), tick)
    for n, step in enumerate(steps):
        target = float(step["minutes"])
        if n not in first:
            out.steps.append(StepResult(n, step["text"], step["role"], target))
            continue
        tick = first[n]
        done = float(tick["minutes"])
        out.steps.append(
            StepResult(
                n, step["text"], step["role"], target, done, str(tick.get("by", "")), done > target
            )
        )
    return out
