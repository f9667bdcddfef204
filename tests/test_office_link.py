"""Office to gate: allow-list sync, config, commands, and refusing what must be refused."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import SystemClock
from agent.link.signing import seal
from agent.link.wiring import attach
from agent.office.cli import main as office_main
from tests.conftest import mqtt_table
from tests.mqtt_helpers import TOPICS, office, wait_for


@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    config = make_config(mqtt=mqtt_table(broker, office_key))
    app = make_app(config, clock=SystemClock())
    uplink = attach(app)
    app.office_link = uplink  # type: ignore[attr-defined]
    app.start(threaded=True)
    assert uplink.conn.wait_connected(10)
    wait_for(lambda: app.events.depth() == 0, what="start-up event sent")
    return app


def office_cli(broker: Any, tmp_path: Path, *args: str) -> int:
    return office_main(
        [
            "--host",
            broker.host,
            "--port",
            str(broker.port),
            "--site",
            "test-site",
            "--gate",
            "g1",
            "--key",
            str(tmp_path / "office.key"),
            "--db",
            str(tmp_path / "office.db"),
            "--timeout",
            "20",
            *args,
        ]
    )


def security_alerts(app: Any) -> dict[str, int]:
    """Refusals reported so far, by reason: alarms are aggregated, each with a count."""
    app.office_link.inbox.refusals.flush(force=True)
    counts: dict[str, int] = {}
    for e in app.events.recent(200):
        if e.type.value == "security_alert":
            reason = e.details["reason"]
            counts[reason] = counts.get(reason, 0) + e.details["count"]
    return counts


def write_list(path: Path, rows: list[str]) -> Path:
    path.write_text("card,holder_id,doors,suspended\n" + "\n".join(rows) + "\n")
    return path


# -- allow-list ------------------------------------------------------------------------
def test_push_snapshot_then_patch(gate, broker, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    site_key = str(gate.config.security.credential_key_file)
    first = write_list(tmp_path / "a.csv", [f"uid:04A1{i:04X},R-{i},,0" for i in range(12000)])
    assert (
        office_cli(
            broker,
            tmp_path,
            "allowlist",
            "push",
            str(first),
            "--site-key",
            site_key,
            "--chunk",
            "5000",
        )
        == 0
    )
    assert "version 1 (snapshot, 12000 entries)" in capsys.readouterr().out
    assert gate.allowlist.version() == 1 and gate.allowlist.count() == 12000
    wait_for(lambda: any(e.type.value == "allowlist_updated" for e in gate.events.recent(5)))

    second = write_list(
        tmp_path / "b.csv",
        [f"uid:04A1{i:04X},R-{i},,{int(i == 5)}" for i in range(1, 12000)]
        + ["uid:0BEEF001,R-new,main,0"],
    )
    assert (
        office_cli(broker, tmp_path, "allowlist", "push", str(second), "--site-key", site_key) == 0
    )
    assert "version 2 (patch" in capsys.readouterr().out
    assert gate.allowlist.count() == 12000
    assert gate.allowlist.lookup(gate.hasher.credential(_card("uid:04A10000"))) is None
    assert gate.allowlist.lookup(gate.hasher.credential(_card("uid:04A10005"))).suspended


def _card(text: str) -> Any:
    from drivers.cards import parse_card

    return parse_card(text)


def test_patch_on_wrong_base_is_refused_and_snapshot_requested(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 4)
    with office(broker, office_key) as link:
        link.send(
            TOPICS.allowlist_patch, {"base_version": 2, "version": 3, "upserts": [], "removals": []}
        )
        ack = link.expect(TOPICS.allowlist_ack, timeout=10)
        request = link.expect(TOPICS.allowlist_request, timeout=10)
    assert ack is not None and not ack["ok"] and ack["version"] == 4 and "version 2" in ack["error"]
    assert request == {"have_version": 4, "reason": "patch base 2 does not match"}
    assert gate.allowlist.version() == 4


def test_bad_snapshot_changes_nothing(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    gate.allowlist.replace([], 3)
    good = {"credential": "a" * 64, "holder_id": "R-1"}
    cases = [
        (
            {
                "version": 4,
                "snapshot_id": "s" * 10,
                "chunk": 0,
                "chunks": 1,
                "entries": [good, {"credential": "b" * 64, "holder_id": "R-2", "doors": ["roof"]}],
            },
            "entries.1.doors",
        ),
        (
            {
                "version": 4,
                "snapshot_id": "t" * 10,
                "chunk": 0,
                "chunks": 1,
                "entries": [{"credential": "XYZ", "holder_id": "R-1"}],
            },
            "entries.0.credential",
        ),
        (
            {"version": 3, "snapshot_id": "u" * 10, "chunk": 0, "chunks": 1, "entries": [good]},
            "not newer",
        ),
        (
            {
                "version": 4,
                "snapshot_id": "v" * 10,
                "chunk": 0,
                "chunks": 1,
                "entries": [good, good],
            },
            "twice",
        ),
    ]
    with office(broker, office_key) as link:
        for body, expected in cases:
            link.send(TOPICS.allowlist_snapshot, body)
            ack = link.expect(TOPICS.allowlist_ack, timeout=10)
            assert ack is not None and not ack["ok"], body
            assert expected in json.dumps(ack), (expected, ack)
    assert gate.allowlist.version() == 3 and gate.allowlist.count() == 0


# -- config ----------------------------------------------------------------------------
def test_config_push_applies_live_and_survives_restart(
    gate,
    broker,
    tmp_path,
    make_app,  # type: ignore[no-untyped-def]
    capsys,
) -> None:
    doc = tmp_path / "push.json"
    doors = gate.config.model_dump(mode="json")["doors"]
    doors[0]["pulse_s"] = 9.5
    doc.write_text(json.dumps({"doors": doors, "alarms": {"card_denials": {"count": 7}}}))
    assert office_cli(broker, tmp_path, "config", "push", str(doc), "--json") == 0
    ack = json.loads(capsys.readouterr().out)
    assert ack == {"ok": True, "revision": 1, "restart_required": False, "errors": []}
    assert gate.doors["main"].config.pulse_s == 9.5 and gate.config_revision == 1
    assert gate.config.alarms.card_denials.count == 7
    gate.stop()
    from agent.link.remote_config import effective_config

    config, revision, problem = effective_config(gate.base_config)
    assert problem is None and revision == 1 and config.door("main").pulse_s == 9.5


def test_invalid_config_names_each_field_and_changes_nothing(
    gate,
    broker,
    tmp_path,  # type: ignore[no-untyped-def]
    capsys,
) -> None:
    doc = tmp_path / "bad.json"
    doors = gate.config.model_dump(mode="json")["doors"]
    doors[0]["pulse_s"] = -3
    doors[1]["colour"] = "red"
    doc.write_text(
        json.dumps({"doors": doors, "mqtt": {"host": "evil"}, "storage": {"dir": "/tmp/x"}})
    )
    assert (
        office_cli(broker, tmp_path, "config", "push", str(doc), "--revision", "5", "--json") == 1
    )
    ack = json.loads(capsys.readouterr().out)
    assert not ack["ok"] and {"mqtt", "storage.dir"} <= {e["path"] for e in ack["errors"]}
    doc.write_text(json.dumps({"doors": doors}))
    assert (
        office_cli(broker, tmp_path, "config", "push", str(doc), "--revision", "5", "--json") == 1
    )
    paths = {e["path"] for e in json.loads(capsys.readouterr().out)["errors"]}
    assert {"doors.0.pulse_s", "doors.1.colour"} <= paths
    assert gate.config_revision == 0 and gate.doors["main"].config.pulse_s == 5.0
    assert not (gate.paths.dir / "config.remote.json").exists()


def test_config_revision_must_increase(gate, broker, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "c.json"
    doc.write_text(json.dumps({"clock": {"untrusted_policy": "deny_scheduled"}}))
    assert office_cli(broker, tmp_path, "config", "push", str(doc), "--revision", "3") == 0
    capsys.readouterr()
    assert (
        office_cli(broker, tmp_path, "config", "push", str(doc), "--revision", "3", "--json") == 1
    )
    assert "not newer" in capsys.readouterr().out


def test_device_change_restarts_the_app(gate, broker, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "d.json"
    doors = gate.config.model_dump(mode="json")["doors"]
    doors[1]["fail_mode"] = "secure"
    doc.write_text(json.dumps({"doors": doors}))
    assert office_cli(broker, tmp_path, "config", "push", str(doc), "--json") == 0
    assert json.loads(capsys.readouterr().out)["restart_required"] is True
    assert gate.wait(10) and gate.restart_requested


# -- commands --------------------------------------------------------------------------
def test_commands(gate, broker, tmp_path, capsys, office_key) -> None:  # type: ignore[no-untyped-def]
    def run(*args: str) -> dict[str, Any]:
        office_cli(broker, tmp_path, "cmd", *args, "--json")
        return json.loads(capsys.readouterr().out)

    ack = run("open", "--door", "main")
    assert ack["ok"] and ack["command"] == "open"
    assert not gate.doors["main"].locked
    assert run("lockdown", "--on")["result"]["mode"] == "lockdown"
    assert gate.mode.value == "lockdown"
    assert run("lockdown", "--off")["result"]["mode"] == "normal"
    assert run("release", "--on")["result"]["mode"] == "release"
    assert not gate.doors["side"].locked
    assert run("release", "--off")["result"]["mode"] == "normal"
    assert run("status")["result"]["allowlist"]["version"] is None
    # a command missing its flag is the CLI's usage error (exit 2), nothing sent ...
    for args in (("open",), ("lockdown",)):
        assert office_cli(broker, tmp_path, "cmd", *args, "--json") == 2
        assert capsys.readouterr().out == ""
    assert "unknown command" in run("explode")["error"]
    # ... and the gate still refuses one that other office software sends without it
    with office(broker, office_key, client_id="office-bare") as link:
        for name in ("open", "lockdown"):
            rid = f"bare-{name}"
            link.send(TOPICS.cmd(name), {"request_id": rid})
            ack = link.expect(TOPICS.cmd_ack, lambda m, rid=rid: m.get("request_id") == rid)
            assert ack is not None and not ack["ok"] and "needs" in ack["error"]
    kinds = [e.type.value for e in gate.events.recent(30)]
    assert "remote_open" in kinds and kinds.count("mode_changed") == 4


def test_resync_requests_a_snapshot(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    with office(broker, office_key) as link:
        link.send(TOPICS.cmd("resync"), {"request_id": "r1"})
        assert link.expect(TOPICS.allowlist_request, timeout=10) == {
            "have_version": None,
            "reason": "resync command",
        }


def test_a_gate_without_a_list_asks_for_one_when_it_connects(  # type: ignore[no-untyped-def]
    make_app, make_config, broker, office_key
) -> None:
    with office(broker, office_key, client_id="office-first") as link:
        app = make_app(make_config(mqtt=mqtt_table(broker, office_key)), clock=SystemClock())
        attach(app)
        app.start(threaded=True)
        assert link.expect(TOPICS.allowlist_request, timeout=10) == {
            "have_version": None,
            "reason": "the gate holds no allow-list",
        }


# -- authenticity ----------------------------------------------------------------------
def envelope(
    key: Ed25519PrivateKey, topic: str, body: dict[str, Any], when: datetime | None = None
) -> bytes:
    return seal(key, topic, body, when or datetime.now(UTC))


def test_forged_stale_replayed_and_malformed_are_refused(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    stranger = Ed25519PrivateKey.generate()
    open_main = {"request_id": "x1", "door": "main"}
    replay = envelope(office_key, TOPICS.cmd("open"), open_main)
    lockdown_sig = envelope(office_key, TOPICS.cmd("lockdown"), {"request_id": "x2", "on": True})
    attempts = [
        ("unsigned", json.dumps(open_main).encode()),
        ("bad_signature", envelope(stranger, TOPICS.cmd("open"), open_main)),
        ("bad_signature", lockdown_sig),  # signed for another topic
        (
            "stale",
            envelope(
                office_key, TOPICS.cmd("open"), open_main, datetime.now(UTC) - timedelta(minutes=10)
            ),
        ),
        ("malformed", b"\xff\x00 not json"),
    ]
    with office(broker, office_key) as link:
        for reason, data in attempts:
            link.send_raw(TOPICS.cmd("open"), data)
            ack = link.expect(TOPICS.cmd_ack, timeout=10)
            assert ack is not None and not ack["ok"] and reason in ack["error"], (reason, ack)
        assert gate.doors["main"].locked, "a forged message opened the door"
        link.send_raw(TOPICS.cmd("open"), replay)
        assert link.expect(TOPICS.cmd_ack, timeout=10)["ok"]
        gate.loop.run_sync(gate.doors["main"].lock)
        link.send_raw(TOPICS.cmd("open"), replay)
        ack = link.expect(TOPICS.cmd_ack, timeout=10)
        assert not ack["ok"] and "replayed" in ack["error"]
    assert gate.doors["main"].locked
    assert security_alerts(gate) == {
        "unsigned": 1,
        "bad_signature": 2,
        "stale": 1,
        "malformed": 1,
        "replayed": 1,
    }
    alarm = next(e for e in gate.events.recent(50) if e.type.value == "security_alert")
    assert alarm.severity == "alarm"


def test_replay_refused_after_restart(gate, broker, office_key, make_app) -> None:  # type: ignore[no-untyped-def]
    data = envelope(office_key, TOPICS.cmd("status"), {"request_id": "r"})
    with office(broker, office_key) as link:
        link.send_raw(TOPICS.cmd("status"), data)
        assert link.expect(TOPICS.cmd_ack, timeout=10)["ok"]
    config = gate.config
    gate.stop()
    again = make_app(config, clock=SystemClock())
    uplink = attach(again)
    again.start(threaded=True)
    assert uplink.conn.wait_connected(10)
    with office(broker, office_key, client_id="office-2") as link:
        link.send_raw(TOPICS.cmd("status"), data)
        ack = link.expect(TOPICS.cmd_ack, timeout=10)
    assert ack is not None and "replayed" in ack["error"]


def test_oversized_payload_is_refused(make_app, make_config, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    config = make_config(mqtt=mqtt_table(broker, office_key, max_payload_bytes=2048))
    app = make_app(config, clock=SystemClock())
    uplink = attach(app)
    app.start(threaded=True)
    assert uplink.conn.wait_connected(10)
    entries = [{"credential": f"{i:064x}", "holder_id": f"R-{i}"} for i in range(100)]
    with office(broker, office_key) as link:
        link.send(
            TOPICS.allowlist_snapshot,
            {
                "version": 1,
                "snapshot_id": uuid.uuid4().hex,
                "chunk": 0,
                "chunks": 1,
                "entries": entries,
            },
        )
        ack = link.expect(TOPICS.allowlist_ack, timeout=10)
    assert ack is not None and not ack["ok"] and "limit" in ack["error"]
    assert app.allowlist.count() == 0


def test_status_and_last_will(gate, broker, office_key, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert office_cli(broker, tmp_path, "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["online"] and status["site"] == "test-site" and "main" in status["doors"]
    gate.stop()  # clean stop: an explicit offline status
    assert office_cli(broker, tmp_path, "status", "--json") == 3
    assert json.loads(capsys.readouterr().out)["online"] is False


# -- the office's own tools -------------------------------------------------------------
def test_events_tail_stores_each_event_once(gate, broker, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from drivers.sim import SimCardReader

    # first run opens the persistent session; the broker keeps events for it from now on
    assert office_cli(broker, tmp_path, "events", "tail", "--idle", "0.5") == 0
    reader = gate.devices.readers["main-in"]
    assert isinstance(reader, SimCardReader)
    for i in range(3):
        reader.present(f"uid:0BAD{i:04X}")
    wait_for(lambda: gate.events.depth() == 0, what="events sent")
    duplicate = gate.events.recent(1)[0].model_dump_json().encode()
    with office(broker, client_id="office-dup") as link:
        link.send_raw(TOPICS.events, duplicate)  # the same event again, as after a lost PUBACK
    assert office_cli(broker, tmp_path, "events", "tail", "--idle", "2", "--json") == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    assert [e["type"] for e in lines].count("access_denied") == 3
    printed = [e["id"] for e in lines]
    assert len(printed) == len(set(printed)), "a repeat was shown as new"
    assert printed.count(json.loads(duplicate)["id"]) == 1
    assert f"{len(printed)} new event(s)" in captured.err
    db = sqlite3.connect(tmp_path / "office.db")
    ids = [row[0] for row in db.execute("SELECT id FROM events")]
    assert len(ids) == len(set(ids)) == len(printed)


def test_keygen_output_configures_a_gate(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from agent.models.mqtt import MqttConfig

    assert office_main(["keygen", str(tmp_path / "new.key")]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    key_text = line.split('"')[1]
    assert MqttConfig(enabled=True, office_public_key=key_text).office_public_key == key_text
    assert (tmp_path / "new.key").stat().st_mode & 0o777 == 0o600
    assert office_main(["keygen", str(tmp_path / "new.key")]) == 1  # never overwrites


def test_push_of_raw_cards_without_site_key_names_the_lines(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = write_list(tmp_path / "raw.csv", ["uid:04A10001,R-1,,0", "uid:04A10002,R-2,,0"])
    assert office_main(["--site", "s", "--gate", "g", "allowlist", "push", str(src)]) == 1
    err = capsys.readouterr().err
    assert "line 2: card: a raw card number needs the site key" in err and "line 3" in err


def test_a_garbage_flood_cannot_crowd_out_the_office(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    """20,000 unsigned messages on the gate's topics while the office sends 10 commands:
    every command is answered within 2 s, the flood is one alarm with its count, and
    memory stays flat."""
    import subprocess
    import sys
    import time

    from bench.common import current_rss_mb

    inbox = gate.office_link.inbox
    idle_rss = current_rss_mb()
    since = gate.events.last_seq()
    # the flood comes from another process, so this one's memory is the gate's alone
    flood = (
        "import paho.mqtt.client as paho\n"
        "from paho.mqtt.enums import CallbackAPIVersion\n"
        "c = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id='flood')\n"
        "c.max_queued_messages_set(0)\n"
        f"c.connect({broker.host!r}, {broker.port})\n"
        "c.loop_start()\n"
        'infos = [c.publish(%r, b\'{"door": "main", "n": %%d}\' %% i, qos=1)'
        " for i in range(20000)]\n"
        "[i.wait_for_publish(60) for i in infos]\n"
        "c.disconnect(); c.loop_stop()\n"
    ) % TOPICS.cmd("open")
    with office(broker, office_key, client_id="office-flood") as link:
        flooder = subprocess.Popen([sys.executable, "-c", flood])
        try:
            wait_for(lambda: inbox.refusals.total > 500, what="the flood to arrive")
            for k in range(10):
                started = time.monotonic()
                link.send(TOPICS.cmd("status"), {"request_id": f"genuine-{k}"})
                ack = link.expect(
                    TOPICS.cmd_ack, lambda m, k=k: m.get("request_id") == f"genuine-{k}", 2.0
                )
                assert ack is not None and ack["ok"], f"command {k} not answered within 2 s"
                assert time.monotonic() - started < 2.0
            assert flooder.wait(90) == 0
            wait_for(lambda: inbox.refusals.total >= 20_000, timeout=60, what="the whole flood")
        finally:
            flooder.kill()
    assert gate.doors["main"].locked
    assert current_rss_mb() - idle_rss < 20
    assert security_alerts(gate) == {"unsigned": 20_000}
    added = [e.type.value for e in gate.events.recent(100) if e.seq > since]
    assert added.count("security_alert") <= 3  # one at once, the rest as a summary
