"""Pushes to a group of gates with one report, and a holder revoked everywhere by one patch."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.gate.app import App
from agent.link.wiring import attach
from agent.models.config import GateConfig
from agent.office.cli import main as office_main
from drivers.cards import parse_card
from tests.conftest import mqtt_table
from tests.mqtt_helpers import wait_for


def _gate(make_app: Callable[..., App], make_config: Callable[..., GateConfig], gate_id: str,
          broker: Any, office_key: Any) -> App:  # fmt: skip
    config = make_config(
        gate={"gate_id": gate_id}, storage={"dir": f"state-{gate_id}"},
        mqtt=mqtt_table(broker, office_key),
    )  # fmt: skip
    app = make_app(config, clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app


def _office(broker: Any, tmp_path: Path, *args: str) -> int:
    return office_main(
        ["--host", broker.host, "--port", str(broker.port), "--site", "test-site",
         "--key", str(tmp_path / "office.key"), "--db", str(tmp_path / "office.db"),
         "--timeout", "10", "--json", *args]
    )  # fmt: skip


def _write_key(tmp_path: Path, office_key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "office.key").write_bytes(
        office_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    )  # fmt: skip


def test_push_to_a_group_then_revoke_a_holder_everywhere(
    tmp_path: Path,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_key(tmp_path, office_key)
    g1 = _gate(make_app, make_config, "g1", broker, office_key)
    g2 = _gate(make_app, make_config, "g2", broker, office_key)
    for gate in (g1, g2):
        wait_for(lambda gate=gate: gate.events.depth() == 0, what="the gate's status")
    members = tmp_path / "members.csv"
    members.write_text("card,holder_id\nuid:04A10001,R-1\nuid:04A10002,R-1\nuid:04A10003,R-2\n")
    site_key = str(g1.config.security.credential_key_file)
    assert _office(broker, tmp_path, "allowlist", "push", str(members), "--site-key", site_key,
                   "--to", "test-site/g1,test-site/g2") == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert [(r["gate"], r["ok"], r["version"]) for r in report["gates"]] == [
        ("g1", True, 1), ("g2", True, 1)]  # fmt: skip

    g2.stop()  # one gate away: the others still get the revocation, the report says so
    assert _office(broker, tmp_path, "revoke", "--holder", "R-1", "--to", "all") == 3
    report = {r["gate"]: r for r in json.loads(capsys.readouterr().out)["gates"]}
    assert report["g1"]["ok"] and report["g1"]["removed"] == 2 and report["g1"]["version"] == 2
    assert not report["g2"]["ok"] and "offline" in report["g2"]["error"]
    card = g1.hasher.credential(parse_card("uid:04A10001"))
    assert g1.allowlist.lookup(card) is None and g1.allowlist.count() == 1


def test_revoking_a_holder_no_gate_has_is_an_error_naming_them(
    tmp_path: Path,
    make_app: Callable[..., App],
    make_config: Callable[..., GateConfig],
    broker: Any,
    office_key: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A typo in --holder used to read ``ok ... removed 0`` with exit 0."""
    _write_key(tmp_path, office_key)
    g1 = _gate(make_app, make_config, "g1", broker, office_key)
    wait_for(lambda: g1.events.depth() == 0, what="the gate's status")
    members = tmp_path / "members.csv"
    members.write_text("card,holder_id\nuid:04A10001,R-1\n")
    site_key = str(g1.config.security.credential_key_file)
    assert _office(broker, tmp_path, "allowlist", "push", str(members), "--site-key", site_key,
                   "--to", "test-site/g1") == 0  # fmt: skip
    capsys.readouterr()
    assert _office(broker, tmp_path, "revoke", "--holder", "NOBODY", "--to", "all") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NOBODY" in err and "test-site/g1" in err
    assert g1.allowlist.version() == 1 and g1.allowlist.count() == 1  # nothing was sent
    assert _office(broker, tmp_path, "revoke", "--holder", "NOBODY", "--allow-missing",
                   "--to", "test-site/g1") == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["gates"][0]["removed"] == 0
