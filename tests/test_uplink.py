"""Events, status and outages against a real mosquitto."""

from __future__ import annotations

import json

from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.link.wiring import attach
from tests.conftest import enroll, mqtt_table
from tests.mqtt_helpers import TOPICS, collect_events, office, wait_for


def start_gate(make_app, make_config, broker, office_key, **mqtt):  # type: ignore[no-untyped-def]
    config = make_config(mqtt=mqtt_table(broker, office_key, **mqtt))
    app = make_app(config, clock=SystemClock())
    uplink = attach(app)
    app.start(threaded=True)
    assert uplink.conn.wait_connected(10), "gate never connected"
    return app, uplink


def threaded_tap(app: App, card: str) -> dict:  # type: ignore[type-arg]
    from dataclasses import asdict

    from agent.faces.simulate import SimControls

    return asdict(SimControls(app).tap(card, door="main", reader="main-in"))


def test_events_reach_the_office_and_are_marked_sent(
    make_app,
    make_config,
    broker,  # type: ignore[no-untyped-def]
    office_key,
) -> None:
    with office(broker) as link:
        app, _ = start_gate(make_app, make_config, broker, office_key)
        app.loop.run_sync(lambda: enroll(app, "uid:04A1B2C3"))
        threaded_tap(app, "uid:04A1B2C3")
        threaded_tap(app, "uid:DEADBEEF")
        events = collect_events(link, 3)
        kinds = sorted(e["type"] for e in events.values())
        assert kinds == ["access_denied", "access_granted", "agent_started"]
        granted = next(e for e in events.values() if e["type"] == "access_granted")
        assert granted["details"]["holder_id"] == "R-1" and granted["site"] == "test-site"
        assert "04A1B2C3" not in json.dumps(granted) and granted["details"]["card"].endswith("B2C3")
        wait_for(lambda: app.events.depth() == 0, what="outbox to drain")
        status = link.expect(TOPICS.status, lambda m: m.get("allowlist_version") == 1, 12)
        assert status is not None and status["online"] and status["outbox_depth"] >= 0


def test_outage_loses_nothing(make_app, make_config, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    with office(broker, client_id="office-outage"):
        pass  # a persistent office session now exists: the broker keeps events for it
    app, uplink = start_gate(make_app, make_config, broker, office_key)
    wait_for(lambda: app.events.depth() == 0, what="start-up event sent")
    broker.stop()
    wait_for(lambda: not uplink.conn.connected, what="gate to notice")
    for i in range(50):
        assert not threaded_tap(app, f"uid:0BAD{i:04X}")["granted"]
    assert app.events.depth() >= 50  # decisions and logging went on without the office
    broker.start()
    assert uplink.conn.wait_connected(15)
    wait_for(lambda: app.events.depth() == 0, what="backlog to drain")
    gate_ids = {e.id for e in app.events.recent(500)}
    with office(broker, client_id="office-outage") as link:  # the office comes back later
        events = collect_events(link, len(gate_ids))
    assert set(events) == gate_ids
    assert sum(e["type"] == "access_denied" for e in events.values()) == 50
    assert any(e["type"] == "repeated_denials" for e in events.values())


def test_backlog_drains_in_sequence_order(
    make_app,
    make_config,
    broker,  # type: ignore[no-untyped-def]
    office_key,
) -> None:
    with office(broker, client_id="office-order"):
        pass
    app, uplink = start_gate(make_app, make_config, broker, office_key)
    wait_for(lambda: app.events.depth() == 0, what="start-up event sent")
    broker.stop()
    wait_for(lambda: not uplink.conn.connected, what="disconnect")
    for i in range(300):
        threaded_tap(app, f"uid:0BAD{i:04X}")
    broker.start()
    wait_for(lambda: app.events.depth() == 0, timeout=40, what="backlog to drain")
    gate_ids = {e.id for e in app.events.recent(1000)}
    with office(broker, client_id="office-order") as link:
        events = collect_events(link, len(gate_ids), timeout=40)  # arrival order is kept
    assert set(events) == gate_ids
    denied = [e["seq"] for e in events.values() if e["type"] == "access_denied"]
    assert len(denied) == 300 and denied == sorted(denied)


def test_reconnects_within_seconds_after_a_long_outage(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key
) -> None:
    """With the default backoff, a long broker outage costs no more than ~3 s once it is
    back. Long: 12 s is six times the default cap (reconnect_max_s 2) and several attempts
    at it, the state a 40 s or a 40 min outage leaves the client in alike."""
    import time

    table = mqtt_table(broker, office_key)
    del table["reconnect_max_s"]  # the shipped default
    app = make_app(make_config(mqtt=table), clock=SystemClock())
    uplink = attach(app)
    app.start(threaded=True)
    assert uplink.conn.wait_connected(10)
    broker.stop()
    wait_for(lambda: not uplink.conn.connected, what="gate to notice")
    time.sleep(12)
    threaded_tap(app, "uid:0BAD0001")  # something to drain
    broker.start()
    back = time.monotonic()
    assert uplink.conn.wait_connected(3.5), "not reconnected within 3 s of the broker's return"
    wait_for(lambda: app.events.depth() == 0, timeout=3, what="backlog drained")
    assert time.monotonic() - back < 6


def test_reconnect_delays_are_spread_so_a_fleet_does_not_return_in_lockstep() -> None:
    from agent.link.mqtt import Handlers, MqttConnection, MqttSettings

    settings = MqttSettings(host="127.0.0.1", port=1, client_id="g", reconnect_max_s=2)
    delays = {MqttConnection(settings, Handlers()).reconnect_delays for _ in range(20)}
    assert len(delays) > 10
    assert all(0.75 <= low <= 1.0 and 1.5 <= high <= 2.0 for low, high in delays)
