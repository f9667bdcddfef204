"""Visitors' cars a guard registered outlive a restart of the gate (issue 22, item 1):
kept in the pass book as the plate's HMAC and mask, restored at start, expired ones dropped.
And a plate picture past its retention is never handed out (item 7)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.console.anpr import attach_plates
from agent.console.desk import Desk
from agent.console.forms import VisitorForm
from agent.console.wiring import ConsoleGate
from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import Event
from agent.store.guards import GuardStore
from agent.store.pictures import PictureStore
from tests.test_plate_gate import camera_doors, show


@pytest.fixture
def make_gate(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> Callable[..., App]:
    def make(**plates: Any) -> App:
        app = make_app(make_config(doors=camera_doors(repeat_s=0), plates=plates))
        attach_plates(app)
        app.start(threaded=False)
        app.loop.pump()
        return app

    return make


def register(gate: App, plate: str, unit: str = "B-12") -> Event:
    desk = Desk(ConsoleGate(gate, gate.events, GuardStore(gate.paths)), ZoneInfo("Asia/Shanghai"))
    form = VisitorForm(host_unit=unit, purpose="delivery", plate=plate, id_seen="yes")
    event = desk.register_visitor("g-1", form)
    gate.loop.pump()
    return event


def test_a_registered_car_is_still_let_in_after_a_restart(
    make_gate: Callable[..., App], clock: ManualClock
) -> None:
    gate = make_gate()
    event = register(gate, "粤B D12345")
    gate.stop()
    again = make_gate()  # a new App on the same state folder
    (waiting,) = again.reads.plates.visitors.waiting(clock.now())
    assert waiting.masked == "粤B****45" and waiting.unit == "B-12"
    assert waiting.seq == event.seq
    _, record = show(again, "粤BD12345")
    assert (
        record.granted and record.kind == "visitor" and record.holder_id == f"visitor-{event.seq}"
    )
    assert again.reads.plates.visitors.waiting(clock.now()) == []  # arrived
    again.stop()
    third = make_gate()
    assert third.reads.plates.visitors.waiting(clock.now()) == []  # arrived is kept too
    assert show(third, "粤BD12345")[1].granted  # the registration still holds


def test_a_registration_that_ended_while_the_gate_was_down_is_dropped(
    make_gate: Callable[..., App], clock: ManualClock
) -> None:
    gate = make_gate()
    register(gate, "粤BD12345")
    gate.stop()
    clock.advance(4 * 3600 + 1)  # [plates] visitor_hours later
    again = make_gate()
    assert again.reads.plates.visitors.waiting(clock.now()) == []
    assert not show(again, "粤BD12345")[1].granted
    with sqlite3.connect(again.paths.passes_db) as db:
        assert db.execute("SELECT count(*) FROM visitor_cars").fetchone() == (0,)


def test_the_pass_book_holds_no_plate_only_its_hmac_and_mask(
    make_gate: Callable[..., App],
) -> None:
    gate = make_gate()
    register(gate, "粤BD12345")
    with sqlite3.connect(gate.paths.passes_db) as db:
        rows: list[Any] = db.execute("SELECT * FROM visitor_cars").fetchall()
    assert len(rows) == 1 and rows[0][1] == "粤B****45"
    assert "12345" not in repr(rows) and "D123" not in repr(rows)


def test_the_hourly_upkeep_forgets_a_car_whose_registration_ended(
    make_gate: Callable[..., App], clock: ManualClock
) -> None:
    gate = make_gate()
    register(gate, "粤BD12345")
    register(gate, "京A12345", unit="C-3")
    clock.advance(3600)
    register(gate, "沪C88888")
    clock.advance(3 * 3600 + 1)  # the first two ended, the third holds
    gate.stores.passes.prune(clock.now())
    with sqlite3.connect(gate.paths.passes_db) as db:
        rows = db.execute("SELECT masked FROM visitor_cars").fetchall()
    assert rows == [("沪C****88",)]


def test_no_car_comes_back_once_visitor_hours_is_0(
    make_gate: Callable[..., App], clock: ManualClock
) -> None:
    gate = make_gate()
    register(gate, "粤BD12345")
    gate.stop()
    again = make_gate(visitor_hours=0)
    assert again.reads.plates.visitors.waiting(clock.now()) == []
    assert not show(again, "粤BD12345")[1].granted


def test_a_picture_past_its_retention_is_not_shown_even_before_the_pruning(
    tmp_path: Path,
) -> None:
    store = PictureStore(tmp_path / "p", 7)
    old, new = store.keep(b"\xff\xd8old\xff\xd9"), store.keep(b"\xff\xd8new\xff\xd9")
    assert old and new
    eight_days = time.time() - 8 * 86400
    os.utime(tmp_path / "p" / f"{old}.jpg", (eight_days, eight_days))
    assert store.get(old) is None  # no prune ran: the read itself keeps the promise
    assert not (tmp_path / "p" / f"{old}.jpg").exists()
    assert store.get(new) == b"\xff\xd8new\xff\xd9"
