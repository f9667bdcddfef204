"""The guard's vehicle page (issue 22) on a real console server: each read with its
picture and outcome, a guard's decision on an unreadable plate, visitors' cars waiting."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

import pytest

from agent.console.anpr import attach_plates
from agent.console.plates import attach_plate_screen
from agent.console.server import ConsolePart
from agent.console.wiring import attach_console
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.models.wire import AllowListEntry
from agent.store.plates import plate_credential
from drivers.anpr_sim import SimPlateCamera
from tests.conftest import BASE
from tests.console_helpers import Client, add_guards

JPEG = b"\xff\xd8\xff\xe0picture\xff\xd9"


@pytest.fixture
def console(
    make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> tuple[App, ConsolePart]:
    first, second = (dict(d) for d in BASE["doors"])
    cam = {"id": "cam", "driver": "anpr-sim", "address": "127.0.0.1", "min_confidence": 0.8}
    config = make_config(
        doors=[first, {**second, "id": "vehicle", "readers": [cam]}],
        console={"enabled": True, "port": 0, "session_minutes": 30, "idle_minutes": 30},
    )
    app = make_app(config)
    add_guards(app, "alice")
    plates = attach_plates(app)
    assert plates is not None
    part = attach_console(app)
    attach_plate_screen(part.console, app, plates)
    app.start()
    credential, masked = plate_credential("京A12345", app.hasher)  # type: ignore[misc]
    entry = AllowListEntry(credential=credential, masked=masked, holder_id="R-1", unit="A-1")
    app.allowlist.replace([entry], 1)
    return app, part


def show(app: App, plate: str, confidence: float) -> None:
    camera = app.devices.readers["cam"]
    assert isinstance(camera, SimPlateCamera)
    camera.show(plate, confidence, JPEG)
    app.settle()


def events(app: App, kind: str) -> list[Any]:
    return [e for e in app.events.recent(500) if e.type.value == kind]


def picture(client: Client, picture_id: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    conn.request("GET", f"/plates/picture?id={picture_id}", headers={"Cookie": cookie})
    answer = conn.getresponse()
    try:
        return answer.status, answer.read()
    finally:
        conn.close()


def test_each_vehicle_with_its_picture_and_outcome(console: tuple[App, ConsolePart]) -> None:
    app, part = console
    show(app, "京A12345", 0.95)
    guard = Client(part)
    guard.sign_in("alice")
    status, page = guard.get("/plates")
    assert status == 200 and "Entry at vehicle" in page and "resident R-1" in page
    (granted,) = events(app, "access_granted")
    assert f"/plates/picture?id={granted.details['picture']}" in page
    assert picture(guard, granted.details["picture"]) == (200, JPEG)
    assert picture(Client(part), granted.details["picture"])[0] in (303, 302)  # not signed in
    assert "12345" not in page.replace("****45", "")


def test_a_guard_decides_on_an_unreadable_plate(console: tuple[App, ConsolePart]) -> None:
    app, part = console
    relay: Any = app.hardware.relays["vehicle"]
    show(app, "京A12345", 0.4)
    (unreadable,) = events(app, "plate_unreadable")
    guard = Client(part)
    guard.sign_in("alice")
    page = guard.get("/plates")[1]
    assert "Plate not readable at vehicle" in page and 'name="decision"' in page
    status, _ = guard.post("/plates/decide", about=unreadable.seq, plate="", decision="admit")
    assert status == 400  # a guard letting a car in says which plate they read
    moves = len(relay.history)
    status, _ = guard.post("/plates/decide", about=unreadable.seq, plate="京A 12345",
                           decision="admit")  # fmt: skip
    assert status == 303
    (decided,) = events(app, "plate_decided")
    assert decided.details["guard"] == "alice" and decided.details["card"] == "京A****45"
    assert decided.details["about"] == unreadable.seq and decided.details["decision"] == "admit"
    assert len(relay.history) > moves  # the door the camera is at was opened
    assert events(app, "remote_open")[-1].details["by"] == "guard:alice"
    assert 'name="decision"' not in guard.get("/plates")[1]  # decided: no form any more


def test_visitors_cars_waiting_are_listed(console: tuple[App, ConsolePart]) -> None:
    app, part = console
    guard = Client(part)
    guard.sign_in("alice")
    guard.get("/visitor")
    guard.post("/visitor", host_unit="B-12", purpose="delivery", party_size="1",
               plate="粤B D12345", id_seen="yes")  # fmt: skip
    app.settle()
    page = guard.get("/plates")[1]
    assert "粤B****45 for unit B-12" in page
    show(app, "粤BD12345", 0.95)
    assert events(app, "access_granted")[-1].details["kind"] == "visitor"
    assert "car waiting." in guard.get("/plates")[1]  # arrived: no longer waiting
