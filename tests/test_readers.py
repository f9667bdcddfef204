"""The gate's side of readers: faults and restorations, tamper, feedback, enrolment."""

from __future__ import annotations

import threading

import pytest

from agent.errors import GateError
from agent.gate.app import App
from drivers.base import Feedback
from drivers.sim import SimCardReader
from tests.conftest import enroll, tap, types

CARD = "uid:04A1B2C3"


def sim_reader(app: App, name: str = "main-in") -> SimCardReader:
    reader = app.devices.readers[name]
    assert isinstance(reader, SimCardReader)
    return reader


def test_a_reader_fault_and_its_restoration_are_events_and_status(app: App) -> None:
    reader = sim_reader(app)
    assert app.status().readers["main-in"].state == "ok"
    since = app.events.last_seq()
    reader.unplug("USB reader gone")
    reader.unplug("USB reader gone")  # a fault is reported once, not per retry
    app.loop.pump()
    status = app.status().readers["main-in"]
    assert status.state == "fault" and status.last_error == "USB reader gone"
    assert types(app, since) == ["reader_fault"]
    fault = app.events.recent(1)[0]
    assert fault.severity == "alarm" and fault.details["reader"] == "main-in"
    assert fault.door == "main"
    reader.replug()
    app.loop.pump()
    assert types(app, since) == ["reader_fault", "reader_restored"]
    assert app.status().readers["main-in"].state == "ok"
    # the other reader and the doors kept working throughout
    enroll(app, CARD, doors=None)
    assert tap(app, CARD, "side-in")["granted"]


def test_tamper_power_and_keypad_are_events(app: App) -> None:
    reader = sim_reader(app)
    since = app.events.last_seq()
    reader.tamper(True)
    reader.tamper(False)
    reader.power(True)
    reader.power(False)
    reader.keys("1234")
    app.loop.pump()
    assert types(app, since) == [
        "reader_tamper",
        "reader_tamper_cleared",
        "reader_power_fault",
        "reader_power_restored",
        "keypad_entry",
    ]
    tamper, _, power, _, keypad = app.events.recent(5)
    assert tamper.severity == "alarm" and power.severity == "alarm"
    assert keypad.details == {"reader": "main-in", "length": 4}  # never the keys themselves


def test_feedback_follows_the_decision(app: App) -> None:
    reader = sim_reader(app)
    enroll(app, CARD)
    assert tap(app, CARD)["granted"]
    assert not tap(app, "uid:DEADBEEF")["granted"]
    assert [shown for _t, shown in reader.shown] == [Feedback.GRANT, Feedback.DENY]


def test_status_shows_each_reader_and_its_last_read(app: App) -> None:
    enroll(app, CARD)
    before = app.status().readers["main-in"]
    assert before.last_read is None and before.driver == "sim" and before.door == "main"
    tap(app, CARD)
    assert app.status().readers["main-in"].last_read == app.clock.now()


def test_learn_shows_the_next_card_without_deciding_it(make_app) -> None:  # type: ignore[no-untyped-def]
    gate = make_app()
    gate.start()
    enroll(gate, CARD)
    found: list[object] = []
    waiter = threading.Thread(target=lambda: found.append(gate.learn("main-in", 10)))
    waiter.start()
    reader = sim_reader(gate)
    deadline = threading.Event()
    while not found and not deadline.wait(0.02):
        if gate.loop.run_sync(lambda: "main-in" in gate.reads.learning):
            reader.present("04:a1:b2:c3")
            break
    waiter.join(10)
    learned = found[0]
    assert learned.card == "uid:04A1B2C3" and learned.masked == "uid:****B2C3"  # type: ignore[attr-defined]
    gate.settle()
    kinds = types(gate)
    assert "card_learned" in kinds and "access_granted" not in kinds
    assert not relay_moved(gate)


def relay_moved(gate: App) -> bool:
    relay = gate.doors["main"].relay
    return any(energised for _t, energised in relay.history)  # type: ignore[attr-defined]


def test_learn_gives_up_and_names_unknown_readers(app: App) -> None:
    with pytest.raises(GateError, match="no reader 'roof'"):
        app.learn("roof", 1)
    with pytest.raises(GateError, match=r"within 0\.05 s"):
        app.learn("main-in", 0.05)
    assert "main-in" not in app.reads.learning  # the next card is decided as usual


def test_concurrent_taps_are_each_answered_with_their_own_decision(make_app) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    from agent.faces.simulate import SimControls

    gate = make_app()
    gate.start()
    enroll(gate, CARD)  # one card enrolled, the others unknown: a mix-up would show
    sim = SimControls(gate)
    cards = [CARD, "uid:0BAD0001", "uid:0BAD0002", "uid:0BAD0003"]

    def tap_many(card: str) -> list[tuple[str, str, bool]]:
        return [(card, (r := sim.tap(card, door="main")).card, r.granted) for _ in range(150)]

    with ThreadPoolExecutor(4) as pool:
        results = [row for rows in pool.map(tap_many, cards) for row in rows]
    assert len(results) == 600
    for card, answered, granted in results:
        assert answered[-4:] == card[-4:], (card, answered)  # its own card, masked
        if card != CARD:
            assert not granted  # an unknown card never gets another card's grant
