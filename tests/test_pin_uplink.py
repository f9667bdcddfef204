"""A duress PIN's alarm goes to the office ahead of everything waiting (issue 21), on a
real mosquitto: the gate is offline while a backlog builds, then the duress comes."""

from __future__ import annotations

from typing import Any

from agent.core.clock import SystemClock
from agent.link.wiring import attach
from agent.store.pins import hash_pin
from drivers.sim import SimCardReader
from tests.conftest import BASE, enroll, mqtt_table
from tests.mqtt_helpers import collect_events, office, wait_for
from tests.test_uplink import threaded_tap

CARD = "uid:04A1B2C3"


def test_the_duress_alarm_is_sent_before_the_backlog(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key
) -> None:
    with office(broker, client_id="office-duress"):
        pass  # a persistent office session: the broker keeps events for it
    side = {**BASE["doors"][1], "pin": "always"}
    config = make_config(
        doors=[BASE["doors"][0], side],
        mqtt=mqtt_table(broker, office_key),
        pin={"duress": "last_digit_plus_one"},
    )
    app = make_app(config, clock=SystemClock())
    uplink = attach(app)
    app.start(threaded=True)
    assert uplink.conn.wait_connected(10)
    app.loop.run_sync(lambda: enroll(app, CARD, pin_hash=hash_pin("2468", log2_n=12)))
    wait_for(lambda: app.events.depth() == 0, what="start-up event sent")
    sent_before = app.events.last_seq()  # the office's session holds these already
    broker.stop()
    wait_for(lambda: not uplink.conn.connected, what="gate to notice")
    for i in range(150):  # a backlog waits for the office
        threaded_tap(app, f"uid:0BAD{i:04X}")
    reader = app.devices.readers["side-in"]
    assert isinstance(reader, SimCardReader)
    reader.present(CARD)
    app.settle()
    reader.keys("2469#")  # the duress variant of 2468
    wait_for(lambda: any(e.type == "duress" for e in app.events.recent(3)), what="duress")
    waiting = app.events.depth()
    assert waiting > 150
    broker.start()
    assert uplink.conn.wait_connected(15)
    with office(broker, client_id="office-duress") as link:
        events: dict[str, Any] = collect_events(link, waiting, timeout=40)
    arrived = [e["type"] for e in events.values() if e["seq"] > sent_before]
    assert arrived[0] == "duress", arrived[:5]
    assert arrived.count("duress") == 1 and "access_granted" in arrived
    duress = next(e for e in events.values() if e["type"] == "duress")
    assert duress["severity"] == "alarm" and duress["details"]["holder_id"] == "R-1"
