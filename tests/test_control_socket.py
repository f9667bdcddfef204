"""The control socket holds under abuse: idle clients time out, a cap answers "busy",
bursts queue in a real backlog, and running out of file descriptors is waited out."""

from __future__ import annotations

import json
import os
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.core.runner import Threads
from agent.faces import control
from agent.faces.control import ControlServer, request
from agent.faces.simulate import SimControls
from agent.gate.app import App


class HeldThreads(Threads):
    """Threads whose serve loop only starts when the test says so."""

    def __init__(self) -> None:
        super().__init__("test")
        self.held: list[Callable[[], None]] = []

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        if name == "gate-control":
            self.held.append(target)
            return threading.current_thread()
        return super().spawn(name, target)

    def release(self) -> None:
        super().spawn("gate-control", self.held.pop())


@pytest.fixture
def served(app: App) -> Iterator[tuple[ControlServer, HeldThreads]]:
    server = ControlServer(SimControls(app), app.paths.control_socket)
    threads = HeldThreads()
    server.start(threads)
    yield server, threads
    if threads.held:
        threads.release()  # serve_forever must run for shutdown() to return
    server.stop()
    threads.stop()


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.connect(str(path))  # a full backlog refuses at once with EAGAIN
    sock.setblocking(True)
    sock.settimeout(10)
    return sock


def _ask(sock: socket.socket) -> dict[str, object]:
    sock.sendall(b'{"op": "ping"}\n')
    return _answer(sock)


def _answer(sock: socket.socket) -> dict[str, object]:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    reply: dict[str, object] = json.loads(data)
    return reply


def test_a_burst_waits_in_the_backlog_instead_of_being_refused(
    served: tuple[ControlServer, HeldThreads],
) -> None:
    server, threads = served
    burst = [_connect(server.path) for _ in range(40)]  # nobody accepting yet
    for sock in burst:
        sock.sendall(b'{"op": "ping"}\n')
    threads.release()
    replies = []
    for sock in burst:
        with sock:
            replies.append(_answer(sock))
    assert all(r == {"ok": True, "result": {"pong": True}} for r in replies)


def test_idle_clients_are_capped_then_dropped(served: tuple[ControlServer, HeldThreads]) -> None:
    server, threads = served
    threads.release()
    idle = [_connect(server.path) for _ in range(control.MAX_CLIENTS)]
    time.sleep(0.3)  # let the server take them all on
    try:
        extra = request(server.path, "ping", timeout=5)
        assert extra["ok"] is False and "try again" in str(extra["error"])
        # an idle client is dropped after the read timeout, which frees its slot
        for sock in idle:
            assert sock.recv(1) == b""
        assert request(server.path, "ping", timeout=5)["ok"] is True
    finally:
        for sock in idle:
            sock.close()


def test_running_out_of_file_descriptors_is_waited_out_not_spun_on(
    served: tuple[ControlServer, HeldThreads], caplog: pytest.LogCaptureFixture
) -> None:
    server, threads = served
    waiting = _connect(server.path)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hogs: list[int] = []
    in_use = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 16, hard))
    try:
        try:
            while True:
                hogs.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass
        threads.release()
        busy_from = time.process_time()
        time.sleep(1.5)
        cpu = time.process_time() - busy_from
    finally:
        for fd in hogs:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    # a spinning accept loop burns a whole core; backing off costs next to nothing
    assert cpu < 0.5, f"{cpu:.2f} s of CPU in 1.5 s while out of file descriptors"
    with waiting:
        assert _ask(waiting) == {"ok": True, "result": {"pong": True}}
    warnings = [r.getMessage() for r in caplog.records if "backing off" in r.getMessage()]
    assert len(warnings) == 1
