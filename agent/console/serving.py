"""Serving an ASGI app on the gate's LAN with uvicorn and the guarded h11 protocol.

The guard console and the plate receiver both listen this way: a socket bound before
the server starts (so a taken port is one logged line and the gate runs on without that
part), uvicorn's ``Server`` building our ``GuardedH11`` for each connection (limits per
address and in all, header deadlines), optional TLS with a handshake deadline, and the
serving loop on a thread the gate's runner owns.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import threading
from typing import Any

import uvicorn

from agent.console.guard import ConnectionLimits, GuardedH11
from agent.core.runner import Threads

HANDSHAKE_S = 5.0  # a TLS handshake has this long, and never holds up another client


class GuardedServer(uvicorn.Server):
    """uvicorn's server with our protocol, our limits and, if given, our TLS context."""

    def __init__(self, app: Any, limits: ConnectionLimits, *, keep_alive_s: int,
                 backlog: int, tls: ssl.SSLContext | None = None) -> None:  # fmt: skip
        config = uvicorn.Config(
            app, lifespan="off", http="h11", ws="none", log_config=None,
            access_log=False, proxy_headers=False, server_header=False,
            timeout_keep_alive=keep_alive_s, timeout_graceful_shutdown=5, backlog=backlog,
        )  # fmt: skip
        super().__init__(config)
        self._limits = limits
        self._backlog = backlog
        self._tls = tls

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        config, loop = self.config, asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            return GuardedH11(config=config, server_state=self.server_state, app_state={},
                              _loop=loop, limits=self._limits)  # fmt: skip

        self.servers = [
            await loop.create_server(protocol, sock=sock, ssl=self._tls, backlog=self._backlog,
                                     ssl_handshake_timeout=HANDSHAKE_S if self._tls else None)
            for sock in sockets or []
        ]  # fmt: skip
        self.started = True


def listen(address: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening socket on ``address`` (IPv4 or IPv6); raises OSError."""
    v6 = ipaddress.ip_address(address).version == 6
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def serve_on_thread(threads: Threads, name: str, server: GuardedServer, sock: socket.socket,
                    done: threading.Event, log: logging.Logger) -> None:  # fmt: skip
    """Run ``server`` on ``sock`` on a runner thread; ``done`` is set when it has ended."""

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except Exception:
            log.exception("%s: the server failed", name)
        finally:
            sock.close()
            done.set()

    threads.spawn(name, serve)
