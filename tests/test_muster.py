"""The muster at the gate: a real App on sim devices, SQLite and the manual clock. The
fire input (a sim input) or a drill (the drill desk) opens it; taps at the muster reader,
a way out and a guard's tick account for holders; the end says who was left."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.clock import ManualClock
from agent.core.kinds import DrillKind
from agent.errors import Rejected
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.drills import drill_lines
from tests.conftest import tap
from tests.muster_helpers import CARD, details_of, enrol_holders, muster_config, set_fire


@pytest.fixture
def gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig]) -> App:
    app = make_app(muster_config(make_config))
    app.start(threaded=False)
    app.loop.pump()
    enrol_holders(app)
    for holder in ("R-1", "R-2", "R-3"):
        assert tap(app, CARD[holder])["granted"]
    assert tap(app, CARD["R-3"], "main-out")["granted"]  # R-3 went home before the fire
    return app


def fire(app: App, active: bool) -> None:
    set_fire(app, active)
    app.loop.pump()


def test_a_fire_opens_a_muster_of_who_is_inside_and_its_end_counts_them(
    gate: App, clock: ManualClock
) -> None:
    assert gate.muster.view() is None
    clock.advance(60)
    fire(gate, True)
    (started,) = details_of(gate, "muster_started")
    assert started["trigger"] == "fire" and started["total"] == 2 and "drill_id" not in started
    assert [(h["holder_id"], h["unit"], h["area"]) for h in started["holders"]] == [
        ("R-1", "A-101", "compound"), ("R-2", "B-202", "compound")]  # fmt: skip
    assert started["holders"][0]["kind"] == "resident"
    clock.advance(30)
    assert tap(gate, CARD["R-1"], "assembly")["holder_id"] == "R-1"  # decided as usual
    gate.loop.pump()
    (ticked,) = details_of(gate, "muster_ticked")
    assert ticked == {"muster": started["muster"], "holder_id": "R-1", "kind": "resident",
                      "unit": "A-101", "by": "reader:assembly", "via": "muster_reader",
                      "total": 2, "accounted": 1, "unaccounted": 1}  # fmt: skip
    tap(gate, CARD["R-1"], "assembly")  # a second tap changes nothing
    tap(gate, CARD["R-3"], "assembly")  # not on the list: nothing to tick
    gate.loop.pump()
    assert len(details_of(gate, "muster_ticked")) == 1
    view = gate.muster.view()
    assert view is not None and view.holders["R-1"].ticked_by == "reader:assembly"
    fire(gate, False)
    (end,) = details_of(gate, "muster_ended")
    assert end["reason"] == "fire_cleared" and end["unaccounted_ids"] == ["R-2"]
    assert (end["total"], end["accounted"], end["unaccounted"]) == (2, 1, 1)
    assert gate.muster.view() is None


def test_an_exit_and_a_guard_account_for_holders(gate: App) -> None:
    fire(gate, True)
    assert tap(gate, CARD["R-2"], "main-out")["granted"]  # out through the exit passage
    gate.loop.pump()
    with pytest.raises(Rejected, match="accounted for already"):
        gate.muster.tick("R-2", "alice")
    with pytest.raises(Rejected, match="not on the muster list"):
        gate.muster.tick("R-9", "alice")
    gate.muster.tick("R-1", "alice")
    ticks = details_of(gate, "muster_ticked")
    assert [(t["holder_id"], t["via"], t["by"]) for t in ticks] == [
        ("R-2", "exit", "reader:main-out"), ("R-1", "guard", "guard:alice")]  # fmt: skip
    fire(gate, False)
    assert details_of(gate, "muster_ended")[-1]["unaccounted_ids"] == []


def test_no_muster_without_a_fire_or_drill_is_a_clear_refusal(gate: App) -> None:
    with pytest.raises(Rejected, match="no muster is open"):
        gate.muster.tick("R-1", "alice")


def test_a_drill_opens_a_muster_and_its_report_counts_who_was_left(
    gate: App, clock: ManualClock
) -> None:
    started = gate.start_drill(DrillKind.EVACUATION, "guard:alice", minutes=10)
    (muster,) = details_of(gate, "muster_started")
    assert muster["trigger"] == "drill" and muster["drill_id"] == started["id"]
    assert muster["drill"] == {"id": started["id"], "kind": "evacuation"}  # marked as the drill's
    tap(gate, CARD["R-2"], "assembly")
    clock.advance(600)
    gate.loop.pump()
    (end,) = details_of(gate, "muster_ended")
    assert end["reason"] == "drill_ended" and end["unaccounted_ids"] == ["R-1"]
    (report,) = details_of(gate, "drill_ended")
    assert report["muster"] == {"total": 2, "accounted": 1, "unaccounted": 1, "open": False}
    assert "  muster: 1 of 2 still unaccounted for at the end" in drill_lines(report)


def test_an_open_muster_survives_a_restart(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], gate: App
) -> None:
    fire(gate, True)
    tap(gate, CARD["R-1"], "assembly")
    gate.loop.pump()
    gate.stop()
    again = make_app(muster_config(make_config))
    set_fire(again, True)  # still burning at start: the muster goes on
    again.start(threaded=False)
    again.loop.pump()
    assert len(details_of(again, "muster_started")) == 1
    view = again.muster.view()
    assert view is not None and view.restarts == 1 and view.holders["R-1"].ticked_at is not None
    again.muster.tick("R-2", "bob")
    fire(again, False)
    assert details_of(again, "muster_ended")[-1]["unaccounted"] == 0
    again.stop()
    third = make_app(muster_config(make_config))
    third.start(threaded=False)
    assert third.muster.view() is None


def test_a_muster_whose_fire_cleared_while_stopped_ends_at_start(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], gate: App
) -> None:
    fire(gate, True)
    gate.stop()
    again = make_app(muster_config(make_config))
    again.start(threaded=False)
    again.loop.pump()
    (end,) = details_of(again, "muster_ended")
    assert end["reason"] == "ended_while_stopped" and end["unaccounted_ids"] == ["R-1", "R-2"]
    assert again.muster.view() is None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=12,
)  # fmt: skip
HOLDER = st.fixed_dictionaries({"holder_id": JSONISH}, optional={
    "kind": JSONISH, "unit": JSONISH, "area": JSONISH, "since": JSONISH})  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    holders=st.lists(HOLDER, max_size=4) | JSONISH,
    ticks=st.lists(st.fixed_dictionaries({"holder_id": JSONISH, "by": JSONISH}), max_size=4),
    muster=JSONISH,
)
def test_the_office_rebuilds_any_muster_a_gate_sends_without_failing(
    holders: object, ticks: list[dict[str, object]], muster: object
) -> None:
    """What a gate sends is outside input to the office: whatever its details hold, the
    muster is rebuilt (a tick counts only for a listed holder of the same muster)."""
    from datetime import UTC, datetime

    from agent.office.web.plans.muster import build

    when = datetime(2026, 12, 7, tzinfo=UTC)
    started = {"site": "s", "gate": "g", "time": when, "seq": 1, "type": "muster_started",
               "details": {"muster": "m1", "trigger": "fire", "holders": holders}}  # fmt: skip
    later = [{"time": when, "seq": i + 2, "type": "muster_ticked",
              "details": {"muster": muster, **t}} for i, t in enumerate(ticks)]  # fmt: skip
    out = build(started, later)
    assert out.accounted + out.unaccounted == out.total == len({r.holder_id for r in out.rows})
    if muster != "m1":
        assert out.accounted == 0


def test_a_fire_already_on_at_start_opens_a_muster(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], gate: App
) -> None:
    gate.stop()  # no fire when it stopped: nothing kept
    again = make_app(muster_config(make_config))
    set_fire(again, True)
    again.start(threaded=False)
    again.loop.pump()
    (started,) = details_of(again, "muster_started")
    assert started["trigger"] == "fire" and started["total"] == 2


def test_a_real_fire_keeps_the_muster_open_past_the_drills_end(
    gate: App, clock: ManualClock
) -> None:
    gate.start_drill(DrillKind.EVACUATION, "office", minutes=5)
    fire(gate, True)  # a real fire during an evacuation drill
    clock.advance(300)
    gate.loop.pump()
    (report,) = details_of(gate, "drill_ended")
    assert report["muster"] == {"total": 2, "accounted": 0, "unaccounted": 2, "open": True}
    assert "(the muster goes on: the fire input is still active)" in drill_lines(report)[-1]
    assert details_of(gate, "muster_ended") == [] and gate.muster.view() is not None
    fire(gate, False)
    assert details_of(gate, "muster_ended")[0]["reason"] == "fire_cleared"
