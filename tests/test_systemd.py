import socket
from pathlib import Path

from agent.gate.assemble import build_app
from agent.gate.systemd import Notifier


def test_notify_ready_watchdog_stopping(tmp_path: Path, make_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        monkeypatch.setenv("WATCHDOG_USEC", "2000000")
        notifier = Notifier()
        assert notifier.watchdog_interval == 1.0
        app = build_app(make_config(), notifier=notifier)
        app.start(threaded=True)
        messages = {server.recv(4096).decode() for _ in range(2)}
        assert any(m.startswith("READY=1") for m in messages)
        assert "WATCHDOG=1" in messages
        app.stop()
        later = set()
        while b"STOPPING=1" not in later:
            later.add(server.recv(4096))  # raises on timeout if STOPPING never comes


def test_no_socket_no_op(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    opened: list[object] = []
    monkeypatch.setattr("socket.socket", lambda *a, **k: opened.append(a))
    notifier = Notifier("")
    notifier.ready()
    notifier.watchdog()
    assert not opened  # outside systemd nothing is sent anywhere
