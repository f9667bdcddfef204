"""The local control socket: status for the CLI, stimuli for simulated devices.

One JSON object per line in, one per line out, on a Unix socket in the state
folder (mode 0600: only the agent's own user may drive it).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.errors import GateError
from drivers.cards import CardFormatError
from drivers.sim import SimCardReader, SimInput

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024


class ControlError(GateError):
    """A control request that cannot be done (unknown door, device not simulated)."""


class SimControls:
    """Stimuli for a running App's simulated devices; each waits for the core to act."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def _door(self, door: str | None) -> str:
        door_id = door or self.app.config.doors[0].id
        if door_id not in self.app.doors:
            raise ControlError(f"no door {door_id!r}; doors: {', '.join(self.app.doors)}")
        return door_id

    def _sim_input(self, name: str) -> SimInput:
        device = self.app.inputs.get(name)
        if device is None:
            raise ControlError(f"no input {name!r} is configured")
        if not isinstance(device, SimInput):
            raise ControlError(f"input {name!r} is not simulated")
        return device

    def tap(self, card: str, door: str | None = None, reader: str | None = None) -> dict[str, Any]:
        door_id = self._door(door)
        candidates = [
            r
            for r_id, r in self.app.readers.items()
            if self.app.reader_door[r_id] == door_id and (reader is None or r_id == reader)
        ]
        sims = [r for r in candidates if isinstance(r, SimCardReader)]
        if not sims:
            raise ControlError(f"door {door_id!r} has no simulated reader")
        try:
            sims[0].present(card)
        except CardFormatError as exc:
            raise ControlError(f"card: {exc}") from None
        # the read was posted before this barrier, so it has been decided when it returns
        result: dict[str, Any] = self.app.loop.run_sync(
            lambda: dict(self.app.last_decisions[sims[0].name])
        )
        result.pop("credential", None)
        return result

    def press(self, button: str, door: str | None = None) -> dict[str, Any]:
        if button == "visitor":
            self._sim_input("visitor").press()
        elif button == "exit":
            self._sim_input(f"{self._door(door)}.exit").press()
        else:
            raise ControlError("button is visitor or exit")
        return self._settled()

    def door(self, state: str, door: str | None = None) -> dict[str, Any]:
        if state not in ("open", "close"):
            raise ControlError("door state is open or close")
        door_id = self._door(door)
        self._sim_input(f"{door_id}.contact").set(state == "open")
        return self._settled()

    def fire(self, on: bool) -> dict[str, Any]:
        self._sim_input("fire").set(on)
        return self._settled()

    def _settled(self) -> dict[str, Any]:
        status: dict[str, Any] = self.app.status(recent=5)
        return {"mode": status["mode"], "doors": status["doors"], "events": status["recent_events"]}


class ControlServer:
    """Serves the control socket on a thread of its own."""

    def __init__(self, app: Any, path: Path) -> None:
        self.app = app
        self.path = path
        self.sim = SimControls(app)
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None
        self._ops: dict[str, Callable[..., Any]] = {
            "ping": lambda: {"pong": True},
            "status": lambda recent=10: app.status(recent=recent),
            "tap": self.sim.tap,
            "press": self.sim.press,
            "door": self.sim.door,
            "fire": self.sim.fire,
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.pop("op", None)
        if op not in self._ops:
            return {"ok": False, "error": f"unknown op {op!r}; ops: {', '.join(self._ops)}"}
        try:
            return {"ok": True, "result": self._ops[op](**request)}
        except TypeError as exc:
            return {"ok": False, "error": f"bad arguments for {op}: {exc}"}
        except GateError as exc:
            return {"ok": False, "error": str(exc)}

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _remove_stale(self.path)
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST)
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    reply = {"ok": False, "error": f"bad request: {exc}"}
                else:
                    reply = outer.handle(request)
                self.wfile.write(json.dumps(reply, default=str).encode() + b"\n")

        old_umask = os.umask(0o177)
        try:
            self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        finally:
            os.umask(old_umask)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="gate-control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.path.unlink(missing_ok=True)  # only a socket this server made


def _remove_stale(path: Path) -> None:
    """Refuse to start twice on one state folder; clear a socket left by a crash."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink(missing_ok=True)
            return
    raise ControlError(f"another agent is already running on {path}")


def request(path: Path, op: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
    """Client side: send one request, return the reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data:
        raise ConnectionError(f"the agent on {path} closed the connection without a reply")
    reply: dict[str, Any] = json.loads(data)
    return reply
