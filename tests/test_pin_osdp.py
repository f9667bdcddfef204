"""Card plus PIN on an OSDP reader (issue 21): libosdp's own PeripheralDevice sends the
card and then the keys over the secure channel, the whole App decides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from osdp import CardFormat, Event

from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.pins import hash_pin
from tests.conftest import BASE, enroll
from tests.reader_rig import wait_until
from tests.test_osdp import ADDRESS, Bench

UID = bytes.fromhex("04A224B2C35E80")


@pytest.fixture
def osdp(tmp_path: Path) -> Iterator[Bench]:
    setup = Bench(tmp_path)
    yield setup
    setup.close()


def test_a_card_and_its_pin_from_an_osdp_keypad_open_the_door(
    osdp: Bench, make_app: Callable[..., App], make_config: Callable[..., GateConfig]
) -> None:
    pd = osdp.pd(osdp.key)
    reader = {"id": "main-in", "driver": "osdp", "port": osdp.port, "address": ADDRESS,
              "scbk_file": str(osdp.key_file)}  # fmt: skip
    door = {**BASE["doors"][0], "readers": [reader], "pin": "always"}
    app = make_app(make_config(doors=[door, BASE["doors"][1]]), clock=SystemClock())
    enroll(app, "uid:04A224B2C35E80", pin_hash=hash_pin("7391", log2_n=12))
    app.start()
    assert wait_until(lambda: app.status().readers["main-in"].state == "ok", 20)
    card = {"event": Event.CardRead, "reader_no": 0, "direction": 0,
            "format": CardFormat.Unspecified, "length": len(UID) * 8, "data": UID}  # fmt: skip
    pd.submit_event(card)
    assert wait_until(lambda: "main-in" in app.pins._waiting, 10)
    pd.submit_event({"event": Event.KeyPress, "reader_no": 0, "data": b"9\x7f7391\x0d"})
    assert wait_until(lambda: any(e.type == "access_granted" for e in app.events.recent(5)), 10)
    granted = next(e for e in app.events.recent(5) if e.type == "access_granted")
    assert granted.details["reader"] == "main-in" and granted.details["holder_id"] == "R-1"
    assert not any(e.type == "keypad_entry" for e in app.events.recent(20))
