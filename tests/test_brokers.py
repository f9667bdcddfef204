"""Broker set-ups an office really runs: accounts with ACLs, mutual TLS, MQTT 5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.errors import ConfigError, RetryableError
from agent.link.mqtt import MqttSettings
from agent.link.topics import Topics
from agent.link.wiring import attach
from agent.office.client import OfficeLink
from tests.broker import Mosquitto, make_tls
from tests.conftest import mqtt_table
from tests.mqtt_helpers import TOPICS, collect_events, office, wait_for

OTHER = Topics("gate", "test-site", "g2")


def assert_refused(settings: MqttSettings) -> None:
    """The broker must not let this client in: a refused login is said as such (a usage
    error), a TLS handshake without a client certificate is a broker that cannot be reached."""
    refused = "cannot reach the broker|refused the office's login"
    with pytest.raises((RetryableError, ConfigError), match=refused), OfficeLink(settings, []):
        pass


def start_gate(make_app, make_config, mqtt: dict[str, Any]):  # type: ignore[no-untyped-def]
    app = make_app(make_config(mqtt=mqtt), clock=SystemClock())
    uplink = attach(app)
    app.start(threaded=True)
    return app, uplink


def test_accounts_and_acl_confine_each_gate(
    tmp_path: Path,
    make_app,
    make_config,  # type: ignore[no-untyped-def]
    office_key,
) -> None:
    acl = (
        TOPICS.acl("gate-g1")
        + "\n"
        + OTHER.acl("gate-g2")
        + "\nuser office\ntopic readwrite gate/#\n"
    )
    broker = Mosquitto(
        tmp_path / "acl-broker",
        users={"gate-g1": "pw1", "gate-g2": "pw2", "office": "pw0"},
        acl=acl,
    )
    broker.start()
    try:
        (tmp_path / "g1.pw").write_text("pw1\n")
        with office(broker, office_key, username="office", password="pw0") as link:
            app, uplink = start_gate(
                make_app,
                make_config,
                mqtt_table(
                    broker, office_key, username="gate-g1", password_file=str(tmp_path / "g1.pw")
                ),
            )
            assert uplink.conn.wait_connected(10)
            assert collect_events(link, 1)  # agent_started came through the gate's account

            # another gate's valid account, holding a genuinely signed open command for g1
            intruder = OfficeLink(
                MqttSettings(
                    host=broker.host,
                    port=broker.port,
                    client_id="intruder",
                    username="gate-g2",
                    password="pw2",
                ),
                [TOPICS.events],
                office_key,
            )
            with intruder:
                intruder.send(TOPICS.cmd("open"), {"request_id": "evil", "door": "main"})
                snooped = intruder.expect(TOPICS.events, timeout=1)
            assert link.expect(TOPICS.cmd_ack, timeout=2) is None  # the gate never saw it
            assert snooped is None  # and g2 cannot read g1's events
            assert app.doors["main"].locked

            link.send(TOPICS.cmd("open"), {"request_id": "ok", "door": "main"})
            assert link.expect(TOPICS.cmd_ack, timeout=10)["ok"]

        assert_refused(
            MqttSettings(
                host=broker.host,
                port=broker.port,
                client_id="bad",
                username="office",
                password="nope",
                reconnect_max_s=1,
            )
        )
    finally:
        broker.stop()


def test_mutual_tls(tmp_path: Path, make_app, make_config, office_key) -> None:  # type: ignore[no-untyped-def]
    tls = make_tls(tmp_path / "pki")
    broker = Mosquitto(tmp_path / "tls-broker", tls=tls)
    broker.start()
    try:
        app, uplink = start_gate(
            make_app,
            make_config,
            mqtt_table(
                broker,
                office_key,
                port=broker.port,
                tls={
                    "ca_file": str(tls.ca),
                    "cert_file": str(tls.client_cert),
                    "key_file": str(tls.client_key),
                },
            ),
        )
        assert uplink.conn.wait_connected(10), broker.log()[-2000:]
        with office(
            broker,
            office_key,
            ca_file=tls.ca,
            cert_file=tls.office_cert,
            key_file=tls.office_key,
            tls=True,
        ) as link:
            link.send(TOPICS.cmd("status"), {"request_id": "s1"})
            assert link.expect(TOPICS.cmd_ack, timeout=10)["ok"]
            wait_for(lambda: app.events.depth() == 0, what="events over TLS")
        assert_refused(
            MqttSettings(
                host=broker.host,
                port=broker.port,
                client_id="nc",
                ca_file=tls.ca,
                tls=True,
                reconnect_max_s=1,
            )
        )
    finally:
        broker.stop()


def test_mqtt5_gate(broker, make_app, make_config, office_key) -> None:  # type: ignore[no-untyped-def]
    with office(broker, office_key, protocol="5", client_id="office-v5") as link:
        _app, uplink = start_gate(
            make_app, make_config, mqtt_table(broker, office_key, protocol="5")
        )
        assert uplink.conn.wait_connected(10)
        assert collect_events(link, 1)
        link.send(TOPICS.cmd("lockdown"), {"request_id": "v5", "on": True})
        assert link.expect(TOPICS.cmd_ack, timeout=10)["result"]["mode"] == "lockdown"


def test_broker_restart_republishes_status(broker, make_app, make_config, office_key) -> None:  # type: ignore[no-untyped-def]
    _app, uplink = start_gate(make_app, make_config, mqtt_table(broker, office_key))
    assert uplink.conn.wait_connected(10)
    broker.restart()
    wait_for(lambda: uplink.conn.connected, what="reconnect after broker restart")
    with office(broker, office_key, client_id="office-rs") as link:
        status = link.expect(TOPICS.status, lambda m: m.get("online"), timeout=10)
    assert status is not None
