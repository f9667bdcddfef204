"""The office link in the gate's status and in its log, against a real mosquitto."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.faces.control import ControlServer, request
from agent.faces.simulate import SimControls
from agent.gate.app import App
from agent.link.wiring import GateLink, attach
from tests.broker import Mosquitto
from tests.conftest import mqtt_table
from tests.mqtt_helpers import wait_for

LINK = "agent.link"


def start_gate(app: App) -> GateLink:
    """The gate with its office link and its control socket, on real threads."""
    link = attach(app)
    app.add_part(ControlServer(SimControls(app), app.paths.control_socket))
    app.start(threaded=True)
    return link


def link_status(app: App) -> dict[str, Any]:
    """What ``gate-agent status --json`` shows: the control socket's status op."""
    reply = request(app.paths.control_socket, "status")
    assert reply["ok"], reply
    office_link: dict[str, Any] = reply["result"]["office_link"]
    return office_link


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and r.name.startswith(LINK) and "office link" in r.getMessage()
    ]


def test_a_gate_started_without_its_broker_says_why_once_then_when_it_is_back(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger=LINK)
    broker.stop()
    app = make_app(make_config(mqtt=mqtt_table(broker, office_key)), clock=SystemClock())
    link = start_gate(app)
    wait_for(lambda: link_status(app)["failed_attempts"] >= 3, what="three failed attempts")

    down = link_status(app)
    assert down["enabled"] and not down["connected"] and down["connected_since"] is None
    assert down["last_error"] == "connection refused" and down["last_error_at"]
    assert down["broker"] == f"127.0.0.1:{broker.port}"
    assert down["backlog"] >= 1  # agent_started waits for the office
    assert down["oldest_waiting_age_s"] >= 0 and down["last_event_acked"] is None
    warnings = messages(caplog, logging.WARNING)
    assert warnings == [
        f"office link: cannot connect to {down['broker']}: connection refused;"
        " retrying (repeats are logged at DEBUG)"
    ]
    repeats = messages(caplog, logging.DEBUG)
    assert len(repeats) >= 2 and repeats[-1].endswith(
        f"({down['failed_attempts']} failed attempts)"
    )

    broker.start()
    assert link.conn.wait_connected(15)
    wait_for(lambda: link_status(app)["backlog"] == 0, what="backlog to drain")
    up = link_status(app)
    assert up["connected"] and up["connected_since"] and up["failed_attempts"] == 0
    assert up["last_error"] == "connection refused"  # kept, with its time, for the record
    assert up["last_event_acked"]["seq"] == app.events.last_seq()
    assert up["last_event_acked"]["time"] and up["oldest_waiting_age_s"] is None
    (back,) = [m for m in messages(caplog, logging.INFO) if " up " in m]
    assert back.startswith("office link up after ") and "failed attempts" in back
    assert len(messages(caplog, logging.WARNING)) == 1  # nothing more was warned about


def test_a_lost_broker_is_logged_with_its_reason_and_shown_in_status(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key, caplog
) -> None:
    caplog.set_level(logging.INFO, logger=LINK)
    app = make_app(make_config(mqtt=mqtt_table(broker, office_key)), clock=SystemClock())
    link = start_gate(app)
    assert link.conn.wait_connected(10)
    assert messages(caplog, logging.INFO) == [
        f"office link up (connected to 127.0.0.1:{broker.port})"
    ]
    broker.stop()
    wait_for(lambda: not link_status(app)["connected"], what="the gate to notice")
    status = link_status(app)
    assert status["last_error"] == "connection lost" and status["disconnected_since"]
    assert any(
        "office link down" in m and "connection lost" in m
        for m in messages(caplog, logging.WARNING)
    )


def test_a_refused_login_is_one_warning_with_the_brokers_answer(  # type: ignore[no-untyped-def]
    make_app, make_config, office_key, tmp_path, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger=LINK)
    guarded = Mosquitto(tmp_path / "guarded", users={"office": "secret"})
    guarded.start()
    try:
        app = make_app(make_config(mqtt=mqtt_table(guarded, office_key)), clock=SystemClock())
        start_gate(app)
        wait_for(lambda: link_status(app)["failed_attempts"] >= 2, what="two refusals")
        assert link_status(app)["last_error"] == "refused: not authorized"
        (warning,) = messages(caplog, logging.WARNING)
        assert warning.endswith("refused: not authorized; retrying (repeats are logged at DEBUG)")
        app.stop()
    finally:
        guarded.stop()


def test_without_a_link_status_says_it_is_off(app: App) -> None:
    status = app.status(0)
    assert status.office_link is not None and not status.office_link.enabled
    assert not status.office_link.connected and status.office_link.backlog == 0


def test_status_text_says_how_the_office_link_is() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from agent.faces.local import office_link_line
    from agent.models.messages import AckedEvent, OfficeLinkStatus

    zone = ZoneInfo("Africa/Cairo")
    t = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    down = OfficeLinkStatus(
        enabled=True,
        broker="10.0.0.2:8883",
        disconnected_since=t,
        last_error="connection refused",
        failed_attempts=4,
        backlog=12,
        oldest_waiting_age_s=95.2,
    )
    assert office_link_line(down, zone) == (
        "DOWN (10.0.0.2:8883) since 2026-01-01T12:00:00+02:00: connection refused, "
        "4 failed attempt(s); 12 waiting, oldest 95 s"
    )
    up = down.model_copy(
        update={"connected": True, "connected_since": t, "backlog": 0,
                "last_event_acked": AckedEvent(seq=41, time=t)}
    )  # fmt: skip
    assert office_link_line(up, zone) == (
        "connected to 10.0.0.2:8883 since 2026-01-01T12:00:00+02:00; last event acked: seq 41"
    )
    assert office_link_line(OfficeLinkStatus(enabled=False), zone).startswith("off")
