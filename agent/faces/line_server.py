"""An event-driven Unix socket server for one request line per connection.

One thread of the runner's watches the listening socket and every connection with a
selector: a connection costs a file descriptor and a few bytes until its line is in,
never a thread or a slot, so idle or slow clients cannot keep anyone else waiting.
Each complete line, or what a client sent before it ended its side, is answered on a
thread of its own, at most ``max_busy`` at once (beyond that the client hears ``busy``);
a client that has not sent its line within ``read_timeout_s`` is dropped, and past
``max_open`` connections the oldest is.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent.core.runner import Threads

log = logging.getLogger(__name__)

TICK_S = 0.25  # how often deadlines are checked when nothing happens
SEND_TIMEOUT_S = 5.0
ACCEPT_BACKOFF_MAX_S = 1.0
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


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


class _Pending:
    """A connection whose line is not complete yet."""

    __slots__ = ("data", "deadline", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.data = b""
        self.deadline = deadline


class LineServer:
    """Reads one line from each client and answers it with ``answer(line) -> bytes``."""

    def __init__(
        self,
        path: Path,
        answer: Callable[[bytes], bytes],
        busy: bytes,
        *,
        max_line: int,
        read_timeout_s: float,
        max_busy: int,
        max_open: int,
        backlog: int,
    ) -> None:
        self.path = path
        self._answer = answer
        self._busy_reply = busy
        self._max_line = max_line
        self._read_timeout_s = read_timeout_s
        self._max_open = max_open
        self._slots = threading.BoundedSemaphore(max_busy)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            self._listener.bind(str(path))
        finally:
            os.umask(old_umask)
        self._listener.listen(backlog)
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel = selectors.DefaultSelector()  # now: out of descriptors later, it could not be
        self._pending: dict[int, _Pending] = {}  # insertion order: oldest first
        self._stop = threading.Event()
        self._done = threading.Event()

    def serve(self, threads: Threads) -> None:
        """The selector loop (on a runner thread) until ``stop``."""
        backoff = AcceptBackoff(threads.stopping)
        sel = self._sel
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set() and not threads.stopping.is_set():
                for key, _ in sel.select(TICK_S):
                    if key.data == "accept":
                        self._accept(sel, backoff)
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(64)
                    else:
                        self._read(sel, key.data, threads)
                self._expire(sel)
        finally:
            for pending in list(self._pending.values()):
                self._drop(sel, pending)
            sel.close()
            self._done.set()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._done.wait(2.0)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    # -- the selector thread ----------------------------------------------------------
    def _accept(self, sel: selectors.BaseSelector, backoff: AcceptBackoff) -> None:
        for _ in range(64):  # a burst in the backlog: take it in one go
            try:
                sock, _addr = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                backoff.failed(exc)
                return
            backoff.succeeded()
            sock.setblocking(False)
            if len(self._pending) >= self._max_open:
                self._drop(sel, next(iter(self._pending.values())))  # the oldest goes
            pending = _Pending(sock, time.monotonic() + self._read_timeout_s)
            self._pending[sock.fileno()] = pending
            sel.register(sock, selectors.EVENT_READ, pending)

    def _read(self, sel: selectors.BaseSelector, pending: _Pending, threads: Threads) -> None:
        try:
            chunk = pending.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._drop(sel, pending)  # reset: nobody to answer
            return
        pending.data += chunk
        end = pending.data.find(b"\n")
        if chunk and end < 0 and len(pending.data) <= self._max_line:
            return
        # a line, an over-long start, or what came before the client ended its side
        # (a half-close ends a request like a newline; even an empty one is answered)
        # a line longer than max_line is cut there (what is past it is never read)
        line = pending.data[: min(end + 1 if end >= 0 else len(pending.data), self._max_line)]
        self._forget(sel, pending)
        if not self._slots.acquire(blocking=False):
            _send(pending.sock, self._busy_reply)
            return
        threads.spawn("gate-control-client", lambda: self._serve_one(pending.sock, line))

    def _expire(self, sel: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for pending in list(self._pending.values()):
            if pending.deadline > now:
                break  # oldest first: the rest are younger
            self._drop(sel, pending)

    def _forget(self, sel: selectors.BaseSelector, pending: _Pending) -> None:
        self._pending.pop(pending.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(pending.sock)

    def _drop(self, sel: selectors.BaseSelector, pending: _Pending) -> None:
        self._forget(sel, pending)
        pending.sock.close()

    # -- a client's thread ------------------------------------------------------------
    def _serve_one(self, sock: socket.socket, line: bytes) -> None:
        try:
            _send(sock, self._answer(line))
        finally:
            self._slots.release()


def _send(sock: socket.socket, reply: bytes) -> None:
    """Send ``reply`` and close; a client that left first is no error."""
    try:
        sock.setblocking(True)
        sock.settimeout(SEND_TIMEOUT_S)
        sock.sendall(reply)
    except OSError:
        log.debug("control client left before its reply")
    finally:
        sock.close()
