"""Reader lanes: a reader flooding the gate (a serial scanner on a pty sending 10,000 lines)
neither holds up a card at the other door nor goes unreported; lanes are served in turn."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import ManualClock, SystemClock
from agent.core.kinds import ALARMS, EventType
from agent.core.loop import CoreLoop
from agent.gate.app import App
from agent.gate.lanes import LANE_DEPTH, ReaderLanes
from agent.gate.ports import DecisionRecord
from agent.models.config import GateConfig
from drivers.cards import CardRead, parse_card
from drivers.sim import SimCardReader
from tests.conftest import enroll
from tests.pass_rig import pass_config
from tests.reader_rig import wait_for
from tests.test_pass_scanners import pty  # noqa: F401 - the scanner's pty fixture
from tests.test_serial_reader import Pty

CARD = "uid:04A224B2"
FLOOD_LINES = 10_000
TAPS = 20


def flood(port: Pty, lines: int) -> threading.Thread:
    """Write ``lines`` distinct lines into the scanner's pty from a thread of its own."""

    def write() -> None:
        batch = b"".join(b"GUESS-%06d\r\n" % n for n in range(lines))
        view = memoryview(batch)
        while view:
            try:
                view = view[os.write(port.master, view[:4096]) :]
            except OSError:
                return  # the test ended first

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_flooding_scanner_does_not_hold_up_a_card_at_the_other_door(  # type: ignore[no-untyped-def]
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    pty,  # noqa: F811 - the fixture
) -> None:
    port, link = pty
    overrides: dict[str, Any] = pass_config(Ed25519PrivateKey.generate())
    overrides["doors"][0]["readers"][1] = {
        "id": "main-qr", "driver": "scanner-serial", "port": str(link), "retry_min_s": 0.02,
    }  # fmt: skip
    app = make_app(make_config(**overrides), clock=SystemClock())
    app.start(threaded=True)
    enroll(app, CARD)
    wait_for(lambda: app.status(0).readers["main-qr"].state == "ok", "the scanner connected")
    decided: dict[int, DecisionRecord] = {}
    app.add_decision_listener(lambda record: decided.__setitem__(record.read_id, record))
    side = app.devices.readers["side-in"]
    assert isinstance(side, SimCardReader)

    writer = flood(port, FLOOD_LINES)
    waits: list[float] = []
    for _ in range(TAPS):
        read = side.present(CARD)
        record = wait_for(partial(decided.get, read.read_id), "the side door tap", 30)
        assert record.door == "side" and record.granted
        waits.append(time.monotonic() - read.at)
        time.sleep(0.01)
    writer.join(60)

    flood_alarms = wait_for(
        lambda: [e for e in app.events.recent(500) if e.type is EventType.READER_FLOOD],
        "a reader_flood alarm",
    )
    assert len(flood_alarms) == 1  # once a minute at most
    (alarm,) = flood_alarms
    assert alarm.door == "main" and alarm.details["reader"] == "main-qr"
    assert alarm.details["dropped"] >= 1
    assert EventType.READER_FLOOD in ALARMS  # it reaches the office and the console as one
    assert len(waits) == TAPS  # every tap at the other door was decided


def _lanes(depth: int = 4) -> tuple[ManualClock, CoreLoop, ReaderLanes, list[Any], list[Any]]:
    clock = ManualClock()
    loop = CoreLoop(clock, lambda exc, where: None)
    emitted: list[Any] = []
    lanes = ReaderLanes(loop, clock, {"a": "d1", "b": "d2"}, lambda *a, **k: emitted.append((a, k)),
                        depth=depth)  # fmt: skip
    handled: list[Any] = []

    def on_reads(reads: list[CardRead], more: Callable[[], list[CardRead]]) -> None:
        batch = list(reads)
        while extra := more():
            batch += extra
        handled.append([r.reader for r in batch])

    lanes.on_reads = on_reads
    return clock, loop, lanes, handled, emitted


def _read(reader: str, n: int) -> CardRead:
    return CardRead(reader=reader, card=parse_card(CARD), at=float(n), read_id=n)


def test_lanes_take_turns_and_a_full_lane_drops_and_reports_once() -> None:
    clock, loop, lanes, handled, emitted = _lanes(depth=4)
    for n in range(10):
        lanes.put("a", _read("a", n))  # a flood: 4 kept, 6 dropped
    lanes.put("b", _read("b", 100))
    loop.pump()
    clock.advance(1.0)
    loop.pump()
    # b's read waited behind one of a's at most, though a had three more waiting
    assert handled[0] == ["a"] and handled[1] == ["b", "a"]
    assert handled[2:] == [["a"], ["a"]]
    flooded = [k for (a, k) in emitted if a[0] is EventType.READER_FLOOD]
    assert flooded == [{"reader": "a", "dropped": 6, "queue": 4}]  # the next in a minute
    marks = lanes.marks()
    assert marks == {"a": 4, "b": 1} and lanes.passed(marks)


def test_more_than_a_lanes_depth_from_a_person_is_never_dropped() -> None:
    _clock, loop, lanes, handled, emitted = _lanes()
    for n in range(LANE_DEPTH * 3):
        lanes.put("a", _read("a", n))
        loop.pump()  # a person's pace: each read is handled before the next
    assert len(handled) == LANE_DEPTH * 3 and not emitted
