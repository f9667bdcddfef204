"""``gate-office serve`` as a process: a real gate's events stored once, receipted, and seen
through ``events list`` and ``fleet``; on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from agent.core.clock import SystemClock
from agent.core.kinds import EventType
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.config import GateConfig
from agent.office.cli import main as office_main
from tests.conftest import mqtt_table
from tests.mqtt_helpers import wait_for
from tests.office_proc import wait_subscribed
from tests.test_office_store import new_target, pg_database  # noqa: F401 (fixture)


def _office_toml(tmp_path: Path, broker: Any, office_key: Any, store: str, hook: Path) -> Path:
    key = tmp_path / "office-serve.key"
    key.write_bytes(
        office_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path = tmp_path / "office.toml"
    path.write_text(
        f'store = "{store}"\nsigning_key_file = "{key}"\n'
        f'[broker]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'[alerts]\nhook = ["sh", "-c", "cat >> {hook}"]\noffline_after_s = 2\n'
    )
    return path


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_serve_stores_receipts_and_answers_views(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kind: str,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = new_target(request, tmp_path, kind)
    hook = tmp_path / "alerts.jsonl"
    config = _office_toml(tmp_path, broker, office_key, store, hook)
    service = subprocess.Popen(
        [sys.executable, "-m", "agent.office.cli", "serve", "--config", str(config)],
        stderr=(tmp_path / "serve.log").open("w"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # the service's session subscribes before the gate speaks
        wait_subscribed(tmp_path / "serve.log", service)
        gate = make_app(
            make_config(mqtt=mqtt_table(broker, office_key, receipt_timeout_s=1)),
            clock=SystemClock(),
        )
        attach(gate)
        gate.start(threaded=True)
        for n in range(40):
            gate.record(EventType.EXIT_REQUEST, "main", n=n)
        gate.record(EventType.DOOR_FORCED_OPEN, "main")
        wait_for(lambda: gate.events.unreceived() == 0, timeout=30, what="every receipt")
        wait_for(lambda: hook.exists() and hook.read_text(), what="the alarm's hook")
        alert = json.loads(hook.read_text().splitlines()[0])
        assert alert["alert"] == "door_forced_open" and alert["gate"] == "g1"

        capsys.readouterr()
        assert office_main(["--db", store, "events", "list", "--limit", "1000", "--json"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert sorted(e["seq"] for e in listed) == list(range(1, gate.events.last_seq() + 1))
        assert office_main(["--db", store, "fleet", "--json"]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert (row["site"], row["gate"], row["online"]) == ("test-site", "g1", True)
        gate.stop()
        wait_for(lambda: "offline" in hook.read_text(), timeout=15, what="an offline alert")
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(15) == 0
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
