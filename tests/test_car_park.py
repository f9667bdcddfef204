"""The car park (issue 22 item 5) in a real App: simulated ANPR cameras at a vehicle
barrier (gpiozero mock pins, the arming loop occupied), presence and occupancy counting
the vehicles, visitors' cars refused with ``car_park_full`` when it is full, and the
simulated LED sign showing each plate's outcome and the spaces left."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from agent.console.anpr import attach_plates
from agent.core.clock import ManualClock
from agent.core.decision import AllowEntry, DecisionContext, Reason, decide
from agent.core.occupancy import AreaCount, AreaLimit, refuses, tally
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from agent.office.db.base import EventRow
from agent.office.db.presence import move_of
from agent.store.plates import plate_credential
from drivers.anpr_sim import SimPlateCamera
from drivers.sign_sim import SimSign

RELAY, LOOP, ARMING = 17, 27, 22
PLATES = {"R-1": "京A12345", "R-2": "京A22345", "R-3": "京A32345", "V-1": "京B12345"}


def car_door() -> dict[str, Any]:
    cam = {"driver": "anpr-sim", "address": "127.0.0.1", "repeat_s": 0}
    return {
        "id": "car", "kind": "barrier", "pulse_s": 5.0,
        "readers": [{"id": "car-in", **cam}, {"id": "car-out", **cam}],
        "relay": {"driver": "gpio", "pin": RELAY},
        "barrier": {
            "presence_loop": {"driver": "gpio", "pin": LOOP, "bounce_s": None},
            "arming_loop": {"driver": "gpio", "pin": ARMING, "bounce_s": None},
            "require_arming": True, "sign": {"driver": "sim", "show_s": 5.0},
        },
    }  # fmt: skip


def presence(**area: Any) -> dict[str, Any]:
    park = {"capacity": 2, "counts": ["vehicle"], "when_full": "refuse_visitors", **area}
    return {
        "areas": {"car-park": park},
        "passages": {"car-in": {"from": "outside", "to": "car-park"},
                     "car-out": {"from": "car-park", "to": "outside"}},
    }  # fmt: skip


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


@pytest.fixture
def make_gate(
    pins: MockFactory, make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> Callable[..., App]:
    def make(**area: Any) -> App:
        config = make_config(doors=[car_door(), {"id": "main", "readers": [{"id": "main-in"}]}],
                             presence=presence(**area))  # fmt: skip
        app = make_app(config, pin_factory=pins)
        attach_plates(app)
        app.start(threaded=False)
        app.loop.pump()
        entries = []
        for holder, plate in PLATES.items():
            credential, masked = plate_credential(plate, app.hasher)  # type: ignore[misc]
            kind = "visitor" if holder.startswith("V") else "resident"
            entries.append(AllowListEntry(credential=credential, masked=masked,
                                          holder_id=holder, kind=kind))  # fmt: skip
        app.allowlist.replace(entries, 1)
        pins.pin(ARMING).drive_low()  # a car waits on the arming loop for every read
        app.loop.pump()
        return app

    return make


def drive_up(app: App, holder: str, reader: str = "car-in") -> Any:
    """The holder's car read by ``reader``'s camera: the decision record."""
    camera = app.devices.readers[reader]
    assert isinstance(camera, SimPlateCamera)
    decided: list[Any] = []
    app.add_decision_listener(decided.append)
    try:
        outcome, read = camera.show(PLATES[holder], 0.95)
        app.loop.pump()
    finally:
        app.reads.listeners.remove(decided.append)
    assert outcome == "read" and read is not None
    (record,) = [r for r in decided if r.read_id == read.read_id]
    return record


def sign(app: App) -> tuple[str, ...]:
    device = app.hardware.signs["car"]
    assert isinstance(device, SimSign)
    return device.showing


def test_cars_are_counted_and_a_full_car_park_refuses_visitors_only(
    make_gate: Callable[..., App], pins: MockFactory, clock: ManualClock
) -> None:
    gate = make_gate()
    assert sign(gate) == ("欢迎光临", "剩余车位 2")
    assert drive_up(gate, "R-1").granted and pins.pin(RELAY).state  # the barrier's relay
    assert sign(gate) == ("欢迎回家", "剩余车位 1")
    assert drive_up(gate, "R-2").granted
    park = gate.status(0).occupancy["car-park"]
    assert park.counts["vehicle"] == 2 and park.counts["resident"] == 0 and park.full
    assert sign(gate) == ("欢迎回家", "车位已满")
    refused = drive_up(gate, "V-1")
    assert not refused.granted and refused.reason == "car_park_full"
    assert sign(gate) == ("车位已满", "车位已满")
    assert drive_up(gate, "R-3").granted  # residents still come in (when_full says so)
    assert drive_up(gate, "R-1", "car-out").granted  # one leaves: the count follows
    clock.advance(6)
    gate.loop.pump()
    assert sign(gate) == ("欢迎光临", "车位已满")  # 2 of 2
    assert drive_up(gate, "R-2", "car-out").granted
    assert sign(gate)[1] == "剩余车位 1"
    assert drive_up(gate, "V-1").granted  # a space again: the visitor's car comes in
    assert gate.status(0).occupancy["car-park"].counts["vehicle"] == 2


def test_refuse_all_keeps_residents_out_too(make_gate: Callable[..., App]) -> None:
    gate = make_gate(capacity=1, when_full="refuse_all")
    assert drive_up(gate, "R-1").granted
    late = drive_up(gate, "R-2")
    assert not late.granted and late.reason == "car_park_full"


def test_admit_shows_full_and_refuses_nobody(make_gate: Callable[..., App]) -> None:
    gate = make_gate(capacity=1, when_full="admit")
    assert drive_up(gate, "R-1").granted and drive_up(gate, "V-1").granted
    assert gate.status(0).occupancy["car-park"].full
    assert sign(gate)[1] == "车位已满"


def test_a_guard_corrects_the_count_of_vehicles(make_gate: Callable[..., App]) -> None:
    gate = make_gate()
    gate.correct_occupancy("g-1", "car-park", "vehicle", count=2, reason="two parked by hand")
    gate.loop.pump()
    assert sign(gate)[1] == "车位已满"
    assert drive_up(gate, "V-1").reason == "car_park_full"


def test_capacity_counts_only_the_groups_it_names() -> None:
    people_only = AreaLimit(capacity=2, refuse_visitors=True, counts=("resident", "visitor"))
    count = AreaCount("compound", tally([("resident", 1), ("vehicle", 5)], ()), people_only)
    assert count.by_kind["vehicle"] == 5 and count.counted == 1 and not count.full
    assert count.free == 1
    everything = AreaCount("compound", count.by_kind, AreaLimit(capacity=2))
    assert everything.full and everything.free == 0
    assert not refuses(everything, "visitor")  # "admit": full, refuses nobody
    all_out = AreaCount("car-park", count.by_kind, AreaLimit(capacity=2, refuse_all=True))
    assert refuses(all_out, "resident") and refuses(all_out, "visitor")


def test_a_people_area_still_says_area_full() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    entry = AllowEntry(credential="c", holder_id="V-1", kind="visitor")  # type: ignore[arg-type]
    people = DecisionContext(door="main", now=now, local=now, area_full=True)
    assert decide(entry, people).reason is Reason.AREA_FULL
    park = DecisionContext(door="car", now=now, local=now, area_full=True, car_park=True)
    assert decide(entry, park).reason is Reason.CAR_PARK_FULL


def test_the_office_relays_a_plate_move_as_the_vehicles() -> None:
    def row(**details: Any) -> EventRow:
        body = {"granted": True, "holder_id": "R-1", "kind": "resident",
                "passage": ["outside", "car-park"], **details}  # fmt: skip
        at = datetime(2026, 12, 7, tzinfo=UTC)
        return EventRow(id="x", site="s", gate="east", seq=1, time=at, type="access_granted",
                        severity="info", door="car", details_json=json.dumps(body))  # fmt: skip

    plate, card = move_of(row(plate=True)), move_of(row())
    assert plate is not None and plate.kind == "vehicle" and plate.area == "car-park"
    assert card is not None and card.kind == "resident"  # a card at the barrier: a person


def test_status_says_a_car_park_refuses_all(make_gate: Callable[..., App]) -> None:
    gate = make_gate(capacity=1, when_full="refuse_all")
    drive_up(gate, "R-1")
    park = gate.status(0).occupancy["car-park"]
    assert park.car_park and park.full and park.refuses_all and park.refuses_visitors


def test_a_visitor_pass_car_gets_its_words_on_the_sign(
    pins: MockFactory,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    clock: ManualClock,
) -> None:
    """A car let in (or not) by a visitor's pass, not the allow-list, is shown on the sign
    as any plate read is: 欢迎来访, or 车位已满 when the car park refuses visitors."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from agent.link.signing import public_key_text
    from agent.models.passes import PassPlate, PassUpdate
    from tests.pass_rig import issue

    key = Ed25519PrivateKey.generate()
    mqtt = {"enabled": False, "office_public_key": public_key_text(key)}
    config = make_config(doors=[car_door(), {"id": "main", "readers": [{"id": "main-in"}]}],
                         presence=presence(capacity=1), mqtt=mqtt)  # fmt: skip
    app = make_app(config, pin_factory=pins)
    attach_plates(app)
    app.start(threaded=False)
    credential, masked = plate_credential(PLATES["R-1"], app.hasher)  # type: ignore[misc]
    app.allowlist.replace([AllowListEntry(credential=credential, masked=masked,
                                          holder_id="R-1")], 1)  # fmt: skip
    pins.pin(ARMING).drive_low()
    app.loop.pump()
    plate = "京C12345"
    signed = issue(key, clock.now(), uses=5, doors=["car"])
    car_credential, car_masked = plate_credential(plate, app.hasher)  # type: ignore[misc]
    car = PassPlate(pass_id=signed.visitor_pass.id, plate=car_credential, masked=car_masked)
    assert app.update_passes(PassUpdate(request_id="r", deliver=[signed.text], plates=[car]))
    camera = app.devices.readers["car-in"]
    assert isinstance(camera, SimPlateCamera)

    def pass_car() -> str:
        before = len(app.events.recent(1000))
        camera.show(plate, 0.95)
        app.loop.pump()
        (event,) = [e for e in app.events.recent(1000)[before:] if "pass_id" in e.details]
        return f"{event.type.value}:{event.details['reason']}"

    assert pass_car() == "pass_used:granted"
    assert sign(app)[0] == "欢迎来访"
    clock.advance(6)  # the outcome's 5 s are over
    app.loop.pump()
    assert sign(app)[0] == "欢迎光临"
    assert drive_up(app, "R-1").granted  # the resident's car fills the car park (1 of 1)
    clock.advance(6)
    app.loop.pump()
    assert sign(app) == ("欢迎光临", "车位已满")
    assert pass_car() == "pass_refused:area_full"
    assert sign(app)[0] == "车位已满"
