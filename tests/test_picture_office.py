"""``gate-office cmd picture``: the office asks a gate for one plate picture for an
incident, signed over a real mosquitto to a real App; the gate records ``picture_sent``
and the office keeps the picture named by the incident. Refused without an incident, and
with a clear error for a picture the gate no longer holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.console.anpr import attach_plates
from agent.core.clock import ManualClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.config import GateConfig
from tests.conftest import mqtt_table
from tests.test_drill_office import cli
from tests.test_plate_gate import JPEG, camera_doors


@pytest.fixture
def gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig], broker: Any,
         office_key: Any) -> App:  # fmt: skip
    config = make_config(doors=camera_doors(repeat_s=0), mqtt=mqtt_table(broker, office_key))
    app = make_app(config, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    attach_plates(app)
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app


def sent(app: App) -> list[dict[str, Any]]:
    return [e.details for e in app.events.recent(100) if e.type.value == "picture_sent"]


def test_the_office_gets_a_kept_picture_for_an_incident(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path: Path, capsys
) -> None:
    assert gate.pictures is not None
    picture = gate.pictures.keep(JPEG)
    assert picture is not None
    out_dir = tmp_path / "case"
    out_dir.mkdir()
    code, out, err = cli(broker, tmp_path, capsys, "cmd", "picture", "--picture", picture,
                         "--incident", "C-17", "--out", str(out_dir))  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"ok: picture {picture} from gate test-site/g1 for incident C-17")
    kept = out_dir / f"incident-C-17-picture-{picture}.jpg"
    assert kept.read_bytes() == JPEG and kept.stat().st_mode & 0o777 == 0o600
    (event,) = sent(gate)
    assert event["picture"] == picture and event["incident"] == "C-17"
    assert event["bytes"] == len(JPEG) and event["request_id"]


def test_no_incident_no_picture_and_a_gone_picture_is_a_clear_refusal(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path: Path, capsys
) -> None:
    assert gate.pictures is not None
    picture = gate.pictures.keep(JPEG)
    assert picture is not None
    code, _, err = cli(broker, tmp_path, capsys, "cmd", "picture", "--picture", picture)
    assert code == 2 and "needs --incident" in err and len(err.splitlines()) == 1
    gone = "0" * 32
    code, _, err = cli(broker, tmp_path, capsys, "cmd", "picture", "--picture", gone,
                       "--incident", "C-17")  # fmt: skip
    assert code != 0 and f"picture {gone} is not kept on this gate" in err
    assert sent(gate) == []
