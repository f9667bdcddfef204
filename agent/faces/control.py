"""The local control socket: status for the CLI, stimuli for simulated devices.

One JSON object per line in, one per line out, on a Unix socket in the state
folder (mode 0600: only the agent's own user may drive it). Each connection is
served on a thread of the runner's, at most ``MAX_CLIENTS`` at once (more are told
the agent is busy); a client that does not send its line within ``READ_TIMEOUT_S``
is dropped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.core.runner import Threads
from agent.errors import CardFormatError, GateError
from agent.faces.simulate import SimControls
from agent.models.jsonin import loads_bounded

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
READ_TIMEOUT_S = 2.0
BACKLOG = 64
MAX_CLIENTS = 8
SLOT_WAIT_S = 0.5
MAX_DEPTH = 4  # a request is a flat object
LEARN_MAX_S = 300.0
ACCEPT_BACKOFF_MAX_S = 1.0
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class ControlError(GateError):
    """A control request that cannot be done (unknown door, device not simulated)."""


class ControlServer:
    """Serves the control socket on a thread of the runner's."""

    name = "control"

    def __init__(self, sim: SimControls, path: Path) -> None:
        self.path = path
        self.sim = sim
        self._server: socketserver.UnixStreamServer | None = None
        self._ops: dict[str, Callable[..., Any]] = {
            "ping": lambda: {"pong": True},
            "status": self._status,
            "tap": lambda **kw: asdict(sim.tap(**kw)),
            "scan": lambda **kw: asdict(sim.scan(**kw)),
            "press": sim.press,
            "door": sim.door,
            "fire": sim.fire,
            "learn": self._learn,
        }
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

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
        try:
            return {"ok": True, "result": self._ops[op](**request)}
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
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = READ_TIMEOUT_S

            def handle(self) -> None:
                try:
                    line = self.rfile.readline(MAX_REQUEST)
                except OSError:
                    return  # timed out or gone: nothing to answer
                reply = outer.handle_line(line)
                try:
                    self.wfile.write(json.dumps(reply, default=str).encode() + b"\n")
                except OSError:
                    log.debug("control client left before its reply")

        slots = self._slots
        backoff = AcceptBackoff(threads.stopping)

        class Server(socketserver.UnixStreamServer):
            request_queue_size = BACKLOG

            def get_request(self) -> Any:
                try:
                    accepted = super().get_request()
                except OSError as exc:
                    backoff.failed(exc)
                    raise
                backoff.succeeded()
                return accepted

            def process_request(self, request: Any, client_address: Any) -> None:
                # a burst of quick requests waits briefly for a slot; idle clients
                # holding every slot make the next one hear "busy"
                if not slots.acquire(timeout=SLOT_WAIT_S):
                    _busy(request)
                    self.shutdown_request(request)
                    return

                def serve() -> None:
                    try:
                        self.finish_request(request, client_address)
                    except Exception:
                        self.handle_error(request, client_address)
                    finally:
                        slots.release()
                        self.shutdown_request(request)

                threads.spawn("gate-control-client", serve)

        old_umask = os.umask(0o177)
        try:
            self._server = Server(str(self.path), Handler)
        finally:
            os.umask(old_umask)
        threads.spawn("gate-control", self._server.serve_forever)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.path.unlink(missing_ok=True)  # only a socket this server made


class AcceptBackoff:
    """Out of file descriptors, ``accept`` fails at once while the client still waits, and
    the serve loop would spin on it: wait longer after each failure, and log once."""

    def __init__(self, stopping: threading.Event) -> None:
        self._stopping = stopping
        self.delay = 0.0
        self.failures = 0

    def failed(self, exc: OSError) -> None:
        if exc.errno not in _RESOURCE_ERRORS:
            return  # the client left first: nothing to wait for
        if not self.failures:
            log.warning("control socket: cannot accept (%s); backing off", exc.strerror or exc)
        self.failures += 1
        self.delay = min(ACCEPT_BACKOFF_MAX_S, max(0.01, self.delay * 2))
        self._stopping.wait(self.delay)

    def succeeded(self) -> None:
        if self.failures:
            log.info("control socket: accepting again after %d failed accepts", self.failures)
        self.delay, self.failures = 0.0, 0


def _busy(sock: socket.socket) -> None:
    reply = {"ok": False, "error": f"the agent is serving {MAX_CLIENTS} clients; try again"}
    with contextlib.suppress(OSError):
        sock.sendall(json.dumps(reply).encode() + b"\n")


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
