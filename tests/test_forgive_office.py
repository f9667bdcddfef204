"""``gate-office cmd forgive --holder ID``: signed over a real mosquitto to a real App that
records ``passback_forgiven`` by ``office:<user>``; bad holders refused in one line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.config import GateConfig
from tests.conftest import mqtt_table
from tests.mqtt_helpers import TOPICS, office, wait_for
from tests.test_drill_office import cli
from tests.test_occupancy import DOORS, presence


@pytest.fixture
def gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig], broker: Any,
         office_key: Any) -> App:  # fmt: skip
    config = make_config(doors=DOORS, inputs={}, presence=presence(passback="hard"),
                         mqtt=mqtt_table(broker, office_key))  # fmt: skip
    app = make_app(config, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app


def forgiven(app: App) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(100) if e.type.value == "passback_forgiven"]


def test_the_office_forgives_a_holder(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path: Path, capsys
) -> None:
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "forgive", "--holder", "R-7",
                         "--reason", "lost card found", "--by", "amira")  # fmt: skip
    assert code == 0, err
    assert out.startswith("ok: holder R-7 forgiven at gate test-site/g1")
    assert "not known to be in any area" in out
    (event,) = forgiven(gate)
    assert event["by"] == "office:amira" and event["reason"] == "lost card found"
    assert event["holder_id"] == "R-7" and event["request_id"]
    record = gate.events.presence.get("R-7")
    assert record is not None and record.area is None
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "forgive")
    assert code == 2 and err.strip() == "error: cmd forgive needs --holder ID"
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "forgive", "--holder", "x" * 65)
    assert code == 2 and "--holder" in err and len(err.splitlines()) == 1


def test_forged_holders_on_the_topic_are_refused_in_one_line(  # type: ignore[no-untyped-def]
    gate, broker, office_key
) -> None:
    bad = [
        ({"holder_id": "x" * 65, "by": "office:a"}, "forgive: holder_id: String should have"),
        ({"holder_id": "R-1\x1b[2J", "by": "office:a"}, "forgive: holder_id: control characters"),
        ({"holder_id": "R-1", "by": "guard:mallory"}, "forgive: by: by is office:<user>"),
        ({"holder_id": "R-1"}, "forgive: by: Field required"),
        ({"holder_id": ["R-1"], "by": "office:a"}, "forgive: holder_id: Input should be"),
    ]
    with office(broker, office_key) as link:
        for n, (body, error) in enumerate(bad):
            link.send(TOPICS.cmd("forgive"), {"request_id": f"bad-{n}", **body})
            ack = wait_for(lambda: link.expect(TOPICS.cmd_ack, timeout=10), what="an ack")
            assert ack["request_id"] == f"bad-{n}" and not ack["ok"], ack
            assert ack["error"].startswith(error) and "\n" not in ack["error"], ack
    assert forgiven(gate) == []
