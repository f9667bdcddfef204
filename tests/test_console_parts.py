"""The console's parts: the live stream, TLS, its config, the break-glass command, and
its form parser fed hostile input."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.console.forms import FormError, VisitorForm, parse_body, validate
from agent.console.server import ConsolePart
from agent.console.wiring import attach_console
from agent.errors import ConfigError
from agent.gate.app import App
from agent.models.config import GateConfig
from agent.store.guards import GuardStore
from agent.store.passwords import verify_password
from agent.store.paths import StatePaths
from tests.conftest import enroll
from tests.console_helpers import Client, add_guards
from tests.helpers import write_sim_config


def live_console(make_app: Callable[..., App], config: GateConfig) -> tuple[App, ConsolePart]:
    app = make_app(config)
    add_guards(app, "alice")
    part = attach_console(app)
    app.start()
    return app, part


def read_until(sock: socket.socket, want: bytes, seen: bytearray) -> bytes:
    """Bytes from the stream until ``want`` has arrived (10 s at most)."""
    sock.settimeout(10)
    while want not in seen:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"stream ended before {want!r}: {bytes(seen)[-300:]!r}")
        seen += chunk
    return bytes(seen)


def test_the_live_stream_carries_state_panel_and_the_feed(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    app, part = live_console(make_app, make_config(console={"enabled": True, "port": 0}))
    enroll(app, "uid:04A224B2", holder_id="R-7", unit="B-12")
    guard = Client(part)
    guard.sign_in("alice")
    with socket.create_connection(("127.0.0.1", part.port or 0)) as sock:
        sock.sendall(b"GET /live HTTP/1.1\r\nHost: x\r\nCookie: gate_console="
                     + guard.cookies["gate_console"].encode() + b"\r\n\r\n")  # fmt: skip
        seen = bytearray()
        head = read_until(sock, b"event: state", seen)
        assert b"text/event-stream" in head and b"event: panel" in head
        app.devices.readers["main-in"].present("uid:04A224B2")  # type: ignore[attr-defined]
        app.devices.readers["main-in"].present("uid:0BADCAFE")  # type: ignore[attr-defined]
        text = read_until(sock, b"card not on the list", seen).decode()
        assert "Entry at main (in): resident R-7, unit B-12" in text
        feed = [json.loads(ln[6:]) for ln in text.splitlines() if ln.startswith('data: {"seq')]
        assert [f["kind"] for f in feed][-2:] == ["entry", "denial"]
        app.devices.inputs["fire"].set(True)  # type: ignore[attr-defined]
        read_until(sock, b'"kind":"fire"', seen)  # the alarm panel
        text = read_until(sock, b'"main":"released', seen).decode()  # and the doors
        assert "FIRE ALARM" in text


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gate console")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "console.pem", folder / "console.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls_on_the_lan_and_secure_cookies(  # type: ignore[no-untyped-def]
    make_app, make_config, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    tls = {"tls_cert_file": str(cert), "tls_key_file": str(key)}
    config = make_config(console={"enabled": True, "port": 0, "address": "127.0.0.1", **tls})
    _, part = live_console(make_app, config)
    trust = ssl.create_default_context(cafile=str(cert))
    trust.check_hostname = False
    guard = Client(part, tls=trust)
    assert guard.sign_in("alice") == 303
    (cookie,) = [c for c in guard.header("Set-Cookie") if c.startswith("gate_console=")]
    assert "; Secure" in cookie
    assert guard.get("/")[0] == 200
    with socket.create_connection(("127.0.0.1", part.port or 0)) as plain:  # no TLS: no page
        plain.settimeout(10)
        plain.sendall(b"GET /login HTTP/1.0\r\n\r\n")
        assert b"Sign in" not in plain.recv(4096)
    assert guard.get("/")[0] == 200  # the failed client held nothing up


def test_config_off_by_default_and_tls_wanted_off_loopback(make_config) -> None:  # type: ignore[no-untyped-def]
    assert make_config().console.enabled is False
    with pytest.raises(ConfigError) as lan:
        make_config(console={"enabled": True, "address": "192.168.1.20"})
    assert "tls_cert_file" in str(lan.value)
    assert make_config(console={"enabled": True, "address": "192.168.1.20",
                                "insecure_http": True}).console.loopback is False  # fmt: skip
    with pytest.raises(ConfigError, match="go together"):
        make_config(console={"tls_cert_file": "a.pem"})
    with pytest.raises(ConfigError, match="not an IP address"):
        make_config(console={"address": "gate.local"})


def test_a_console_that_cannot_listen_leaves_the_gate_running(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app, part = live_console(make_app, make_config(console={"enabled": True, "port": port}))
        assert part.port is None
        assert app.status(0).mode == "normal"


def test_a_console_without_its_certificate_leaves_the_gate_running(  # type: ignore[no-untyped-def]
    make_app, make_config, tmp_path: Path
) -> None:
    (tmp_path / "gone.key").write_text("not a key")
    tls = {"tls_cert_file": str(tmp_path / "gone.pem"), "tls_key_file": str(tmp_path / "gone.key")}
    app, part = live_console(make_app, make_config(console={"enabled": True, "port": 0, **tls}))
    assert part.port is None
    assert app.status(0).mode == "normal"


def test_break_glass_password_from_stdin(tmp_path: Path) -> None:
    config = write_sim_config(tmp_path)
    run = [sys.executable, "-m", "agent.faces.cli", "guard", "set-breakglass", "-c", str(config)]
    short = subprocess.run(run, input="short\n", capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and short.stderr.count("\n") == 1
    done = subprocess.run(run, input="a long enough secret\n", capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    paths = StatePaths(tmp_path / "state")
    assert stat.S_IMODE(os.stat(paths.guard_breakglass).st_mode) == 0o600
    account = GuardStore(paths).account("breakglass")
    assert account is not None and account.breakglass
    assert verify_password("a long enough secret", account.password_hash)
    assert "a long enough secret" not in paths.guard_breakglass.read_text()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_forms_refuse_garbage_with_form_errors_only(body: bytes) -> None:
    try:
        validate(VisitorForm, parse_body(body))
    except FormError as exc:
        assert str(exc)


def test_the_console_stops_with_the_gate(make_app, make_config) -> None:  # type: ignore[no-untyped-def]
    import threading

    app, part = live_console(make_app, make_config(console={"enabled": True, "port": 0}))
    guard = Client(part)
    guard.sign_in("alice")
    with socket.create_connection(("127.0.0.1", part.port or 0)) as sock:
        sock.sendall(b"GET /live HTTP/1.0\r\nCookie: gate_console="
                     + guard.cookies["gate_console"].encode() + b"\r\n\r\n")  # fmt: skip
        read_until(sock, b"event: state", bytearray())
        app.stop()  # the runner stops the part and joins its threads, the live page's too
        assert not [t for t in threading.enumerate() if t.name.startswith("gate-console")]
        sock.settimeout(10)
        while sock.recv(4096):
            pass  # the stream was closed: the page will reconnect to the next gate
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", part.port or 0), timeout=5)


def test_gate_agent_run_serves_the_console(tmp_path: Path) -> None:
    from tests.broker import free_port
    from tests.helpers import AgentProcess

    port = free_port()
    config = write_sim_config(tmp_path, extra=f"\n[console]\nenabled = true\nport = {port}\n")
    agent = AgentProcess(config)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /login HTTP/1.0\r\n\r\n")
            page = read_until(sock, b"</html>", bytearray())
        # the default language: Simplified Chinese
        assert b"200 OK" in page and b'lang="zh-Hans"' in page
        assert "登录".encode() in page
    finally:
        assert agent.terminate() == 0
