"""Outside input that once escaped every handler: deep nesting, and "yes" for a boolean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import ConfigError, ImportRejected
from agent.gate.app import App
from agent.link.signing import AuthError, Verifier
from agent.models.config import load_config
from agent.models.messages import Command
from agent.store.importer import load_file

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


def test_deep_json_on_mqtt_is_refused_as_malformed(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.link.signing import ReplayGuard

    guard = ReplayGuard(tmp_path / "nonces.db")
    verifier = Verifier(None, 300, guard, required=True)
    for payload in (DEEP, DEEP_OBJECT.encode()):
        with pytest.raises(AuthError) as caught:
            verifier.open("gate/s/g/cmd/open", payload, datetime.now(UTC), True)
        assert caught.value.reason == "malformed"
    guard.close()


def test_deep_json_import_is_a_row_error(tmp_path: Path, app: App) -> None:
    path = tmp_path / "list.json"
    path.write_text("[" + DEEP_OBJECT + "]")
    with pytest.raises(ImportRejected, match="nested"):
        load_file(path, app.config, app.hasher)


def test_deep_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested"):
        load_config(path)


def test_non_boolean_on_is_refused_on_the_wire() -> None:
    for value in ("yes", 1, "true", None.__class__.__name__):
        with pytest.raises(ValueError):
            Command.model_validate({"request_id": "r1", "on": value})
    assert Command.model_validate({"request_id": "r1", "on": True}).on is True


def test_control_socket_answers_deep_and_mistyped_requests(app: App) -> None:
    from agent.faces.control import ControlServer
    from agent.faces.simulate import SimControls

    server = ControlServer(SimControls(app), app.paths.control_socket)
    reply = server.handle_line(DEEP_OBJECT.encode())
    assert not reply["ok"] and "nested" in reply["error"]
    since = app.events.last_seq()
    reply = server.handle_line(json.dumps({"op": "fire", "on": "yes"}).encode())
    assert not reply["ok"] and "true or false" in reply["error"]
    app.loop.pump()
    assert app.events.last_seq() == since  # nothing released, no spurious fire events
    assert app.mode.value == "normal"


def test_a_closed_pipe_ends_the_cli_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.helpers import write_sim_config

    config = write_sim_config(tmp_path)
    for args in (["status"], ["events", "--limit", "500"], ["--help"]):
        child = subprocess.Popen(
            [sys.executable, "-m", "agent.faces.cli", *args, "-c", str(config)]
            if args[0] != "--help" else [sys.executable, "-m", "agent.faces.cli", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        child.stdout.close()  # like `gate-agent status | head -0`
        _, err = child.communicate(timeout=60)
        assert "Traceback" not in err.decode() and "BrokenPipe" not in err.decode(), args
        assert child.returncode in (0, 3), (args, child.returncode)


def test_versions_beyond_what_sqlite_holds_are_invalid() -> None:
    from agent.models.messages import AllowListPatch, ConfigSet, SnapshotChunk

    huge = 10**30
    chunk = {"version": huge, "snapshot_id": "s" * 8, "chunk": 0, "chunks": 1, "entries": []}
    for model, body in (
        (SnapshotChunk, chunk),
        (AllowListPatch, {"base_version": 1, "version": huge}),
        (ConfigSet, {"revision": huge, "config": {}}),
    ):
        with pytest.raises(ValueError):
            model.model_validate(body)


def test_check_config_refuses_a_key_that_run_refuses(tmp_path: Path) -> None:
    from agent.faces.cli import main
    from tests.helpers import write_sim_config

    config = write_sim_config(tmp_path)
    short = tmp_path / "short.key"
    short.write_text("00112233\n")  # 4 bytes: run refuses it
    text = config.read_text().replace(
        next(line for line in config.read_text().splitlines() if "credential_key_file" in line),
        f'credential_key_file = "{short}"',
    )
    config.write_text(text)
    assert main(["check-config", str(config)]) != 0


def test_control_characters_and_huge_units_are_row_errors(tmp_path: Path, app: App) -> None:
    from agent.models.wire import AllowListEntry

    for unit in ("A-1\x1b[2J", "x" * 200_000):
        path = tmp_path / "list.json"
        path.write_text(json.dumps([{"card": "uid:04A224B2", "holder_id": "R-1", "unit": unit}]))
        with pytest.raises(ImportRejected):
            load_file(path, app.config, app.hasher)
    with pytest.raises(ValueError, match="control characters"):
        AllowListEntry.model_validate({"credential": "a" * 64, "holder_id": "R-1\x00"})
