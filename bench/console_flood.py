"""The guard console under floods from another LAN host (issue 17, item 2): how long a
genuine guard's round (sign-in page, sign in, live page, register a visitor and open the
door) takes under each, and how many rounds succeed at the first try.

    .venv/bin/python bench/console_flood.py [--rounds 10]

Prints JSON. "before" is what the issue measured on the http.server console (16 slots).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.console.wiring import attach_console
from agent.core.clock import SystemClock
from agent.gate.assemble import build_app
from agent.models.config import validate_config
from agent.store.credentials import write_new_key
from bench.common import gate_document, machine, percentiles_ms
from tests.console_floods import (
    flood,
    http_request,
    nothing,
    sign_in_and_open,
    slowloris_byte,
    stalled_hello,
)
from tests.console_helpers import PASSWORD, add_guards
from tests.test_console_parts import _self_signed

BEFORE = {  # issue 17, item 2: the standard library's http.server console
    "slowloris_200": "sign-in page 0 of 14; 11 of 11 sign-in-and-open rounds failed",
    "idle_40": "sign-in 1 of 10",
    "tls_stalled_20": "a genuine HTTPS sign-in fails",
    "live_views_one_session": "one session held all 6 live views: others locked out",
}


@contextmanager
def gate(folder: Path, tls: bool) -> Iterator[tuple[int, ssl.SSLContext | None]]:
    write_new_key(folder / "site.key")
    doc = gate_document({}, {})
    doc["mqtt"] = {"enabled": False}
    doc["console"] = {"enabled": True, "port": 0}
    trust = None
    if tls:
        cert, key = _self_signed(folder)
        doc["console"] |= {"tls_cert_file": str(cert), "tls_key_file": str(key)}
        trust = ssl.create_default_context(cafile=str(cert))
        trust.check_hostname = False
    app = build_app(validate_config(doc, folder), clock=SystemClock())
    add_guards(app, "alice", "hog")
    part = attach_console(app)
    app.start()
    try:
        assert part.port is not None
        yield part.port, trust
    finally:
        app.stop()


@contextmanager
def live_hog(port: int) -> Iterator[None]:
    """One session opening 12 live views (each on its own connection, kept open)."""
    _, cookies, page = http_request(port, "GET", "/login", {})
    csrf = re.search(r'name="csrf" value="([^"]*)"', page)
    assert csrf is not None
    _, got, _ = http_request(port, "POST", "/login", cookies,
                             {"csrf": csrf.group(1), "guard_id": "hog",
                              "password": PASSWORD})  # fmt: skip
    socks = []
    for _ in range(12):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /live HTTP/1.1\r\nHost: g\r\nCookie: gate_console="
                     + got["gate_console"].encode() + b"\r\n\r\n")  # fmt: skip
        socks.append(sock)
    time.sleep(1)
    try:
        yield
    finally:
        for sock in socks:
            sock.close()


def measure(port: int, trust: ssl.SSLContext | None, rounds: int,
            under: AbstractContextManager[Any]) -> dict[str, Any]:  # fmt: skip
    times, ok = [], 0
    with under:
        for _ in range(rounds):
            start = time.monotonic()
            if sign_in_and_open(port, "alice", "main", trust, timeout=10):
                ok += 1
                times.append(time.monotonic() - start)
    out: dict[str, Any] = {"rounds_ok": f"{ok} of {rounds}"}
    if len(times) >= 2:
        out |= {k: v for k, v in percentiles_ms(times).items() if k != "samples"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    floods: dict[str, tuple[bool, Callable[[int], AbstractContextManager[Any]]]] = {
        "no_flood": (False, lambda port: nullcontext()),
        "slowloris_200": (False, lambda port: flood(port, 200, 3.0, slowloris_byte)),
        "idle_40": (False, lambda port: flood(port, 40, 0.2, nothing)),
        "tls_stalled_20": (True, lambda port: flood(port, 20, 0.2, stalled_hello)),
        "live_views_one_session": (False, live_hog),
    }
    after = {}
    for name, (tls, make) in floods.items():
        with tempfile.TemporaryDirectory() as tmp, gate(Path(tmp), tls) as (port, trust):
            after[name] = measure(port, trust, rounds, make(port))
    print(json.dumps({"bench": "console_flood", "machine": machine(),
                      "round": "sign-in page, sign in, live page, open a door",
                      "before": BEFORE, "after": after}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
