"""The console's HTTP(S) server as a runner part: Starlette on uvicorn (h11).

Why a part of the agent and not a unit of its own: the console's pages read the gate's
live state, its event log and its guard accounts, and act through the gate's own
methods (open a door, record an event); a separate unit would need a second API over
the control socket for all of that, and a second process on the Pi. So uvicorn runs
its event loop on one thread spawned through the runner's ``Threads`` (no signal
handlers: it is not the main thread), bound to a socket opened in ``start`` (a taken
port or a bad certificate is known at once and costs the console, never the gate),
and stops when the part stops. The limits uvicorn lacks are in ``guard.py``; a TLS
handshake has ``HANDSHAKE_S`` to finish and never holds up another client.
"""

from __future__ import annotations

import logging
import ssl
import threading

from agent.console.asgi import console_app
from agent.console.guard import ConnectionLimits
from agent.console.routes import Console
from agent.console.serving import GuardedServer, listen, serve_on_thread
from agent.core.runner import Threads
from agent.models.console import ConsoleConfig

log = logging.getLogger(__name__)

BACKLOG = 256


class ConsolePart:
    """Serves the console on ``[console] address:port`` while the gate runs."""

    name = "console"

    def __init__(self, console: Console, config: ConsoleConfig) -> None:
        self.console = console
        self.config = config
        self._server: GuardedServer | None = None
        self._done = threading.Event()
        self.port: int | None = None  # as bound (port 0 in tests: a free one)

    def start(self, threads: Threads) -> None:
        """Listen, or log why not: the gate runs on without its console."""
        self.console.stopping = threads.stopping
        self.console.desk.start()
        try:  # a missing certificate or a taken port costs the console, never the gate
            tls = _tls_context(self.config) if self.config.tls else None
            sock = listen(self.config.address, self.config.port, BACKLOG)
        except OSError as exc:  # ssl.SSLError too
            log.error("console: cannot serve on %s:%d: %s", self.config.address,
                      self.config.port, exc.strerror or exc)  # fmt: skip
            return
        self.port = sock.getsockname()[1]
        server = GuardedServer(console_app(self.console), ConnectionLimits(), keep_alive_s=2,
                               backlog=BACKLOG, tls=tls)  # fmt: skip
        self._server = server
        scheme = "https" if tls else "http"
        log.info("console on %s://%s:%d/", scheme, self.config.address, self.port)

        serve_on_thread(threads, "gate-console", server, sock, self._done, log)

    def stop(self) -> None:
        self.console.stopping.set()  # live pages end within a poll
        if self._server is not None:
            self._server.should_exit = True
            self._done.wait(15.0)
            self._server = None


def _tls_context(config: ConsoleConfig) -> ssl.SSLContext:
    assert config.tls_cert_file is not None and config.tls_key_file is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    return context
