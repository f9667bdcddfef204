"""Drills from the office: signed ``cmd/drill`` over a real mosquitto to a real App, the
``gate-office`` command line, one-line refusals, and the report read back from the store.

The gate runs its own thread on a manual clock that starts at the real time (signed
commands must be fresh); the drill's end comes from advancing it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.config import GateConfig
from agent.office.cli import main as office_main
from agent.office.db import open_store
from tests.conftest import mqtt_table
from tests.mqtt_helpers import TOPICS, office, wait_for
from tests.test_drills import DOORS, sim


@pytest.fixture
def gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig], broker: Any,
         office_key: Any) -> App:  # fmt: skip
    config = make_config(doors=DOORS, mqtt=mqtt_table(broker, office_key))
    app = make_app(config, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app


def cli(broker: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        *args: str) -> tuple[int, str, str]:  # fmt: skip
    code = office_main([
        "--host", broker.host, "--port", str(broker.port), "--site", "test-site", "--gate", "g1",
        "--key", str(tmp_path / "office.key"), "--db", str(tmp_path / "office.db"),
        "--timeout", "10", *args,
    ])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def later(app: App, seconds: float) -> None:
    """Advance the gate's clock; its loop thread runs what fell due before settle returns
    the second time."""
    clock = app.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)
    app.settle()
    app.settle()


def test_office_fire_drill_releases_flags_and_reports(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys
) -> None:
    code, out, err = cli(broker, tmp_path, capsys, "--json", "cmd", "drill", "--kind", "fire",
                         "--minutes", "10", "--note", "quarterly drill")  # fmt: skip
    assert code == 0, err
    ack = json.loads(out)
    assert ack["ok"] and ack["command"] == "drill" and ack["result"]["mode"] == "release"
    tag = {"id": ack["result"]["id"], "kind": "fire"}
    assert not gate.doors["main"].locked and not gate.doors["back"].locked
    assert gate.doors["side"].locked
    later(gate, 6.0)
    sim(gate, "main.contact").set(True)
    gate.settle()
    later(gate, 600.0 - 6.0)
    ended = next(e for e in gate.events.recent(50) if e.type.value == "drill_ended")
    report = ended.details
    assert report["reason"] == "time" and report["request_id"] == ack["request_id"]
    assert report["doors"]["main"]["opened_s"] == 6.0 and report["not_released"] == []
    assert report["note"] == "quarterly drill" and report["started_by"] == "office"
    flagged = [e for e in gate.events.recent(50) if "drill" in e.details]
    assert {e.type.value for e in flagged} == {"drill_started", "mode_changed", "door_opened",
                                               "drill_ended"}  # fmt: skip
    assert all(e.details["drill"] == tag for e in flagged)
    assert gate.doors["main"].locked and gate.mode.value == "normal"
    # the office keeps it: events list finds it, `drills` prints the report
    store = open_store(str(tmp_path / "office.db"))
    store.add_events([ended.model_dump(mode="json")])
    store.close()
    code, out, _ = cli(broker, tmp_path, capsys, "events", "list", "--type", "drill_ended")
    assert code == 0 and "drill_ended" in out
    code, out, _ = cli(broker, tmp_path, capsys, "drills")
    assert code == 0
    assert out.splitlines()[0].startswith("test-site/g1 ")
    assert "fire drill" in out and "back: released at +0.0 s" in out and "nobody opened" in out
    assert "every door released" in out


def test_stop_answers_with_the_report_and_bad_drills_are_refused_in_one_line(  # type: ignore[no-untyped-def]
    gate, broker, office_key, tmp_path, capsys
) -> None:
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "drill", "--stop")
    assert code == 1 and err.strip().endswith("no drill is running") and len(err.splitlines()) == 1
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "drill", "--kind", "fire",
                         "--minutes", "-3")  # fmt: skip
    assert code == 2 and "--minutes" in err and len(err.splitlines()) == 1
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "drill", "--kind", "evacuation",
                         "--minutes", "5")  # fmt: skip
    assert code == 0 and "evacuation drill" in out and "started at gate test-site/g1" in out
    sim(gate, "main.contact").set(True)
    gate.settle()
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "drill", "--stop")
    assert code == 0 and out.startswith("ok: drill stopped at gate test-site/g1"), err
    assert "main: released at +0.0 s" in out and "back: released at +0.0 s" in out
    assert gate.mode.value == "normal" and gate.doors["side"].locked
    # what the office command line would never send, straight onto the topic
    bad = [
        ({"kind": "flood", "minutes": 5}, "drill: kind: Input should be 'fire' or 'evacuation'"),
        ({"kind": "fire", "minutes": -3}, "drill: minutes: Input should be greater than or"),
        ({"kind": "fire", "minutes": 1000}, "drill: minutes: Input should be less than or"),
        ({"stop": True}, "no drill is running"),
        ({"stop": "yes"}, "drill: stop: Input should be a valid boolean"),
        ({"kind": "fire"}, "drill: a drill needs minutes or until"),
        ({"kind": "fire", "until": "2020-01-01T00:00:00+00:00"}, "a drill must end after now"),
    ]
    with office(broker, office_key) as link:
        for n, (body, error) in enumerate(bad):
            link.send(TOPICS.cmd("drill"), {"request_id": f"bad-{n}", **body})
            ack = wait_for(lambda: link.expect(TOPICS.cmd_ack, timeout=10), what="an ack")
            assert ack["request_id"] == f"bad-{n}" and not ack["ok"], ack
            assert ack["error"].startswith(error) and "\n" not in ack["error"], ack
    assert [e.type.value for e in gate.events.recent(100)].count("drill_started") == 1
