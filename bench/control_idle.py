"""How long a `status` request waits on the control socket while idle clients are connected.

A gate runs in process with its control socket; ``--idle`` clients connect and send
nothing, then ``--requests`` status requests are timed one after another, each from
connect to reply. JSON out.

    python bench/control_idle.py [--idle 400] [--requests 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.faces.control import ControlServer, request
from agent.faces.simulate import SimControls
from bench.common import bench_gate, machine, percentiles_ms


def run(idle: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_gate(Path(tmp), {}, {"enabled": False})
        path = app.paths.control_socket
        app.add_part(ControlServer(SimControls(app), path))
        app.start()
        clients: list[socket.socket] = []
        try:
            for _ in range(idle):
                clients.append(_connect(path))
            waits: list[float] = []
            answered = 0
            for _ in range(requests):
                started = time.perf_counter()
                try:
                    reply = request(path, "status", timeout=60, recent=0)
                except OSError:
                    reply = {"ok": False}
                waits.append(time.perf_counter() - started)
                answered += bool(reply.get("ok"))
        finally:
            for sock in clients:
                sock.close()
            app.stop()
    return {
        "bench": "control_idle",
        "machine": machine(),
        "idle_clients": idle,
        "status_wait": percentiles_ms(waits),
        "status_answered": answered,
        "status_requests": requests,
    }


def _connect(path: Path) -> socket.socket:
    """Connect, waiting while the backlog is full."""
    for _ in range(10_000):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(str(path))
        except BlockingIOError:
            sock.close()
            time.sleep(0.001)
            continue
        return sock
    raise RuntimeError("the backlog never had room")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=400)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(run(args.idle, args.requests), indent=2))


if __name__ == "__main__":
    main()
