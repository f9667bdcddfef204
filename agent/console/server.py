"""The console's HTTP(S) server as a runner part, on the standard library.

Why not a framework: the console is a handful of forms and one event stream for a
few guards, and the standard library keeps two promises a framework would break:
no new runtime dependency on the Pi, and every thread started through the runner's
``Threads`` (an ASGI server brings its own event loop and worker pool). Each
connection gets a runner thread, at most ``MAX_CLIENTS`` at once (more are closed
at once), and answers one request (HTTP/1.0: no idle keep-alive holding a slot).
TLS handshakes happen on that thread, so a slow client cannot hold up the others.
"""

from __future__ import annotations

import http.server
import ipaddress
import logging
import socket
import socketserver
import ssl
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agent.console.forms import MAX_BODY
from agent.console.routes import Console
from agent.console.web import SECURITY_HEADERS, Request, Response, parse_cookies
from agent.core.runner import Threads
from agent.models.console import ConsoleConfig

log = logging.getLogger(__name__)

MAX_CLIENTS = 16
MAX_STREAMS = 6  # live pages at once; each holds a connection slot while open
READ_TIMEOUT_S = 10.0
POLL_S = 0.5


class ConsolePart:
    """Serves the console on ``[console] address:port`` while the gate runs."""

    name = "console"

    def __init__(self, console: Console, config: ConsoleConfig) -> None:
        self.console = console
        self.config = config
        self._server: http.server.HTTPServer | None = None
        self.port: int | None = None  # as bound (port 0 in tests: a free one)

    def start(self, threads: Threads) -> None:
        """Listen, or log why not: the gate runs on without its console."""
        self.console.stopping = threads.stopping
        self.console.desk.start()
        try:  # a missing certificate or a taken port costs the console, never the gate
            tls = _tls_context(self.config) if self.config.tls else None
            server = _server(self.config, self.console, threads, tls)
        except OSError as exc:  # ssl.SSLError too
            log.error("console: cannot serve on %s:%d: %s", self.config.address,
                      self.config.port, exc.strerror or exc)  # fmt: skip
            return
        self._server = server
        self.port = server.server_address[1]
        scheme = "https" if tls else "http"
        log.info("console on %s://%s:%d/", scheme, self.config.address, self.port)
        threads.spawn("gate-console", lambda: server.serve_forever(POLL_S))

    def stop(self) -> None:
        self.console.stopping.set()  # live pages end within a wait
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _tls_context(config: ConsoleConfig) -> ssl.SSLContext:
    assert config.tls_cert_file is not None and config.tls_key_file is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    return context


def _server(config: ConsoleConfig, console: Console, threads: Threads,
            tls: ssl.SSLContext | None) -> http.server.HTTPServer:  # fmt: skip
    slots = threading.BoundedSemaphore(MAX_CLIENTS)
    streams = threading.BoundedSemaphore(MAX_STREAMS)
    v6 = ipaddress.ip_address(config.address).version == 6

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT_S

        def version_string(self) -> str:
            return "gate-console"  # no Python version for a scanner to read

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("console %s: " + format, self.client_address[0], *args)

        def _serve(self, method: str) -> None:
            body = b""
            if method == "POST":
                length = self.headers.get("Content-Length", "")
                if not length.isdigit():
                    return self._send(Response(411, b"a form needs a Content-Length"))
                if int(length) > MAX_BODY:
                    return self._send(Response(413, b"the form is too large"))
                body = self.rfile.read(int(length))
            url = urlsplit(self.path)
            request = Request(
                method=method, path=url.path, body=body, address=str(self.client_address[0]),
                query=dict(parse_qsl(url.query[:2048], max_num_fields=20)),
                cookies=parse_cookies(self.headers.get("Cookie")),
            )  # fmt: skip
            try:
                response = console.handle(request)
            except Exception:  # a bug: one line for the guard, the traceback in the log
                log.exception("console: %s %s failed", method, url.path)
                response = Response(500, b"internal error: see the gate's log")
            self._send(response)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            content = "text/plain; charset=utf-8" if response.status in (411, 413, 500) else None
            self.send_header("Content-Type", content or response.content_type)
            for name, value in (*SECURITY_HEADERS, *response.headers):
                self.send_header(name, value)
            if response.stream is None:
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)
                return
            if not streams.acquire(blocking=False):
                self.end_headers()  # the page retries; too many live pages are open
                self.wfile.write(b"retry: 10000\n\n")
                return
            try:
                self.end_headers()
                self.wfile.flush()
                response.stream(self._write, threads.stopping)
            except OSError:
                pass  # the page went away
            finally:
                streams.release()

        def _write(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

    class Server(http.server.HTTPServer):
        address_family = socket.AF_INET6 if v6 else socket.AF_INET
        request_queue_size = 32

        def server_bind(self) -> None:
            # HTTPServer's own looks the address up in DNS (getfqdn): slow with no DNS
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = str(config.address), self.server_address[1]

        def process_request(self, request: Any, client_address: Any) -> None:
            if not slots.acquire(blocking=False):
                self.shutdown_request(request)  # busy: the browser tries again
                return

            def serve() -> None:
                try:
                    if isinstance(request, ssl.SSLSocket):
                        request.settimeout(READ_TIMEOUT_S)
                        request.do_handshake()
                    self.finish_request(request, client_address)
                except (OSError, ssl.SSLError) as exc:
                    log.debug("console client %s: %s", client_address[0], exc)
                except Exception:
                    log.exception("console client %s failed", client_address[0])
                finally:
                    slots.release()
                    self.shutdown_request(request)

            threads.spawn("gate-console-client", serve)

    server = Server((config.address, config.port), Handler, bind_and_activate=False)
    try:
        if tls is not None:
            server.socket = tls.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        server.server_bind()
        server.server_activate()
    except BaseException:
        server.server_close()
        raise
    return server
