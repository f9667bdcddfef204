"""The pure presence rules: last-writer-wins merging and anti-passback verdicts."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.presence import (
    OUTSIDE,
    US,
    AreaRule,
    Passage,
    Passback,
    Presence,
    Verdict,
    check_passback,
    inside,
    wins,
)
from agent.errors import ConfigError
from agent.models.config import validate_config

ENTER = Passage("main-in", OUTSIDE, "compound")
LEAVE = Passage("main-out", "compound", OUTSIDE)
NOW = 1_800_000_000 * US


def rec(area: str | None, ago_s: float = 60, gate: str = "east", seq: int = 1) -> Presence:
    return Presence("h1", area, "resident", NOW - int(ago_s * US), gate, seq)


@pytest.mark.parametrize(
    ("mode", "record", "passage", "partitioned", "verdict"),
    [
        (Passback.HARD, rec("compound"), ENTER, False, Verdict.DENY),
        (Passback.HARD, rec(OUTSIDE), ENTER, False, Verdict.OK),
        (Passback.HARD, None, ENTER, False, Verdict.OK),  # never seen
        (Passback.HARD, rec(None), ENTER, False, Verdict.OK),  # forgiven
        (Passback.HARD, rec("compound", ago_s=25 * 3600), ENTER, False, Verdict.OK),  # expired
        (Passback.HARD, rec("compound"), ENTER, True, Verdict.VIOLATION),  # cut off: soft
        (Passback.SOFT, rec("compound"), ENTER, False, Verdict.VIOLATION),
        (Passback.OFF, rec("compound"), ENTER, False, Verdict.OK),
        (Passback.TIMED, rec("compound", ago_s=60), ENTER, False, Verdict.DENY),
        (Passback.TIMED, rec("compound", ago_s=600), ENTER, False, Verdict.OK),
        (Passback.TIMED, rec(OUTSIDE, ago_s=60), ENTER, False, Verdict.OK),
    ],
)
def test_verdicts(
    mode: Passback, record: Presence | None, passage: Passage, partitioned: bool, verdict: Verdict
) -> None:
    rule = AreaRule(passback=mode, timed_s=300)
    assert check_passback(record, passage, rule, NOW, partitioned) is verdict


def test_an_area_kept_hard_while_partitioned_refuses_on_what_it_knows() -> None:
    rule = AreaRule(passback=Passback.HARD, soft_when_partitioned=False)
    assert check_passback(rec("compound"), ENTER, rule, NOW, partitioned=True) is Verdict.DENY


def test_an_exit_into_outside_is_never_refused() -> None:
    """``outside`` has no rule: a holder the gate thinks is already out still leaves."""
    assert check_passback(rec(OUTSIDE), LEAVE, AreaRule(), NOW) is Verdict.OK


def test_inside_lists_only_current_records_in_areas() -> None:
    rules = {"compound": AreaRule(expiry_s=3600)}
    records = [
        Presence("a", "compound", None, NOW - 60 * US, "g", 1),
        Presence("b", OUTSIDE, None, NOW - 60 * US, "g", 2),
        Presence("c", "compound", None, NOW - 7200 * US, "g", 3),  # expired
        Presence("d", None, None, NOW, "g", 4),  # forgiven
    ]
    assert [r.holder_id for r in inside(records, rules, NOW)] == ["a"]


stamps = st.tuples(st.integers(0, 5), st.sampled_from(["east", "west", "north"]), st.integers(1, 5))


@given(st.lists(stamps, min_size=1, max_size=12, unique=True), st.randoms())
def test_merging_converges_whatever_the_order(
    stamped: list[tuple[int, str, int]], shuffle: random.Random
) -> None:
    """Every gate that applies the same records, in any order, ends with the same one."""
    records = [Presence("h", f"a{i}", None, t, g, s) for i, (t, g, s) in enumerate(stamped)]
    finals = set()
    for _ in range(4):
        order = list(records)
        shuffle.shuffle(order)
        held: Presence | None = None
        for r in order:
            if wins(r, held):
                held = r
        finals.add(held)
    assert finals == {max(records, key=lambda r: r.stamp)}


def test_wins_is_a_strict_order() -> None:
    a, b = rec("x", gate="east", seq=1), rec("y", gate="west", seq=1)
    for x, y in itertools.permutations([a, b]):
        assert wins(x, y) != wins(y, x)
    assert not wins(a, a)


def _config(presence: dict[str, object]) -> dict[str, object]:
    return {
        "gate": {"site": "s", "gate_id": "east", "simulated": True},
        "doors": [
            {"id": "main", "readers": [{"id": "main-in"}, {"id": "main-out", "direction": "out"}]}
        ],
        "security": {"credential_key_file": "k"},
        "presence": presence,
    }


def test_a_valid_presence_table() -> None:
    config = validate_config(
        _config(
            {
                "areas": {"compound": {"passback": "hard"}},
                "passages": {
                    "main-in": {"from": "outside", "to": "compound"},
                    "main-out": {"from": "compound", "to": "outside"},
                },
            }
        )
    )
    assert config.presence.passage_map()["main-in"] == ENTER
    assert config.presence.rules()["compound"].passback is Passback.HARD


def test_an_area_with_no_way_out_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(
            _config(
                {
                    "areas": {"compound": {}},
                    "passages": {"main-in": {"from": "outside", "to": "compound"}},
                }
            )
        )
    text = str(caught.value)
    assert "presence.areas.compound: holders can enter it here but no reader leads out" in text


def test_unknown_readers_and_areas_are_named() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(
            _config(
                {
                    "areas": {"compound": {"exit_elsewhere": True}},
                    "passages": {"side-in": {"from": "outside", "to": "garden"}},
                    "muster_readers": ["nowhere"],
                }
            )
        )
    text = str(caught.value)
    assert "presence.passages.side-in: no reader 'side-in' on this gate" in text
    assert "presence.passages.side-in.to: 'garden' is not in presence.areas" in text
    assert "presence.muster_readers.0: no reader 'nowhere' on this gate" in text
