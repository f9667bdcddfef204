"""gate-office as an operator meets it: answers that say what happened, quickly, per outcome."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent import __version__
from agent.core.clock import SystemClock
from agent.link.signing import seal
from agent.link.topics import Topics
from agent.link.wiring import attach
from agent.office.cli import build_parser
from agent.office.cli import main as office_main
from agent.office.places import default_db, tail_client_id
from tests.broker import Mosquitto, free_port
from tests.conftest import ROOT, mqtt_table
from tests.mqtt_helpers import TOPICS, office, wait_for

DOCS = ROOT / "docs" / "mqtt.md"
# the office account: reads what gates send, writes what gates read (every site and gate)
OFFICE_BLOCK = (
    "user office\n"
    + "".join(
        f"topic read gate/+/+/{t}\n"
        for t in ("status", "events", "allowlist/ack", "allowlist/request", "config/ack", "cmd/ack")
    )
    + "".join(
        f"topic write gate/+/+/{t}\n"
        for t in ("allowlist/snapshot", "allowlist/patch", "config/set", "cmd/+")
    )
)


@pytest.fixture
def gate(make_app, make_config, broker, office_key):  # type: ignore[no-untyped-def]
    app = make_app(make_config(mqtt=mqtt_table(broker, office_key)), clock=SystemClock())
    uplink = attach(app)
    app.office_link = uplink  # type: ignore[attr-defined]
    app.start(threaded=True)
    assert uplink.conn.wait_connected(10)
    wait_for(lambda: app.events.depth() == 0, what="start-up event sent")
    return app


def flags(host: str, port: int, tmp_path: Path, gate: str = "g1") -> list[str]:
    return [
        *("--host", host, "--port", str(port), "--site", "test-site", "--gate", gate),
        *("--key", str(tmp_path / "office.key"), "--db", str(tmp_path / "office.db")),
        *("--timeout", "10"),
    ]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str, float]:
    """Exit code, stdout, stderr and seconds taken of one in-process gate-office run."""
    started = time.monotonic()
    code = office_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - started


# -- 1. a refusal reaches the person, with the gate's reason ------------------------------
def test_a_wrong_office_key_is_named_not_reported_as_silence(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys
) -> None:
    stranger = tmp_path / "stranger.key"
    assert run(capsys, "keygen", str(stranger))[0] == 0
    argv = flags(broker.host, broker.port, tmp_path)
    argv[argv.index("--key") + 1] = str(stranger)
    code, out, err, _ = run(capsys, *argv, "cmd", "open", "--door", "main")
    assert code == 1, (out, err)
    assert ("refused by the gate: bad_signature: is the office key the one the gate has?") in err
    assert gate.doors["main"].locked
    code, out, err, _ = run(capsys, *argv, "--json", "cmd", "lockdown", "--on")
    ack = json.loads(out)
    assert code == 1 and not ack["ok"] and "bad_signature" in ack["error"]
    assert re.fullmatch(r"[0-9a-f]{32}", ack["request_id"])
    assert gate.mode.value == "normal"


def test_refusal_acks_echo_a_short_string_request_id_only(gate, broker, office_key) -> None:  # type: ignore[no-untyped-def]
    stranger = Ed25519PrivateKey.generate()
    topic = TOPICS.cmd("open")
    now = time.time()
    from datetime import UTC, datetime

    signed_now = datetime.fromtimestamp(now, UTC)
    cases = [
        ({"request_id": "plain-1", "door": "main"}, "unsigned", "plain-1"),
        (
            seal(stranger, topic, {"request_id": "forged-1"}, signed_now),
            "bad_signature",
            "forged-1",
        ),
        (seal(stranger, topic, {"request_id": ["x"]}, signed_now), "bad_signature", None),
        (seal(stranger, topic, {"request_id": "y" * 65}, signed_now), "bad_signature", None),
        (b'{"ts": 1, "nonce": 2, "body": 3, "sig": 4}', "malformed", None),
    ]
    with office(broker, office_key) as link:
        for payload, reason, echoed in cases:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            link.send_raw(topic, raw)
            ack = link.expect(TOPICS.cmd_ack, timeout=10)
            assert ack is not None and not ack["ok"] and reason in ack["error"], ack
            assert ack.get("request_id") == echoed, (reason, ack)
        good = {"request_id": "twice", "door": "main"}
        replay = seal(office_key, topic, good, signed_now)
        link.send_raw(topic, replay)
        assert link.expect(TOPICS.cmd_ack, timeout=10) == {
            "request_id": "twice",
            "command": "open",
            "ok": True,
            "result": {"mode": "normal"},
        }
        link.send_raw(topic, replay)
        ack = link.expect(TOPICS.cmd_ack, timeout=10)
    assert ack is not None and "replayed" in ack["error"] and ack["request_id"] == "twice"


def test_an_internal_failure_is_answered_under_the_requests_id(  # type: ignore[no-untyped-def]
    gate, broker, office_key, monkeypatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("relay driver bug")

    monkeypatch.setattr(gate, "open_door", broken)
    from datetime import UTC, datetime

    with office(broker, office_key) as link:
        body = {"request_id": "boom-1", "door": "main"}
        link.send_raw(TOPICS.cmd("open"), seal(office_key, TOPICS.cmd("open"), body,
                                               datetime.now(UTC)))  # fmt: skip
        ack = link.expect(TOPICS.cmd_ack, timeout=10)
    assert ack is not None and not ack["ok"] and "internal error" in ack["error"], ack
    assert ack["request_id"] == "boom-1"
    assert gate.doors["main"].locked


# -- 2. unknown gate, offline gate, unreachable broker: at most 3 s, saying what was tried --
def test_unknown_gate_and_unreachable_broker_answer_within_3_s(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys
) -> None:
    unknown = flags(broker.host, broker.port, tmp_path, gate="nope")
    for command in (["status"], ["cmd", "open", "--door", "main"]):
        code, _, err, took = run(capsys, *unknown, *command)
        assert code == 3 and took <= 3.0, (command, took, err)
        assert f"broker at {broker.host}:{broker.port}" in err
        assert "gate/test-site/nope/status" in err and "known gates of test-site: g1" in err
    port = free_port()  # nothing listens there
    for command in (["status"], ["cmd", "open", "--door", "main"]):
        code, _out, err, took = run(capsys, *flags("127.0.0.1", port, tmp_path), *command)
        assert code == 3 and took <= 3.0, (command, took, err)
        assert f"cannot reach the broker at 127.0.0.1:{port}" in err and "refused" in err
    with socket.socket() as silent:  # accepts the connection, never answers MQTT
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        code, _, err, took = run(
            capsys, *flags("127.0.0.1", silent.getsockname()[1], tmp_path), "status"
        )
    assert code == 3 and took <= 3.0 and "no answer" in err, (took, err)


def test_an_offline_gate_says_since_when_and_gets_no_command(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys
) -> None:
    argv = flags(broker.host, broker.port, tmp_path)
    code, out, _, _ = run(capsys, *argv, "status")
    assert code == 0 and out.startswith("gate test-site/g1: online"), out
    gate.stop()
    code, out, err, took = run(capsys, *argv, "status")
    assert code == 3 and took <= 3.0
    assert re.search(r"gate test-site/g1: offline since \d{4}-\d\d-\d\d \d\d:\d\d", out), out
    code, out, err, took = run(capsys, *argv, "cmd", "lockdown", "--on")
    assert code == 3 and took <= 3.0
    assert "offline since" in err and "not sent" in err


# -- 3. a command the gate cannot carry out at once ----------------------------------------
def test_lockdown_during_a_fire_release_is_pending_and_credited(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, capsys
) -> None:
    gate.loop.run_sync(gate.inputs.changed, "fire", True)
    argv = flags(broker.host, broker.port, tmp_path)
    code, out, _, _ = run(capsys, *argv, "--json", "cmd", "lockdown", "--on")
    ack = json.loads(out)
    assert code == 0 and ack["ok"]
    assert ack["result"] == {
        "mode": "release",
        "lockdown": True,
        "pending": "applies when the release ends",
    }
    requested = [e for e in gate.events.recent(20) if e.type.value == "mode_requested"]
    assert [e.details for e in requested] == [
        {
            "request": "lockdown on",
            "mode": "release",
            "by": "office",
            "request_id": ack["request_id"],
            "pending": "applies when the release ends",
        }
    ]
    code, out, _, _ = run(capsys, *argv, "cmd", "lockdown", "--on")
    assert code == 0 and "pending: applies when the release ends" in out, out
    gate.loop.run_sync(gate.inputs.changed, "fire", False)
    assert gate.mode.value == "lockdown"
    changed = [e.details for e in gate.events.recent(20) if e.type.value == "mode_changed"]
    assert changed[-1] == {
        "mode": "lockdown",
        "previous": "release",
        "by": "fire_input",
        "lockdown_by": "office",
        "lockdown_request_id": ack["request_id"],
    }


def test_each_mode_change_is_credited_to_its_source(app) -> None:  # type: ignore[no-untyped-def]
    """On the core alone: what each request does while a fire holds the doors released."""
    app.inputs.changed("fire", True)
    assert app.set_lockdown(True, by="office", request_id="r-1").value == "release"
    assert app.set_release(True, by="local").value == "release"
    assert app.set_release(False, by="local").value == "release"
    assert app.set_lockdown(False, by="office", request_id="r-2").value == "release"
    app.inputs.changed("fire", False)
    app.loop.pump()
    log = [
        (e.type.value, e.details)
        for e in app.events.recent(30)
        if e.type.value in ("mode_changed", "mode_requested")
    ]
    assert log == [
        ("mode_changed", {"mode": "release", "previous": "normal", "by": "fire_input"}),
        ("mode_requested", {"request": "lockdown on", "mode": "release", "by": "office",
                            "request_id": "r-1", "pending": "applies when the release ends"}),
        ("mode_requested", {"request": "release on", "mode": "release", "by": "local"}),
        ("mode_requested", {"request": "release off", "mode": "release", "by": "local",
                            "held_by": "fire_input"}),
        ("mode_requested", {"request": "lockdown off", "mode": "release", "by": "office",
                            "request_id": "r-2"}),
        ("mode_changed", {"mode": "normal", "previous": "release", "by": "fire_input"}),
    ]  # fmt: skip


# -- 4. sessions, signals, flags, output, files, ACL ----------------------------------------
def office_process(broker: Any, tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent.office.cli", "--host", broker.host, "--port",
         str(broker.port), "--site", "test-site", "--db", str(tmp_path / "office.db"), *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip


def test_two_tails_keep_their_sessions_and_end_quietly(gate, broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from drivers.sim import SimCardReader

    first = office_process(broker, tmp_path, "events", "tail", "--json")
    second = office_process(broker, tmp_path, "events", "tail", "--json")
    try:
        assert first.stderr is not None and second.stderr is not None
        heard = [first.stderr.readline(), second.stderr.readline()]
        assert sum("persistent session" in line for line in heard) == 1, heard
        assert sum("live only" in line for line in heard) == 1, heard
        if "live only" in heard[0]:  # whichever started first holds the session
            first, second = second, first
        reader = gate.devices.readers["main-in"]
        assert isinstance(reader, SimCardReader)
        reader.present("uid:0BAD0001")
        for child in (first, second):
            assert child.stdout is not None
            assert json.loads(child.stdout.readline())["type"] == "access_denied"
        assert "already connected" not in broker.log()
        first.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = first.communicate(timeout=20)
        assert first.returncode == 0 and "Traceback" not in err, err
        assert "1 new event(s) stored" in err
        assert second.stdout is not None
        second.stdout.close()  # `| head -1` has what it wanted
        reader.present("uid:0BAD0002")
        _, err = second.communicate(timeout=20)
        assert second.returncode == 0 and "Traceback" not in err, err
    finally:
        for child in (first, second):
            child.kill()
            child.wait()


def test_tail_client_ids_are_stable_per_database_and_distinct_between_them() -> None:
    one = tail_client_id("gate/s/+/events", "/srv/a/office.db")
    assert one == tail_client_id("gate/s/+/events", "/srv/a/office.db")
    assert one != tail_client_id("gate/s/+/events", "/srv/b/office.db")
    assert one != tail_client_id("gate/t/+/events", "/srv/a/office.db")
    assert one.startswith("gate-office-") and len(one) <= 23  # MQTT 3.1.1's guaranteed length


def test_flags_that_contradict_or_inform(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err, _ = run(
        capsys, "--site", "s", "--gate", "g", "cmd", "lockdown", "--on", "--off"
    )
    assert code == 2 and "not allowed with argument" in err and "Traceback" not in err
    assert run(capsys, "--version")[:2] == (0, f"gate-office {__version__}\n")
    code, out, _, _ = run(capsys, "--help")
    for line in ("0  done", "1  refused", "2  usage or configuration", "3  no answer"):
        assert line in out, out
    code, _, err, _ = run(capsys, "status")
    assert code == 2 and err.startswith("error: --site and --gate are needed")


def test_every_command_takes_json_before_or_after_it() -> None:
    parser = build_parser()
    commands = [
        ["keygen", "k"], ["acl"], ["status"], ["allowlist", "push", "f.csv"],
        ["config", "push", "f.toml"], ["cmd", "open"], ["events", "tail"],
    ]  # fmt: skip
    for command in commands:
        assert parser.parse_args([*command, "--json"]).json is True, command
        assert parser.parse_args(["--json", *command]).json is True, command
        assert parser.parse_args(command).json is False, command


def test_the_office_database_lives_in_the_users_data_folder(  # type: ignore[no-untyped-def]
    gate, broker, tmp_path, monkeypatch, capsys
) -> None:
    home = Path("/home/ann")
    assert default_db({"HOME": str(home)}, "ann") == home / ".local/share/gate-office/office.db"
    assert default_db({"XDG_DATA_HOME": "/x"}, "ann") == Path("/x/gate-office/office.db")
    assert default_db({"STATE_DIRECTORY": "/var/lib/o"}, "ann") == Path("/var/lib/o/office.db")
    service = Path("/var/lib/gate-office/office.db")
    assert default_db({"HOME": "/nonexistent"}, "gate-office") == service
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATE_OFFICE_DB", raising=False)
    argv = [a for a in flags(broker.host, broker.port, tmp_path) if "office.db" not in a]
    argv.remove("--db")
    code, _, err, _ = run(capsys, *argv, "events", "tail", "--idle", "0.3")
    assert code == 0 and (tmp_path / "data" / "gate-office" / "office.db").exists(), err
    assert not (tmp_path / "office.db").exists()


def test_the_printed_acl_lets_the_office_work_and_docs_show_it(  # type: ignore[no-untyped-def]
    make_app, make_config, office_key, tmp_path, capsys
) -> None:
    code, acl, _, _ = run(capsys, "--site", "test-site", "--gate", "g1", "acl")
    assert code == 0 and "user gate-test-site-g1\n" in acl and "user office\n" in acl
    broker = Mosquitto(
        tmp_path / "acl-broker", users={"gate-test-site-g1": "pw1", "office": "pw0"}, acl=acl
    )
    broker.start()
    try:
        (tmp_path / "gate.pw").write_text("pw1\n")
        (tmp_path / "office.pw").write_text("pw0\n")
        mqtt = mqtt_table(
            broker,
            office_key,
            username="gate-test-site-g1",
            password_file=str(tmp_path / "gate.pw"),
        )
        app = make_app(make_config(mqtt=mqtt), clock=SystemClock())
        uplink = attach(app)
        app.start(threaded=True)
        assert uplink.conn.wait_connected(10)
        argv = [*flags(broker.host, broker.port, tmp_path), "--username", "office",
                "--password-file", str(tmp_path / "office.pw")]  # fmt: skip
        assert run(capsys, *argv, "events", "tail", "--idle", "0.3")[0] == 0  # opens the session
        assert run(capsys, *argv, "status")[0] == 0
        code, out, err, _ = run(capsys, *argv, "cmd", "open", "--door", "main")
        assert code == 0, err
        code, out, err, _ = run(capsys, *argv, "events", "tail", "--count", "1", "--idle", "10")
        assert code == 0 and "remote_open" in out, (out, err)
    finally:
        broker.stop()
    docs = DOCS.read_text()
    office_block = acl[acl.index("user office\n") :]
    assert set(OFFICE_BLOCK.splitlines()) <= set(office_block.splitlines())
    assert office_block in docs  # what the docs show is what the code prints
    assert Topics("gate", "test-site", "g1").acl("gate-test-site-g1") in acl


def test_documented_defaults_are_the_codes(capsys: pytest.CaptureFixture[str]) -> None:
    docs = " ".join(DOCS.read_text().split())  # as read, whatever the line breaks
    parser = build_parser()
    chunk = parser.parse_args(["allowlist", "push", "f.csv"]).chunk
    assert f"{chunk:,} by default from `gate-office`" in docs
    timeout = parser.parse_args(["status"]).timeout
    assert f"`--timeout`, {timeout:g} s by default" in docs
    from agent.office.answers import EXIT_CODES
    from agent.office.client import SUBACK_WAIT_S
    from agent.office.presence import CONNECT_WAIT_S, STATUS_WAIT_S

    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in docs, (code, meaning)
    assert f"within {STATUS_WAIT_S:g} s" in docs and f"{CONNECT_WAIT_S:g} s to connect" in docs
    assert CONNECT_WAIT_S + SUBACK_WAIT_S + STATUS_WAIT_S <= 3.0  # the bound promised


def test_a_command_missing_its_switch_is_a_usage_error_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``cmd lockdown`` without --on/--off went to the gate, which refused it (exit 1).
    Nothing listens on the port: a usage error is told without trying the broker."""
    from cryptography.hazmat.primitives import serialization

    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    (tmp_path / "office.key").write_bytes(key)
    port = free_port()
    for name, needs in (("lockdown", "--on or --off"), ("release", "--on or --off"),
                        ("open", "--door")):  # fmt: skip
        code, out, err, _ = run(capsys, *flags("127.0.0.1", port, tmp_path), "cmd", name)
        assert (code, out) == (2, ""), (name, err)
        assert err == f"error: cmd {name} needs {needs}{' DOOR' if name == 'open' else ''}\n"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``allowlist``, ``config``, ``events`` and ``guards`` were missing from --help."""
    import argparse

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    code, out, _, _ = run(capsys, "--help")
    listed = {m[1] for m in re.finditer(r"^    ([\w-]+) ", out, re.MULTILINE)}
    assert code == 0 and listed == set(sub.choices) and len(listed) == 19, listed  # pin: issue 21


def test_keygen_into_a_missing_folder_names_the_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "office.key"
    code, out, err, _ = run(capsys, "keygen", str(target))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert f"the folder {target.parent} does not exist" in err and not target.parent.exists()
