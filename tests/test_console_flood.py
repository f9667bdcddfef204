"""The console under floods from another host on the LAN (issue 17, item 2): a genuine
guard still signs in and opens a door. Real uvicorn, real sockets, loopback only; the
attackers use 127.0.0.2 and up, the guard 127.0.0.1. Times are measured by
bench/console_flood.py; here each round only has a generous deadline.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.console.guard import HEAD_S, PER_ADDRESS, head_problem
from agent.console.server import ConsolePart
from agent.console.stream import PER_SESSION
from agent.console.wiring import attach_console
from agent.gate.app import App
from agent.models.config import GateConfig
from tests.console_floods import (
    flood,
    nothing,
    sign_in_and_open,
    slowloris_byte,
    stalled_hello,
)
from tests.console_helpers import Client, add_guards
from tests.test_console_parts import _self_signed, read_until

ROUNDS = 5  # each must succeed at its first try, as a guard at the door would need


def served(make_app: Callable[..., App], config: GateConfig) -> tuple[App, ConsolePart]:
    app = make_app(config)
    add_guards(app, "alice", "bob")
    part = attach_console(app)
    app.start()
    assert part.port is not None
    return app, part


@pytest.fixture
def console(make_app, make_config) -> tuple[App, ConsolePart]:  # type: ignore[no-untyped-def]
    return served(make_app, make_config(console={"enabled": True, "port": 0}))


def all_rounds(port: int, tls: ssl.SSLContext | None = None) -> bool:
    """ROUNDS sign-in-and-open rounds, each with a generous 10 s per request."""
    return all(sign_in_and_open(port, "alice", "main", tls, timeout=10) for _ in range(ROUNDS))


def opened_by(app: App, guard: str) -> int:
    by = f"guard:{guard}"
    return sum(1 for e in app.events.recent(500)
               if e.type.value == "remote_open" and e.details.get("by") == by)  # fmt: skip


def test_a_guard_gets_in_under_200_slowloris_connections(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    with flood(part.port, 200, 3.0, slowloris_byte):
        assert all_rounds(part.port)
    assert opened_by(app, "alice") == ROUNDS


def test_a_guard_gets_in_under_40_idle_connections(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    with flood(part.port, 40, 0.2, nothing):
        assert all_rounds(part.port)
    assert opened_by(app, "alice") == ROUNDS


def test_a_guard_gets_in_over_https_under_20_stalled_handshakes(  # type: ignore[no-untyped-def]
    make_app, make_config, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    tls = {"tls_cert_file": str(cert), "tls_key_file": str(key)}
    app, part = served(make_app, make_config(console={"enabled": True, "port": 0, **tls}))
    trust = ssl.create_default_context(cafile=str(cert))
    trust.check_hostname = False
    with flood(part.port, 20, 0.2, stalled_hello):
        assert all_rounds(part.port, trust)
    assert opened_by(app, "alice") == ROUNDS


def _live(port: int, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /live HTTP/1.1\r\nHost: gate\r\nCookie: gate_console="
                 + token.encode() + b"\r\n\r\n")  # fmt: skip
    return sock


def test_one_session_cannot_take_every_live_view(console) -> None:  # type: ignore[no-untyped-def]
    app, part = console
    hog = Client(part)
    assert hog.sign_in("alice") == 303
    views: list[socket.socket] = []
    try:
        for _ in range(12):  # one after another, so "newest" is the order they opened in
            views.append(_live(part.port, hog.cookies["gate_console"]))
            # the first event, not just the head: the head goes out before the view is
            # counted, so 12 heads could arrive in one order and the views open in another
            read_until(views[-1], b"event: panel", bytearray())
        guard = Client(part)
        assert guard.sign_in("bob") == 303
        with _live(part.port, guard.cookies["gate_console"]) as mine:
            read_until(mine, b"event: panel", bytearray())  # a live view, not "retry later"
        # the hog keeps only its newest few; the older ones were ended and closed
        for sock in views[:-PER_SESSION]:
            sock.settimeout(10)
            while sock.recv(65536):
                pass
        for sock in views[-PER_SESSION:]:
            read_until(sock, b"event: state", bytearray())
        assert part.console.views.count() <= PER_SESSION
    finally:
        for sock in views:
            sock.close()
    assert sum(1 for e in app.events.recent(50) if e.type.value == "guard_signed_in") == 2


def test_a_slow_head_is_cut_off_at_the_deadline(console) -> None:  # type: ignore[no-untyped-def]
    _, part = console
    with socket.create_connection(("127.0.0.1", part.port), timeout=1) as sock:
        start = time.monotonic()
        closed = False
        for step in range(60):  # a byte a second, for up to a minute
            try:
                sock.sendall(slowloris_byte(step))
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed, "the server kept a slow request head open"
        assert time.monotonic() - start < HEAD_S + 10


def test_connections_per_address_are_bounded(console) -> None:  # type: ignore[no-untyped-def]
    _, part = console
    socks = [socket.create_connection(("127.0.0.1", part.port), timeout=5,
                                      source_address=("127.0.0.9", 0))
             for _ in range(PER_ADDRESS + 10)]  # fmt: skip
    try:
        time.sleep(1.0)  # well within the head deadline: only the refused ones are closed
        closed = 0
        for sock in socks:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        assert closed == 10
        assert Client(part).sign_in("alice") == 303  # another address: not touched
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("head", [
    b"POST /login HTTP/1.1\r\nHost: gate\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"POST /login HTTP/1.1\r\nHost: gate\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
    b"GET /login HTTP/1.1\r\nHost: gate\r\nHost: evil\r\n",
    b"GET /login HTTP/1.1\r\nHost: gate\r\nX-Long: a\r\n folded\r\n",
], ids=["cl-and-te", "two-content-lengths", "two-hosts", "folded"])  # fmt: skip
def test_ambiguous_request_heads_get_a_400(console, head: bytes) -> None:  # type: ignore[no-untyped-def]
    _, part = console
    with socket.create_connection(("127.0.0.1", part.port), timeout=10) as sock:
        sock.sendall(head + b"\r\n0\r\n\r\n")
        answer = read_until(sock, b"\r\n", bytearray())
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=8),
       st.sampled_from([b" ", b"\t"]))  # fmt: skip
def test_the_head_check_takes_any_bytes_and_always_finds_a_fold(lines: list[bytes],
                                                               fold: bytes) -> None:  # fmt: skip
    head = b"\r\n".join([b"GET / HTTP/1.1", *lines])
    problem = head_problem(head)
    assert problem is None or isinstance(problem, str)
    folded = head + b"\r\n" + fold + b"continued"
    assert head_problem(folded) == "folded header lines are not allowed"
