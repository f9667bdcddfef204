"""The local control socket: status for the CLI, stimuli for simulated devices.

One JSON object per line in, one per line out, on a Unix socket in the state
folder (mode 0600: only the agent's own user may drive it). Lines are read by one
event-driven thread (``agent.faces.line_server``), so an idle client holds nobody up;
each request is answered on a thread of the runner's, at most ``MAX_CLIENTS`` at once
(more are told the agent is busy); a client that does not send its line within
``READ_TIMEOUT_S`` is dropped. A stimulus for a simulated device sent while the agent
is still starting waits until its devices are attached.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.core.runner import Threads
from agent.errors import CardFormatError, GateError
from agent.faces.line_server import LineServer
from agent.faces.simulate import SimControls
from agent.models.jsonin import loads_bounded

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
READ_TIMEOUT_S = 2.0
BACKLOG = 64
MAX_CLIENTS = 8  # requests being answered at once (a learn waits for a card)
MAX_OPEN = 1024  # connections still sending their line; past it the oldest is dropped
MAX_DEPTH = 4  # a request is a flat object
LEARN_MAX_S = 300.0
READY_WAIT_S = 30.0  # a stimulus sent while the agent starts waits this long for its devices


_STIMULI = frozenset({"tap", "scan", "press", "door", "fire", "learn", "keys", "loop", "plate"})


class ControlError(GateError):
    """A control request that cannot be done (unknown door, device not simulated)."""


class ControlServer:
    """Serves the control socket on a thread of the runner's."""

    name = "control"

    def __init__(self, sim: SimControls, path: Path, ready: threading.Event | None = None) -> None:
        self.path = path
        self.sim = sim
        self._ready = ready  # set once every device is attached (None: already)
        self._server: LineServer | None = None
        self._ops: dict[str, Callable[..., Any]] = {
            "ping": lambda: {"pong": True},
            "status": self._status,
            "tap": lambda **kw: asdict(sim.tap(**kw)),
            "scan": lambda **kw: asdict(sim.scan(**kw)),
            "plate": sim.plate,
            "press": sim.press,
            "door": sim.door,
            "fire": sim.fire,
            "learn": self._learn,
            "keys": sim.keys,
            "loop": sim.loop,
        }

    def _status(self, recent: int = 10) -> dict[str, Any]:
        if isinstance(recent, bool) or not isinstance(recent, int) or not 0 <= recent <= 1000:
            raise ControlError("recent is a whole number from 0 to 1000")
        return self.sim.gate.status(recent=recent).model_dump(mode="json")

    def _learn(self, reader: str, timeout_s: float = 30.0) -> dict[str, Any]:
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
            raise ControlError("timeout_s is a number of seconds")
        if not 0 < timeout_s <= LEARN_MAX_S:
            raise ControlError(f"timeout_s is between 0 and {LEARN_MAX_S:g} seconds")
        return asdict(self.sim.gate.learn(str(reader), float(timeout_s)))

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """One request line in, one reply out; nothing a client sends escapes as an error."""
        try:
            request = loads_bounded(line, MAX_DEPTH)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        return self.handle(request)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.pop("op", None)
        if not isinstance(op, str) or op not in self._ops:  # {} or [] is unhashable
            return {"ok": False, "error": f"unknown op {op!r}; ops: {', '.join(self._ops)}"}
        if op in _STIMULI and self._ready is not None and not self._ready.wait(READY_WAIT_S):
            return {"ok": False, "error": "the agent is still attaching its devices; try again"}
        try:
            return {"ok": True, "result": self._ops[op](**request)}
        except TimeoutError:  # the core loop did not answer in time: say so, in one line
            log.error("control: %s timed out waiting for the gate's core", op)
            return {"ok": False, "error": f"{op} timed out: the gate is busy; try again"}
        except TypeError as exc:
            return {"ok": False, "error": f"bad arguments for {op}: {exc}"}
        except CardFormatError as exc:
            return {"ok": False, "error": f"card: {exc}"}
        except GateError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug must still not leave a client without an answer
            log.exception("control: %s failed", op)
            return {"ok": False, "error": f"internal error in {op}: {type(exc).__name__}"}

    def start(self, threads: Threads) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _remove_stale(self.path)
        busy = {"ok": False, "error": f"the agent is serving {MAX_CLIENTS} requests; try again"}
        self._server = LineServer(
            self.path,
            lambda line: json.dumps(self.handle_line(line), default=str).encode() + b"\n",
            json.dumps(busy).encode() + b"\n",
            max_line=MAX_REQUEST,
            read_timeout_s=READ_TIMEOUT_S,
            max_busy=MAX_CLIENTS,
            max_open=MAX_OPEN,
            backlog=BACKLOG,
        )
        server = self._server
        threads.spawn("gate-control", lambda: server.serve(threads))

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
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
