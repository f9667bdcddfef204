"""Plates through the gate's real read path (issue 22): a simulated ANPR camera at a
vehicle door, the allow-list holding plates as HMACs, events masked, pictures kept by id."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.console.anpr import attach_plates
from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from agent.store.importer import load_file
from agent.store.pictures import PictureStore
from agent.store.plates import plate_credential
from drivers.anpr_push import PushRefused
from drivers.anpr_sim import SimPlateCamera
from tests.conftest import BASE, enroll, tap

JPEG = b"\xff\xd8\xff\xe0picture\xff\xd9"


def camera_doors(**options: Any) -> list[dict[str, Any]]:
    first, second = (dict(d) for d in BASE["doors"])
    cam = {"id": "cam", "driver": "anpr-sim", "address": "127.0.0.1", **options}
    return [first, {**second, "id": "vehicle", "readers": [cam]}]


@pytest.fixture
def make_gate(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> Callable[..., App]:
    def make(**options: Any) -> App:
        app = make_app(make_config(doors=camera_doors(**options)))
        attach_plates(app)  # the pictures; [plates] is off: no server here
        app.start(threaded=False)
        app.loop.pump()
        return app

    return make


def list_plate(app: App, plate: str, holder: str = "R-1", **fields: Any) -> AllowListEntry:
    credential, masked = plate_credential(plate, app.hasher)  # type: ignore[misc]
    return AllowListEntry(credential=credential, masked=masked, holder_id=holder, **fields)


def show(app: App, plate: str, confidence: float = 0.95, picture: bytes | None = JPEG) -> Any:
    camera = app.devices.readers["cam"]
    assert isinstance(camera, SimPlateCamera)
    decided: list[Any] = []
    app.add_decision_listener(decided.append)
    try:
        outcome, read = camera.show(plate, confidence, picture)
        app.loop.pump()
    finally:
        app.reads.listeners.remove(decided.append)
    mine = [r for r in decided if read is not None and r.read_id == read.read_id]
    return outcome, (mine[0] if mine else None)


def details(app: App, type_: str) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(1000) if e.type.value == type_]


def test_a_listed_plate_raises_the_barrier_and_the_event_is_masked(
    make_gate: Callable[..., App],
) -> None:
    gate = make_gate()
    gate.allowlist.replace([list_plate(gate, "京A12345")], 1)
    outcome, record = show(gate, "京A·12345")
    assert outcome == "read" and record.granted and record.door == "vehicle"
    assert record.card == "京A****45" and record.holder_id == "R-1"
    (event,) = details(gate, "access_granted")
    assert event["plate"] is True and event["matched"] == "exact" and event["confidence"] == 0.95
    picture = event["picture"]
    assert isinstance(picture, str) and len(picture) == 32
    text = repr([e.model_dump() for e in gate.events.recent(100)])
    assert "12345" not in text.replace("****45", "")  # no raw plate anywhere in the log
    store = PictureStore(gate.paths.dir / "pictures", 7)
    assert store.get(picture) == JPEG
    _, other = show(gate, "粤BD12345")
    assert not other.granted and other.reason == "unknown"


def test_the_same_plate_twice_within_seconds_is_one_read(
    make_gate: Callable[..., App], clock: ManualClock
) -> None:
    gate = make_gate(repeat_s=5)
    gate.allowlist.replace([list_plate(gate, "京A12345")], 1)
    assert show(gate, "京A12345")[0] == "read"
    clock.advance(2)
    assert show(gate, "京A12345") == ("repeat", None)
    clock.advance(4)
    assert show(gate, "京A12345")[0] == "read"
    assert len(details(gate, "access_granted")) == 2


def test_below_the_threshold_no_decision_a_plate_unreadable_event(
    make_gate: Callable[..., App],
) -> None:
    gate = make_gate(min_confidence=0.9)
    gate.allowlist.replace([list_plate(gate, "京A12345")], 1)
    outcome, record = show(gate, "京A12345", confidence=0.6)
    assert outcome == "unreadable" and record is None
    assert details(gate, "access_granted") == [] and details(gate, "access_denied") == []
    (event,) = details(gate, "plate_unreadable")
    assert event["card"] == "京A****45" and event["confidence"] == 0.6 and event["picture"]
    assert gate.reads.plates.unreadable_seen


def test_a_plate_of_no_configured_format_is_refused_and_counted(
    make_gate: Callable[..., App],
) -> None:
    gate = make_gate()
    camera = gate.devices.readers["cam"]
    assert isinstance(camera, SimPlateCamera)
    with pytest.raises(PushRefused):
        camera.show("DROP TABLE", 0.99)
    gate.loop.pump()
    assert details(gate, "access_denied") == []


def test_a_tolerant_camera_forgives_one_ocr_confusion_only_for_a_listed_plate(
    make_gate: Callable[..., App],
) -> None:
    strict = make_gate()
    strict.allowlist.replace([list_plate(strict, "京A80123")], 1)
    assert not show(strict, "京AB0123")[1].granted  # off by default
    strict.stop()
    gate = make_gate(tolerant=True, repeat_s=0)
    gate.allowlist.replace([list_plate(gate, "京A80123")], 1)
    _, record = show(gate, "京AB0123")  # 8 read as B
    assert record.granted and record.card == "京A****23"
    assert details(gate, "access_granted")[-1]["matched"] == "tolerant"
    assert not show(gate, "京ABD123")[1].granted  # two confusions: no match
    # two listed plates one confusion away from the read: neither is guessed
    gate.allowlist.replace([list_plate(gate, "京A80123"), list_plate(gate, "京ABD123", "R-2")], 2)
    assert not show(gate, "京AB0123")[1].granted


def test_cards_and_plates_share_the_list_and_a_card_still_opens_its_door(
    make_gate: Callable[..., App],
) -> None:
    gate = make_gate()
    enroll(gate, "uid:04A224B2")
    assert tap(gate, "uid:04A224B2")["granted"]


def test_an_office_file_carries_plates_hashed(
    tmp_path: Path, make_config: Callable[..., GateConfig], make_app: Callable[..., App]
) -> None:
    config = make_config(doors=camera_doors())
    app = make_app(config)
    path = tmp_path / "list.csv"
    path.write_text("holder_id,card,plate,unit\nR-1,uid:04A224B2,,A-1\nR-1,,京A 12345,A-1\n")
    entries = load_file(path, config, app.hasher)
    assert [e.masked for e in entries] == ["uid:****24B2", "京A****45"]
    assert entries[1].credential == plate_credential("京A12345", app.hasher)[0]


def test_pictures_are_kept_for_the_configured_days_or_not_at_all(tmp_path: Path) -> None:
    none = PictureStore(tmp_path / "none", 0)
    assert none.keep(JPEG) is None
    store = PictureStore(tmp_path / "p", 7)
    old, new = store.keep(JPEG), store.keep(JPEG)
    assert old and new and store.get(old) == JPEG
    assert (tmp_path / "p" / f"{old}.jpg").stat().st_mode & 0o777 == 0o600
    eight_days = time.time() - 8 * 86400
    os.utime(tmp_path / "p" / f"{old}.jpg", (eight_days, eight_days))
    assert store.prune() == 1
    assert store.get(old) is None and store.get(new) == JPEG
    assert store.get("../../etc/passwd") is None


def test_a_visitors_car_registered_by_a_guard_is_let_in_while_it_is_registered(
    make_gate: Callable[..., App], clock: ManualClock
) -> None:
    from zoneinfo import ZoneInfo

    from agent.console.desk import Desk
    from agent.console.forms import VisitorForm
    from agent.console.wiring import ConsoleGate
    from agent.store.guards import GuardStore

    gate = make_gate(repeat_s=0)
    desk = Desk(ConsoleGate(gate, gate.events, GuardStore(gate.paths)), ZoneInfo("Asia/Shanghai"))
    assert not show(gate, "粤BD12345")[1].granted  # not registered yet
    form = VisitorForm(host_unit="B-12", purpose="delivery", plate="粤B D12345", id_seen="yes")
    event = desk.register_visitor("g-1", form)
    gate.loop.pump()
    assert event.details["plate"] == "粤B****45" and "12345" not in repr(event.details)
    (waiting,) = gate.reads.plates.visitors.waiting(clock.now())
    assert waiting.masked == "粤B****45" and waiting.unit == "B-12"
    _, record = show(gate, "粤BD12345")
    assert record.granted and record.kind == "visitor" and record.unit == "B-12"
    assert record.holder_id == f"visitor-{event.seq}"
    assert gate.reads.plates.visitors.waiting(clock.now()) == []  # arrived
    clock.advance(4 * 3600 + 1)  # [plates] visitor_hours later
    assert not show(gate, "粤BD12345")[1].granted


def test_sim_plate_through_the_control_socket_answers_with_the_decision(
    make_gate: Callable[..., App],
) -> None:
    from agent.faces.simulate import SimControls

    gate = make_gate()
    gate.allowlist.replace([list_plate(gate, "京A12345")], 1)
    sim = SimControls(gate)
    answer = sim.plate("vehicle", "京A12345", 0.93)
    assert answer["outcome"] == "read" and answer["granted"] and answer["card"] == "京A****45"
    assert sim.plate("vehicle", "京A12345", 0.93) == {"outcome": "repeat"}
    assert sim.plate("vehicle", "京B54321", 0.3) == {"outcome": "unreadable"}
    assert sim.plate("vehicle", "nonsense", 0.99) == {"outcome": "refused", "reason": "bad_plate"}
