"""The office's side of the console: guard accounts pushed over MQTT (signed, swapped whole,
acked), and incidents read back from the office's store with ``gate-office incidents``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.core.clock import SystemClock
from agent.link.wiring import attach
from agent.office.cli import main as office_main
from agent.office.db import open_store
from agent.store.guards import GuardStore
from agent.store.passwords import hash_password, verify_password
from tests.conftest import mqtt_table
from tests.test_office_link import office_cli


@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    app = make_app(make_config(mqtt=mqtt_table(broker, office_key)), clock=SystemClock())
    link = attach(app)
    app.start(threaded=True)
    assert link.conn.wait_connected(10)
    return app


def test_guard_accounts_pushed_signed_swapped_and_acked(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path: Path, capsys
) -> None:
    accounts = tmp_path / "guards.csv"
    digest = hash_password("dana's long password")
    accounts.write_text("guard_id,password,password_hash,disabled\n"
                        "carol,carol's long password,,\n"
                        f"dana,,{digest},\n"
                        "erin,erin's long password,,yes\n")  # fmt: skip
    assert office_cli(broker, tmp_path, "guards", "push", str(accounts), "--version", "5") == 0
    assert "holds guard accounts version 5 (3 account(s))" in capsys.readouterr().out
    store = GuardStore(gate.paths)
    carol, erin = store.account("carol"), store.account("erin")
    assert carol is not None and verify_password("carol's long password", carol.password_hash)
    assert erin is not None and erin.disabled
    assert "long password" not in gate.paths.guards.read_text()  # only hashes left the office
    updated = [e for e in gate.events.recent(20) if e.type.value == "guards_updated"]
    assert updated[-1].details == {"version": 5, "count": 3}
    # an older push is refused and changes nothing
    accounts.write_text("guard_id,password\nmallory,mallory's password\n")
    assert office_cli(broker, tmp_path, "guards", "push", str(accounts), "--version", "4") == 1
    assert "not newer than 5" in capsys.readouterr().err
    assert store.account("mallory") is None and store.account("carol") is not None


def test_a_bad_accounts_file_is_refused_before_sending(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path: Path, capsys
) -> None:
    accounts = tmp_path / "guards.csv"
    accounts.write_text("guard_id,password\nCarol Smith,long enough password\nok,short\n")
    assert office_cli(broker, tmp_path, "guards", "push", str(accounts)) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err and "nothing was sent" in err
    assert GuardStore(gate.paths).version() is None
    dupes = tmp_path / "dupes.json"
    dupes.write_text('[{"guard_id": "a", "password": "long enough password"},'
                     ' {"guard_id": "a", "password": "long enough password"}]')  # fmt: skip
    assert office_cli(broker, tmp_path, "guards", "push", str(dupes)) == 2
    assert "listed twice" in capsys.readouterr().err


def test_a_forged_guard_push_is_refused(gate, broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from agent.link.signing import seal
    from tests.mqtt_helpers import TOPICS, office

    mallory = {"guard_id": "mallory", "password_hash": hash_password("x")}
    body = {"version": 9, "guards": [mallory]}
    with office(broker, client_id="forger") as link:
        forged = seal(Ed25519PrivateKey.generate(), TOPICS.guards_set, body, datetime.now(UTC))
        link.send_raw(TOPICS.guards_set, forged)
        ack = link.expect(TOPICS.guards_ack, timeout=10)
    assert ack is not None and ack["ok"] is False and "bad_signature" in ack["error"]
    assert GuardStore(gate.paths).account("mallory") is None
    assert GuardStore(gate.paths).version() is None


T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)


def _incident_events() -> list[dict[str, Any]]:
    def ev(seq: int, type_: str, gate: str = "g1", door: str | None = "main",
           **details: Any) -> dict[str, Any]:  # fmt: skip
        return {"id": f"s1-{gate}-{seq}", "seq": seq, "site": "s1", "gate": gate,
                "time": (T0 + timedelta(minutes=seq)).isoformat(), "type": type_,
                "severity": "info", "door": door, "details": details}  # fmt: skip

    return [
        ev(1, "incident_opened", incident="aaa", kind="theft", guard="alice", notes="bike",
           police_called=True, police_called_at="10:05"),
        ev(2, "incident_opened", incident="bbb", kind="damage", guard="bob", notes="fence",
           police_called=False),
        ev(3, "incident_updated", incident="aaa", status="acknowledged", guard="alice",
           notes="police here", police_called=True, police_called_at="10:05"),
        ev(4, "incident_opened", gate="g2", incident="ccc", kind="intrusion", guard="carol",
           notes="", police_called=False),
        ev(5, "incident_closed", gate="g2", incident="ccc", guard="carol", notes="false alarm"),
        ev(6, "access_granted", holder_id="R-1"),
    ]  # fmt: skip


def test_office_lists_open_acknowledged_and_closed_incidents(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "office.db")
    store = open_store(db)
    store.add_events(_incident_events())
    store.close()
    assert office_main(["--db", db, "incidents"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("    ")]
    assert [ln.split()[:3] for ln in lines] == [
        ["OPEN", "s1/g1", "bbb"],
        ["ACKNOWLEDGED", "s1/g1", "aaa"],
        ["CLOSED", "s1/g2", "ccc"],
    ]
    assert "police called 10:05" in lines[1]
    assert office_main(["--db", db, "--site", "s1", "--gate", "g1", "--json", "incidents",
                        "--status", "acknowledged"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert '"id": "aaa"' in out and '"police here"' in out and "bbb" not in out
