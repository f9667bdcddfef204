"""The drill-against-plan comparison (pure): properties over any plan and any reports.

A door whose report says it released is never failed (contact or not); a door a gate's
report lacks is "missing"; a step is late exactly when its first tick came after its
target; every door and step of the plan appears once, in the plan's order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.office.web.plans.compare import (
    LATE,
    LOCKED,
    MISSING,
    NOT_RELEASED,
    ON_TIME,
    RELEASED_NOT_LOCKED,
    compare,
)

NAMES = st.sampled_from(["main", "side", "back", "garage"])
GATES = st.sampled_from(["g1", "g2"])
SECONDS = st.floats(min_value=0, max_value=600, allow_nan=False)


@st.composite
def door_reports(draw: Any) -> dict[str, Any]:
    released = draw(st.booleans())
    if draw(st.booleans()) and released:  # a gate before 2026-12: the relay's time only
        return {"released": False, "problem": "nobody opened it", "relay_s": draw(SECONDS)}
    if not released:
        return draw(st.sampled_from([{"released": False, "problem": "stuck"}, {"expected": False}]))
    at = draw(SECONDS)
    report: dict[str, Any] = {"released": True, "released_s": at}
    if draw(st.booleans()):
        report["took_s"] = draw(st.floats(min_value=0, max_value=at))
    if draw(st.booleans()):
        report["contact"] = False  # the relay is all there is to go by
    return report


plans = st.lists(
    st.fixed_dictionaries(
        {
            "site": st.just("s1"),
            "gate": GATES,
            "door": NAMES,
            "action": st.sampled_from(["release", "lock"]),
        }
    ),
    max_size=6,
)
reports = st.dictionaries(
    st.sampled_from(["s1/g1", "s1/g2"]),
    st.fixed_dictionaries({"doors": st.dictionaries(NAMES, door_reports())}),
)
steps = st.lists(
    st.fixed_dictionaries(
        {"minutes": st.integers(0, 60), "role": st.just("warden"), "text": st.text(max_size=5)}
    ),
    max_size=5,
)
ticks = st.lists(
    st.fixed_dictionaries(
        {
            "step": st.integers(0, 5),
            "by": st.just("clerk"),
            "minutes": st.floats(0, 90, allow_nan=False),
        }
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(plans, st.integers(0, 30), reports, steps, ticks)
def test_a_released_door_is_never_failed_and_steps_are_held_to_their_targets(
    doors: list[dict[str, str]],
    target: int,
    gate_reports: dict[str, dict[str, Any]],
    plan_steps: list[dict[str, Any]],
    done: list[dict[str, Any]],
) -> None:
    result = compare(doors, float(target), gate_reports, plan_steps, done)
    assert [(d.gate, d.door, d.action) for d in result.doors] == [
        (d["gate"], d["door"], d["action"]) for d in doors
    ]
    for plan_door, got in zip(doors, result.doors, strict=True):
        one = (
            gate_reports.get(f"s1/{plan_door['gate']}", {}).get("doors", {}).get(plan_door["door"])
        )
        if one is None:
            assert got.state == MISSING
            continue
        released = one.get("released") is True or "relay_s" in one
        if plan_door["action"] == "lock":
            assert got.state == (RELEASED_NOT_LOCKED if released else LOCKED)
        elif released:
            assert got.state in (ON_TIME, LATE) and got not in result.failed_doors
            took = one.get("took_s", one.get("released_s", one.get("relay_s")))
            assert (got.state == LATE) == (took > target)
            assert got.contact == (one.get("contact") is not False)
            if "took_s" in one:
                assert got.commanded_s == round(one["released_s"] - one["took_s"], 2)
        else:
            assert got.state == NOT_RELEASED and got in result.failed_doors
    assert [s.index for s in result.steps] == list(range(len(plan_steps)))
    for step in result.steps:
        mine = [t["minutes"] for t in done if t["step"] == step.index]
        if not mine:
            assert step.done_min is None and step in result.late_steps
        else:
            assert step.done_min == min(mine)
            assert step.late == (min(mine) > step.target_min)
