"""Floods against a console (tests and bench/console_flood.py): slowloris, idle sockets,
stalled TLS handshakes and one session's many live views, each on its own thread, from
loopback addresses other than the genuine guard's 127.0.0.1 (another host on the LAN).

Every loop is bounded by ``stop`` and a deadline; every socket is closed at the end.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from tests.console_helpers import PASSWORD

SLOWLORIS_HEAD = b"GET /login HTTP/1.1\r\nHost: gate\r\nX-Slow: " + b"a" * 4000
MAX_FLOOD_S = 300.0


def attacker_address(n: int, hosts: int = 10) -> str:
    return f"127.0.0.{2 + n % hosts}"


def _connect(port: int, source: str) -> socket.socket | None:
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(source, 0))
    except OSError:
        return None
    sock.setblocking(False)
    return sock


def _flood(port: int, count: int, every_s: float, payload: Callable[[int], bytes | None],
           stop: threading.Event) -> None:  # fmt: skip
    """``count`` sockets, each sent ``payload(i)`` (one step) every ``every_s``, reopened
    when the server closes them (the attacker keeps trying)."""
    socks: list[socket.socket | None] = [None] * count
    steps = [0] * count
    ends = time.monotonic() + MAX_FLOOD_S
    try:
        while not stop.is_set() and time.monotonic() < ends:
            for i in range(count):
                sock = socks[i]
                if sock is None:
                    socks[i] = sock = _connect(port, attacker_address(i))
                    steps[i] = 0
                    if sock is None:
                        continue
                data = payload(steps[i])
                steps[i] += 1
                try:
                    if sock.recv(1) == b"":
                        raise OSError("closed")
                except BlockingIOError:
                    pass
                except OSError:
                    sock.close()
                    socks[i] = None
                    continue
                try:
                    if data:
                        sock.send(data)
                except OSError:
                    sock.close()
                    socks[i] = None
            stop.wait(every_s)
    finally:
        for sock in socks:
            if sock is not None:
                sock.close()


def slowloris_byte(step: int) -> bytes:
    return SLOWLORIS_HEAD[step % len(SLOWLORIS_HEAD) : step % len(SLOWLORIS_HEAD) + 1]


def nothing(step: int) -> None:
    return None


def stalled_hello(step: int) -> bytes | None:
    # the first bytes of a TLS record header, then nothing: the handshake never ends
    return b"\x16\x03\x01" if step == 0 else None


@contextmanager
def flood(port: int, count: int, every_s: float,
          payload: Callable[[int], bytes | None]) -> Iterator[None]:  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=_flood, args=(port, count, every_s, payload, stop),
                              daemon=True)  # fmt: skip
    thread.start()
    time.sleep(min(2.0, every_s + 0.5))  # the flood is in place
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def http_request(port: int, method: str, path: str, cookies: dict[str, str],
                 fields: dict[str, str] | None = None, tls: ssl.SSLContext | None = None,
                 timeout: float = 5.0) -> tuple[int, dict[str, str], str]:  # fmt: skip
    """One request on a new connection: (status, cookies set, page)."""
    import http.client

    conn: http.client.HTTPConnection
    if tls is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    body = None
    if fields is not None:
        body = urlencode(fields).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    set_cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            set_cookies[key] = rest.split(";", 1)[0]
    return response.status, set_cookies, text


def sign_in_and_open(port: int, guard: str, door: str, tls: ssl.SSLContext | None = None,
                     timeout: float = 5.0) -> bool:  # fmt: skip
    """A genuine guard's round: the sign-in page, sign in, the page, open ``door``."""
    import re

    try:
        status, cookies, page = http_request(port, "GET", "/login", {}, tls=tls, timeout=timeout)
        csrf = re.search(r'name="csrf" value="([^"]*)"', page)
        if status != 200 or csrf is None:
            return False
        status, got, _ = http_request(port, "POST", "/login", cookies,
                                      {"csrf": csrf.group(1), "guard_id": guard,
                                       "password": PASSWORD}, tls=tls, timeout=timeout)  # fmt: skip
        if status != 303 or "gate_console" not in got:
            return False
        session = {"gate_console": got["gate_console"]}
        status, _, page = http_request(port, "GET", "/", session, tls=tls, timeout=timeout)
        csrf = re.search(r'name="csrf" content="([^"]*)"', page)
        if status != 200 or csrf is None:
            return False
        fields = {"csrf": csrf.group(1), "host_unit": "B-1", "purpose": "flood test",
                  "party_size": "1", "id_seen": "yes", "open_door": door}  # fmt: skip
        status, _, _ = http_request(port, "POST", "/visitor", session, fields, tls=tls,
                                    timeout=timeout)  # fmt: skip
        return status == 303
    except (OSError, ssl.SSLError, ConnectionError):
        return False


def rounds_until(port: int, guard: str, door: str, deadline_s: float,
                 tls: ssl.SSLContext | None = None) -> float | None:  # fmt: skip
    """Seconds until a whole round succeeded (retrying as a guard would), None if never."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if sign_in_and_open(port, guard, door, tls):
            return time.monotonic() - start
        time.sleep(0.2)
    return None
