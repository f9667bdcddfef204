"""The escalation ladder's suggestion (agent.models.behaviour_ladder), for every ladder a
config may hold and every set of measures taken, and its config checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.models.behaviour_ladder import RUNGS, BehaviourConfig, counted, suggest

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

# a ladder: some of the rungs below the police, in any order, then the police
ladders = st.lists(st.sampled_from(RUNGS[:-1]), unique=True).map(lambda r: [*r, "police"])
taken_rungs = st.lists(st.sampled_from(RUNGS), max_size=8)


@given(ladders, taken_rungs, st.booleans())
def test_the_suggestion_is_the_rung_above_every_measure_taken(
    ladder: list[str], taken: list[str], serious: bool
) -> None:
    rung = suggest(ladder, taken, serious)  # type: ignore[arg-type]
    taken_in = [ladder.index(r) for r in taken if r in ladder]
    if "police" in taken:
        assert rung is None  # the top was reached: nothing further to suggest
        return
    assert rung is not None and rung in ladder
    assert all(ladder.index(rung) > i for i in taken_in)
    if serious:
        assert rung == "police"
    else:
        assert ladder.index(rung) == max(taken_in, default=-1) + 1
    # the order the measures were taken in does not matter
    assert suggest(ladder, list(reversed(taken)), serious) == rung  # type: ignore[arg-type]


@given(ladders, taken_rungs, st.sampled_from(RUNGS), st.booleans())
def test_one_more_measure_never_lowers_the_suggestion(
    ladder: list[str], taken: list[str], more: str, serious: bool
) -> None:
    def rank(rung: str | None) -> int:
        return len(ladder) if rung is None else ladder.index(rung)

    before = suggest(ladder, taken, serious)  # type: ignore[arg-type]
    after = suggest(ladder, [*taken, more], serious)  # type: ignore[arg-type]
    assert rank(after) >= rank(before)


@given(st.lists(st.integers(min_value=-800, max_value=800), max_size=10), st.integers(1, 24))
def test_only_measures_within_the_window_count(days_ago: list[int], months: int) -> None:
    measures = [(NOW - timedelta(days=d), f"r{d}") for d in days_ago]
    kept = counted(measures, NOW, months)
    assert kept == [f"r{d}" for d in days_ago if 0 <= d <= 30 * months]


def test_nothing_taken_suggests_the_first_rung() -> None:
    assert suggest(list(RUNGS), [], serious=False) == "dissuasion"
    assert suggest(list(RUNGS), [], serious=True) == "police"


@pytest.mark.parametrize(
    "ladder",
    [[], ["dissuasion"], ["police", "dissuasion"], ["dissuasion", "dissuasion", "police"]],
)
def test_a_ladder_without_the_police_on_top_or_with_a_rung_twice_is_refused(
    ladder: list[str],
) -> None:
    with pytest.raises(ValidationError):
        BehaviourConfig(ladder=ladder)  # type: ignore[arg-type]


def test_an_unknown_rung_or_kind_is_refused() -> None:
    with pytest.raises(ValidationError):
        BehaviourConfig(ladder=["shouting", "police"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        BehaviourConfig(serious=["rudeness"])  # type: ignore[list-item]
