"""The cases' pure parts: allowed steps (a property over every sequence) and working days."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.office.web.cases import due, flow

ANY_ACTION = st.sampled_from([*flow.ACTIONS, "delete", "skip", ""])


@given(st.lists(ANY_ACTION, max_size=40))
def test_no_sequence_of_actions_reaches_an_unlisted_state(actions: list[str]) -> None:
    state = flow.RECEIVED
    for action in actions:
        try:
            after = flow.next_state(state, action)
        except flow.StepRefused:
            continue
        assert after in flow.STATES
        assert state in flow.ACTIONS[action][0]
        state = after
    assert state in flow.STATES


def test_an_unlisted_step_is_refused() -> None:
    with pytest.raises(flow.StepRefused):
        flow.next_state(flow.RECEIVED, "close")
    with pytest.raises(flow.StepRefused):
        flow.next_state(flow.CLOSED, "answer")
    assert flow.actions_from(flow.CLOSED) == ["reopen"]


def test_working_days_skip_the_weekend_and_the_holidays() -> None:
    friday = date(2026, 12, 4)
    assert due.add_working_days(friday, 3, []) == date(2026, 12, 9)  # Mon, Tue, Wed
    holidays = due.parse_holidays("2026-12-08, 2026-12-09")
    assert due.add_working_days(friday, 3, holidays) == date(2026, 12, 11)
    received = datetime(2026, 12, 4, 16, 30)
    assert due.due_at(received, 3, holidays) == datetime(2026, 12, 11, 16, 30)
