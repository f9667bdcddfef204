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

import asyncio
import ipaddress
import logging
import socket
import ssl
import threading

import uvicorn

from agent.console.asgi import console_app
from agent.console.guard import ConnectionLimits, GuardedH11
from agent.console.routes import Console
from agent.core.runner import Threads
from agent.models.console import ConsoleConfig

log = logging.getLogger(__name__)

HANDSHAKE_S = 5.0
BACKLOG = 256


class ConsolePart:
    """Serves the console on ``[console] address:port`` while the gate runs."""

    name = "console"

    def __init__(self, console: Console, config: ConsoleConfig) -> None:
        self.console = console
        self.config = config
        self._server: _Server | None = None
        self._done = threading.Event()
        self.port: int | None = None  # as bound (port 0 in tests: a free one)

    def start(self, threads: Threads) -> None:
        """Listen, or log why not: the gate runs on without its console."""
        self.console.stopping = threads.stopping
        self.console.desk.start()
        try:  # a missing certificate or a taken port costs the console, never the gate
            tls = _tls_context(self.config) if self.config.tls else None
            sock = _listen(self.config)
        except OSError as exc:  # ssl.SSLError too
            log.error("console: cannot serve on %s:%d: %s", self.config.address,
                      self.config.port, exc.strerror or exc)  # fmt: skip
            return
        self.port = sock.getsockname()[1]
        server = _Server(self.console, tls)
        self._server = server
        scheme = "https" if tls else "http"
        log.info("console on %s://%s:%d/", scheme, self.config.address, self.port)

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except Exception:
                log.exception("console: the server failed")
            finally:
                sock.close()
                self._done.set()

        threads.spawn("gate-console", serve)

    def stop(self) -> None:
        self.console.stopping.set()  # live pages end within a poll
        if self._server is not None:
            self._server.should_exit = True
            self._done.wait(15.0)
            self._server = None


class _Server(uvicorn.Server):
    """uvicorn's server with our protocol, our TLS context and a handshake deadline."""

    def __init__(self, console: Console, tls: ssl.SSLContext | None) -> None:
        config = uvicorn.Config(
            console_app(console), lifespan="off", http="h11", ws="none", log_config=None,
            access_log=False, proxy_headers=False, server_header=False,
            timeout_keep_alive=2, timeout_graceful_shutdown=5, backlog=BACKLOG,
        )  # fmt: skip
        super().__init__(config)
        self._tls = tls
        self._limits = ConnectionLimits()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        config, loop = self.config, asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            return GuardedH11(config=config, server_state=self.server_state, app_state={},
                              _loop=loop, limits=self._limits)  # fmt: skip

        self.servers = [
            await loop.create_server(protocol, sock=sock, ssl=self._tls, backlog=BACKLOG,
                                     ssl_handshake_timeout=HANDSHAKE_S if self._tls else None)
            for sock in sockets or []
        ]  # fmt: skip
        self.started = True


def _listen(config: ConsoleConfig) -> socket.socket:
    v6 = ipaddress.ip_address(config.address).version == 6
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.address, config.port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _tls_context(config: ConsoleConfig) -> ssl.SSLContext:
    assert config.tls_cert_file is not None and config.tls_key_file is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    return context
