"""Every parser of outside input, fed hostile data: only the project's own errors come out."""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ConfigError, GateError
from agent.gate.app import App
from agent.link.remote_config import OverlayCorrupt, OverlayStore
from agent.link.signing import AuthError, ReplayGuard, Verifier
from agent.models.config import load_config
from agent.store.importer import load_file

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip
ENVELOPE_KEYS = st.fixed_dictionaries(
    {"ts": JSONISH, "nonce": JSONISH, "body": JSONISH, "sig": JSONISH}
)
PAYLOADS = (
    st.binary(max_size=300)
    | JSONISH.map(lambda v: json.dumps(v).encode())
    | ENVELOPE_KEYS.map(lambda v: json.dumps(v).encode())
)


@SETTINGS
@given(payload=PAYLOADS)
def test_mqtt_payloads_only_raise_auth_errors(tmp_path: Path, payload: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    guard = ReplayGuard(tmp_path / "nonces.db")
    key = Ed25519PrivateKey.generate().public_key()
    try:
        for verifier in (Verifier(key, 300, guard), Verifier(None, 300, guard, False)):
            with contextlib.suppress(AuthError):
                verifier.open("gate/s/g/cmd/open", payload, datetime.now(UTC), True)
    finally:
        guard.close()


@SETTINGS
@given(line=st.binary(max_size=300) | JSONISH.map(lambda v: json.dumps(v).encode()))
def test_control_socket_always_answers(app: App, line: bytes) -> None:
    from agent.faces.control import ControlServer
    from agent.faces.simulate import SimControls

    server = ControlServer(SimControls(app), app.paths.control_socket)
    reply = server.handle_line(line)
    assert isinstance(reply, dict) and isinstance(reply["ok"], bool)


@SETTINGS
@given(
    op=st.sampled_from(["tap", "press", "door", "fire", "status", "learn", "ping"]),
    args=st.dictionaries(st.sampled_from(["card", "door", "reader", "button", "state", "on",
                                          "recent", "timeout_s"]), JSONISH, max_size=3),
)  # fmt: skip
def test_control_ops_with_any_arguments(app: App, op: str, args: dict[str, Any]) -> None:
    from agent.faces.control import ControlServer
    from agent.faces.simulate import SimControls

    if op == "learn":
        args["timeout_s"] = 0.01  # a learn that waits is not what is under test
    server = ControlServer(SimControls(app), app.paths.control_socket)
    reply = server.handle({"op": op, **args})
    assert isinstance(reply["ok"], bool)
    if not reply["ok"]:
        assert isinstance(reply["error"], str)


TEXT = st.text(max_size=400) | st.binary(max_size=400).map(lambda b: b.decode("latin-1"))


@SETTINGS
@given(text=TEXT, suffix=st.sampled_from([".csv", ".json"]))
def test_allowlist_files_only_raise_import_errors(app: App, text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"list{suffix}"
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        with contextlib.suppress(GateError):
            load_file(path, app.config, app.hasher)


def test_allowlist_file_oddities(app: App, tmp_path: Path) -> None:
    cases = {
        "huge.csv": "card,holder_id\n" + "x" * 200_000 + ",R-1\n",
        "nul.csv": "card,holder_id\nuid:04A1B2C3,R\x00-1\n",
        "latin1.csv": "card,holder_id\nuid:04A1B2C3,R-\xe9\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(text.encode("latin-1"))
        with contextlib.suppress(GateError):
            load_file(path, app.config, app.hasher)
    with contextlib.suppress(GateError):
        load_file(tmp_path, app.config, app.hasher)  # a folder


@SETTINGS
@given(text=TEXT)
def test_config_files_only_raise_config_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gate.toml"
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        with contextlib.suppress(ConfigError):
            load_config(path)


@SETTINGS
@given(data=st.binary(max_size=300) | JSONISH.map(lambda v: json.dumps(v).encode()))
def test_overlay_files_only_raise_overlay_corrupt(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.remote.json"
        path.write_bytes(data)
        with contextlib.suppress(OverlayCorrupt):
            OverlayStore(path).load()
