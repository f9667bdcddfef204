"""A visitor pass carrying a car plate (issue 22): the office sends the plate's HMAC and
mask with the delivered pass; a camera's read of that plate is decided as the pass,
with its window, doors, uses and revocation, and recorded masked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent.console.anpr import attach_plates
from agent.core.clock import ManualClock
from agent.errors import Rejected
from agent.gate.app import App
from agent.link.signing import public_key_text
from agent.models.config import GateConfig
from agent.models.pass_codec import SignedPass
from agent.models.passes import PassPlate, PassUpdate, RevokedPass
from agent.store.plates import plate_credential
from tests.pass_rig import issue
from tests.test_plate_gate import camera_doors, show

PLATE = "京A12345"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def gate(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig], key: Ed25519PrivateKey
) -> App:
    mqtt = {"enabled": False, "office_public_key": public_key_text(key)}
    app = make_app(make_config(doors=camera_doors(), mqtt=mqtt))
    attach_plates(app)
    app.start(threaded=False)
    app.loop.pump()
    return app


def car(app: App, signed: SignedPass, plate: str = PLATE) -> PassPlate:
    found = plate_credential(plate, app.hasher)
    assert isinstance(found, tuple)
    return PassPlate(pass_id=signed.visitor_pass.id, plate=found[0], masked=found[1])


def deliver(app: App, signed: SignedPass, plate: str = PLATE) -> dict[str, Any]:
    update = PassUpdate(request_id="r", deliver=[signed.text], plates=[car(app, signed, plate)])
    return app.update_passes(update)


def pass_events(app: App) -> list[dict[str, Any]]:
    return [
        {"type": e.type.value, "door": e.door, **e.details}
        for e in app.events.recent(1000)
        if e.type.value in ("pass_used", "pass_refused", "access_granted", "access_denied")
    ]


def test_the_plate_of_a_delivered_pass_opens_inside_its_window_and_not_after(
    gate: App, key: Ed25519PrivateKey, clock: ManualClock
) -> None:
    now = clock.now()
    signed = issue(key, now, valid_until=now + timedelta(hours=1), uses=5, doors=["vehicle"])
    assert deliver(gate, signed) == {"revoked": 0, "delivered": 1, "plates": 1}
    outcome, record = show(gate, "京A·12345")
    assert outcome == "read" and record is None  # no card decision: the pass decided
    (used,) = pass_events(gate)
    assert used["type"] == "pass_used" and used["door"] == "vehicle"
    assert used["via"] == "plate" and used["card"] == "京A****45" and used["reader"] == "cam"
    assert used["pass_id"] == signed.visitor_pass.id and used["uses_left"] == 4
    assert gate.passes.store.used(signed.visitor_pass.id) == 1
    assert not gate.doors["vehicle"].locked  # the barrier moved, after the event
    clock.advance(3601)
    gate.loop.pump()  # the pulse ends
    assert gate.doors["vehicle"].locked
    show(gate, PLATE)
    assert gate.doors["vehicle"].locked
    refused = pass_events(gate)[-1]  # newest last
    assert refused["type"] == "pass_refused" and refused["reason"] == "expired"
    assert refused["card"] == "京A****45"
    assert all(PLATE not in str(e) and "12345" not in str(e) for e in pass_events(gate))


def test_the_plate_is_refused_at_a_door_the_pass_does_not_name(
    gate: App, key: Ed25519PrivateKey, clock: ManualClock
) -> None:
    signed = issue(key, clock.now(), doors=["main"])
    deliver(gate, signed)
    show(gate, PLATE)
    (refused,) = pass_events(gate)
    assert refused["type"] == "pass_refused" and refused["reason"] == "wrong_door"


def test_a_revoked_pass_no_longer_opens_for_its_plate(
    gate: App, key: Ed25519PrivateKey, clock: ManualClock
) -> None:
    signed = issue(key, clock.now())
    deliver(gate, signed)
    gate.update_passes(PassUpdate(request_id="r2", revoke=[RevokedPass(id=signed.visitor_pass.id)]))
    show(gate, PLATE)
    (refused,) = pass_events(gate)
    assert refused["type"] == "pass_refused" and refused["reason"] == "revoked"


def test_a_single_use_pass_opens_for_its_plate_once(
    gate: App, key: Ed25519PrivateKey, clock: ManualClock
) -> None:
    deliver(gate, issue(key, clock.now()))
    show(gate, PLATE)
    clock.advance(60)  # past the camera's repeat window: a second arrival
    show(gate, PLATE)
    first, second = pass_events(gate)
    assert first["type"] == "pass_used" and second["reason"] == "used_up"


def test_another_plate_is_an_ordinary_unknown_car(
    gate: App, key: Ed25519PrivateKey, clock: ManualClock
) -> None:
    deliver(gate, issue(key, clock.now()))
    _outcome, record = show(gate, "京B54321")
    assert record is not None and not record.granted
    assert [e["type"] for e in pass_events(gate)] == ["access_denied"]


def test_a_plate_must_belong_to_a_pass_of_the_same_message(
    gate: App, key: Ed25519PrivateKey, clock: ManualClock
) -> None:
    signed, other = issue(key, clock.now()), issue(key, clock.now())
    update = PassUpdate(request_id="r", deliver=[signed.text], plates=[car(gate, other)])
    with pytest.raises(Rejected, match="plates"):
        gate.update_passes(update)
    assert gate.passes.store.by_plate(car(gate, other).plate) is None
    with pytest.raises(ValidationError):
        PassPlate(pass_id=signed.visitor_pass.id, plate=PLATE, masked="京A****45")


# -- gate-office pass issue --plate, over mosquitto to a running gate ----------------------
@pytest.fixture
def running(make_app, make_config, broker, office_key) -> Any:  # type: ignore[no-untyped-def]
    from agent.core.clock import SystemClock
    from agent.link.wiring import attach
    from tests.conftest import mqtt_table
    from tests.reader_rig import wait_for

    config = {"doors": camera_doors(), "mqtt": mqtt_table(broker, office_key)}
    app: App = make_app(make_config(**config), clock=SystemClock())
    attach_plates(app)
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    wait_for(lambda: app.events.depth() == 0, "start-up event sent")
    return app


def let_in_by_plate(app: App) -> dict[str, Any]:
    """The running gate's camera reads PLATE: the ``pass_used`` event's details, which
    must say the plate let it in."""
    from drivers.anpr_sim import SimPlateCamera
    from tests.reader_rig import wait_for

    camera = app.devices.readers["cam"]
    assert isinstance(camera, SimPlateCamera)
    camera.show(PLATE, 0.95, b"\xff\xd8\xff\xd9")

    def used() -> list[Any]:
        return [e for e in app.events.recent(50) if e.type.value == "pass_used"]

    (event,) = wait_for(used, "the car let in with the pass")
    assert event.details["via"] == "plate"
    return dict(event.details)


def test_the_office_command_issues_a_pass_with_a_plate(  # type: ignore[no-untyped-def]
    running, broker, tmp_path, capsys
) -> None:
    import json

    from tests.test_office_cli import flags, run

    office = flags(broker.host, broker.port, tmp_path)
    issue_it = ["pass", "issue", "--unit", "A-12", "--until", "+2h", "--plate", "京a 12345"]
    code, _out, err, _ = run(capsys, *office, *issue_it)
    assert code != 0 and "--plate needs --push" in err
    site_key = ["--site-key", str(tmp_path / "site.key")]
    code, out, err, _ = run(capsys, *office, "--json", *issue_it, "--push", *site_key)
    assert code == 0, err
    issued = json.loads(out)
    assert issued["plate"] == "京A****45" and "12345" not in out
    assert issued["delivered"][0]["plates"] == 1
    assert let_in_by_plate(running)["pass_id"] == issued["pass"]["id"]
    code, _out, err, _ = run(capsys, *office, *issue_it[:-2], "--plate", "hello", "--push",
                             *site_key)  # fmt: skip
    assert code != 0 and "not a licence plate" in err


def test_a_pass_pushed_again_takes_its_car_along(  # type: ignore[no-untyped-def]
    running, broker, tmp_path, capsys
) -> None:
    """``pass push CODE --plate``: a pass delivered later (or to another gate) keeps its
    car; before, only ``pass issue --push`` could send a plate, and a re-push lost it."""
    import json

    from tests.test_office_cli import flags, run

    office = flags(broker.host, broker.port, tmp_path)
    code, out, err, _ = run(capsys, *office, "--json", "pass", "issue", "--unit", "A-12",
                            "--until", "+2h")  # fmt: skip
    assert code == 0, err
    issued = json.loads(out)
    site_key = ["--site-key", str(tmp_path / "site.key")]
    push = ["--json", "pass", "push", issued["code"], "--plate", "京a 12345", *site_key]
    code, out, err, _ = run(capsys, *office, *push)
    assert code == 0, err
    assert json.loads(out)["gates"][0]["plates"] == 1 and "12345" not in out
    assert let_in_by_plate(running)["pass_id"] == issued["pass"]["id"]
