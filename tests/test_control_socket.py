"""The control socket holds under abuse: idle clients hold nobody up and time out, a cap
on requests in progress answers "busy", bursts queue in a real backlog, running out of
file descriptors is waited out, and a tap sent while the agent starts is decided."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
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
from tests.helpers import write_sim_config


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


def _connect_patiently(path: Path) -> socket.socket:
    """Connect, waiting while the backlog is full (many clients arriving at once)."""
    for _ in range(5000):
        try:
            return _connect(path)
        except BlockingIOError:
            time.sleep(0.001)
    raise AssertionError("the backlog never had room")


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


@pytest.mark.parametrize("sent", [b'{"op": "ping"}', b"\x00garbage{", b""])
def test_a_request_ended_by_closing_our_side_is_answered_like_a_line(
    served: tuple[ControlServer, HeldThreads], sent: bytes
) -> None:
    server, threads = served
    threads.release()
    with _connect(server.path) as sock:
        sock.sendall(sent)
        sock.shutdown(socket.SHUT_WR)  # no newline: the end of our side ends the request
        reply = _answer(sock)
    if sent.startswith(b"{"):
        assert reply == {"ok": True, "result": {"pong": True}}
    else:
        assert reply["ok"] is False and isinstance(reply["error"], str), reply


def test_a_line_past_the_limit_is_cut_there_even_when_it_arrives_whole(
    served: tuple[ControlServer, HeldThreads],
) -> None:
    server, threads = served
    threads.release()
    with _connect(server.path) as sock:
        sock.sendall(b'{"op": "ping"' + b" " * (control.MAX_REQUEST + 10) + b"}\n")
        reply = _answer(sock)
    assert reply["ok"] is False and isinstance(reply["error"], str), reply


IDLE_CLIENTS = 400


def test_idle_clients_hold_up_no_request_and_are_dropped(
    served: tuple[ControlServer, HeldThreads],
) -> None:
    """400 clients that connect and say nothing: a status request is answered at once
    (not after their read timeouts), and each idle client is dropped in its time."""
    server, threads = served
    threads.release()
    idle = [_connect_patiently(server.path) for _ in range(IDLE_CLIENTS)]
    try:
        time.sleep(0.3)  # let the server take them all on
        reply = request(server.path, "status", timeout=30, recent=0)
        assert reply["ok"] is True, reply
        assert request(server.path, "ping", timeout=30) == {"ok": True, "result": {"pong": True}}
        for sock in idle:  # an idle client is dropped after the read timeout
            assert sock.recv(1) == b""
    finally:
        for sock in idle:
            sock.close()


def test_requests_in_progress_are_capped(
    served: tuple[ControlServer, HeldThreads], app: App
) -> None:
    """Requests still being answered (learns waiting for a card) are what the cap counts."""
    server, threads = served
    threads.release()
    reader = next(iter(app.devices.readers))
    learners = [_connect(server.path) for _ in range(control.MAX_CLIENTS)]
    try:
        for sock in learners:
            sock.sendall(json.dumps({"op": "learn", "reader": reader, "timeout_s": 3}).encode()
                         + b"\n")  # fmt: skip
        time.sleep(0.5)
        extra = request(server.path, "ping", timeout=5)
        assert extra["ok"] is False and "try again" in str(extra["error"])
        for sock in learners:
            assert _answer(sock)["ok"] is False  # no card came
        assert request(server.path, "ping", timeout=5)["ok"] is True
    finally:
        for sock in learners:
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


STARTS = 5
TAP = json.dumps({"op": "tap", "card": "uid:0BAD0001", "reader": "vehicle-in"}).encode()


def test_a_tap_sent_the_moment_the_socket_accepts_is_decided(tmp_path: Path) -> None:
    """`gate-agent run`, then a simulated tap as soon as the control socket accepts:
    every start, the tap is decided (not dropped before the readers are attached)."""
    config = write_sim_config(tmp_path)
    sock_path = tmp_path / "state" / "control.sock"
    for start in range(STARTS):
        sock_path.unlink(missing_ok=True)
        log = (tmp_path / f"agent-{start}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.faces.cli", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            sock = _first_accept(sock_path, proc)
            with sock:
                sock.sendall(TAP + b"\n")
                reply = _answer(sock)
            assert reply["ok"] is True, (start, reply)
            result = reply["result"]
            assert isinstance(result, dict) and result["granted"] is False  # decided: denied
        finally:
            proc.terminate()
            assert proc.wait(20) == 0
            log.close()
        assert "Traceback" not in (tmp_path / f"agent-{start}.log").read_text()


def _first_accept(path: Path, proc: subprocess.Popen[bytes]) -> socket.socket:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the agent exited early"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            time.sleep(0.001)
            continue
        sock.settimeout(60)
        return sock
    raise AssertionError("the control socket never accepted")


def test_a_tap_the_core_does_not_answer_in_time_is_a_one_line_error(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    sim = SimControls(app)

    def too_slow(**_kw: object) -> None:
        raise TimeoutError  # what run_sync raises when the core loop is held up

    sim.tap = too_slow  # type: ignore[assignment,method-assign]
    server = ControlServer(sim, app.paths.control_socket)
    reply = server.handle({"op": "tap", "card": "uid:0BAD0001"})
    assert reply == {"ok": False, "error": "tap timed out: the gate is busy; try again"}
    assert not any(r.exc_info for r in caplog.records), "a traceback reached the log"
    assert any("tap timed out" in r.getMessage() for r in caplog.records)
