"""A visitor pass carrying a car plate, issued at the desk (issue 22): the form's plate
field (normalised, hashed with the site key as the gates hash a camera's read, refused in
one line if not a plate), and the car let in by a running gate's camera over mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.console.anpr import attach_plates
from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.office.db import OfficeDb
from drivers.anpr_sim import SimPlateCamera
from tests.conftest import mqtt_table
from tests.office_events_rig import event_store_at, gate_with_doors
from tests.office_web_rig import db, office_web, signed_in
from tests.reader_rig import wait_for
from tests.test_office_web_visitors import _form, _unit, office_toml
from tests.test_plate_gate import JPEG, camera_doors

__all__ = ["db", "office_web"]


@pytest.fixture
def store(tmp_path: Path, office_key: Ed25519PrivateKey) -> Iterator[OfficeDb]:
    """g1 with doors main and vehicle; the office key to sign with; the gates' site key."""
    from agent.store.credentials import write_new_key

    key = tmp_path / "site.key"
    if not key.exists():
        write_new_key(key)
    where = {"GATE_OFFICE_PASS_KEY": str(tmp_path / "office.key"), "GATE_OFFICE_CONFIG": "",
             "GATE_OFFICE_SITE_KEY_FILE": str(key)}  # fmt: skip
    with event_store_at(tmp_path / "events.db", **where) as events:
        gate_with_doors(events, "test-site", "g1", "main", "vehicle")
        yield events


@pytest.mark.parametrize(
    ("plate", "says"),
    [
        ("hello", "Not a licence plate (e.g. 京A12345)."),
        ("12", "Not a licence plate (e.g. 京A12345)."),
    ],
)
def test_a_plate_that_is_not_one_is_refused_in_one_line(
    db: None, store: OfficeDb, plate: str, says: str
) -> None:
    from agent.office.web.visitors.models import VisitorPass

    answer = signed_in("clerk").post("/visitors/new/", _form(_unit(), plate=plate))
    assert answer.status_code == 400
    assert answer.context["form"].errors == {"plate": [says]}
    assert not VisitorPass.objects.exists()


def test_without_a_site_key_no_plate_is_taken(db: None, store: OfficeDb) -> None:
    from django.test import override_settings

    clerk = signed_in("clerk")
    with override_settings(GATE_OFFICE_SITE_KEY_FILE=""):
        answer = clerk.post("/visitors/new/", _form(_unit(), plate="京A12345"))
    assert answer.status_code == 400 and "no site key" in answer.content.decode()


def test_the_field_in_chinese(db: None, store: OfficeDb) -> None:
    clerk = signed_in("clerk", language="zh-hans")
    form = clerk.get("/visitors/new/").content.decode()
    assert "车牌" in form and "车牌识别摄像机" in form
    refused = clerk.post("/visitors/new/", _form(_unit(), plate="hello")).content.decode()
    assert "不是车牌号" in refused


@pytest.fixture
def gate(make_app, make_config, broker, office_key) -> Any:  # type: ignore[no-untyped-def]
    config = {"doors": camera_doors(), "mqtt": mqtt_table(broker, office_key)}
    app: App = make_app(make_config(**config), clock=SystemClock())
    attach_plates(app)
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    wait_for(lambda: app.events.depth() == 0, "start-up event sent")
    return app


def test_a_pass_with_a_plate_lets_that_car_in_at_a_running_gate(  # type: ignore[no-untyped-def]
    db: None, store: OfficeDb, gate, broker, tmp_path: Path
) -> None:
    from django.test import override_settings

    from agent.office.web.visitors.models import VisitorPass

    toml = office_toml(tmp_path, broker)
    clerk = signed_in("clerk")
    form = _form(_unit(), doors=["vehicle"], plate=" 京a·12345 ")  # delivered: it has a plate
    with override_settings(GATE_OFFICE_PASS_KEY="", GATE_OFFICE_CONFIG=str(toml)):
        issued = clerk.post("/visitors/new/", form, follow=True)
    said = [str(m) for m in issued.context["messages"]]
    assert said == ["Visitor pass issued.", "test-site/g1: pass delivered"], said
    made = VisitorPass.objects.get()
    assert made.plate_masked == "京A****45"  # the office keeps the mask, never the plate
    assert len(made.plate_credential) == 64 and "12345" not in made.plate_credential  # its HMAC
    page = clerk.get(f"/visitors/{made.pk}/").content.decode()
    assert "京A****45" in page and "12345" not in page
    camera = gate.devices.readers["cam"]
    assert isinstance(camera, SimPlateCamera)
    camera.show("京A12345", 0.95, JPEG)

    def used() -> list[Any]:
        return [e for e in gate.events.recent(50) if e.type.value == "pass_used"]

    (event,) = wait_for(used, "the car let in with the pass")
    assert event.door == "vehicle" and event.details["pass_id"] == made.pass_id
    assert event.details["via"] == "plate" and event.details["card"] == "京A****45"
    camera.show("京B54321", 0.95, JPEG)  # another car: no pass, an ordinary refusal
    wait_for(lambda: [e for e in gate.events.recent(50) if e.type.value == "access_denied"],
             "the other car refused")  # fmt: skip
    assert len(used()) == 1
