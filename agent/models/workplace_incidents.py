"""``[workplace.incidents]`` in ``office.toml``: how ``gate-office web watch`` turns the
gates' incidents and alarms into incident cases, and when an alarm nobody acknowledged
alerts the office."""

from __future__ import annotations

from pydantic import Field

from agent.models.base import Strict


class IncidentsConfig(Strict):
    """Who owns the cases the gates raise, and the alarm timings (minutes may be fractional)."""

    owner: str = Field(
        "",
        max_length=150,
        description="the staff account that owns new cases from the gates; empty, unknown "
        "or disabled: the oldest active manager",
    )
    unacknowledged_alarm_minutes: float = Field(
        5.0, gt=0, description="an alarm no guard acknowledged this long alerts the office once"
    )
    fold_minutes: float = Field(
        10.0,
        ge=0,
        description="an alarm of the same gate, door and type this soon after another one "
        "joins its open case as a step instead of opening a new case",
    )
    around_minutes: float = Field(
        5.0, gt=0, le=60, description="the gate's events this long either side shown on the case"
    )
