"""The plate receiver: where a vehicle gate's ANPR cameras push their reads (issue 22).

An ASGI app (Starlette) served like the guard console, by uvicorn on its own thread with
the console's hardened h11 protocol (header deadline, connection limits, smuggling
checks), bound to one LAN address of the gate (``[plates]``). A camera pushes to
``/anpr/<reader id>``; a request is refused, and counted, unless it comes from that
camera's pinned address, proves its secret (token or HTTP digest), fits the size limit
(checked from Content-Length before a byte of the body is read) and the camera's rate.
A read goes to the camera's bounded reader lane, as a card read does, so no camera,
however it floods, can delay a decision at another door. Nothing here raises to the
camera: every fault is an answer with a status and a short reason.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from agent.console.guard import ConnectionLimits
from agent.console.serving import GuardedServer, listen, serve_on_thread
from agent.core.runner import Part, Threads
from agent.gate.build import Stores
from agent.gate.ports import GatePort
from agent.gate.reads import ReadHandler
from agent.models.plates import PlatesConfig
from agent.store.credentials import CredentialHasher
from agent.store.paths import StatePaths
from agent.store.pictures import PictureStore
from drivers.anpr import PlateCamera
from drivers.anpr_push import PushRefused

log = logging.getLogger(__name__)

BODY_S = 10.0  # the body must follow its head within this
PER_CAMERA = 8  # open connections one address may hold
BACKLOG = 128
LOG_EVERY_S = 60.0
PRUNE_S = 3600.0  # pictures past [plates] picture_days are deleted within the hour
YIELD_S = 0.0002  # after handing reads on: the core loop gets the interpreter (bench)


class PlateReceiver:
    """Checks and hands on cameras' pushes; counts what it refuses, by reason."""

    def __init__(self, cameras: Mapping[str, PlateCamera]) -> None:
        self.cameras = dict(cameras)
        self.refused: Counter[str] = Counter()  # before a camera was identified
        self.accepted: Counter[str] = Counter()  # outcomes of accepted pushes
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}
        self.last_push_at = 0.0  # monotonic time the last request reached the app (bench)

    def counts(self) -> dict[str, dict[str, int]]:
        """Refusals per camera and overall, and outcomes: for status and the bench."""
        with self._lock:
            out = {"receiver": dict(self.refused), "outcomes": dict(self.accepted)}
        for name, camera in self.cameras.items():
            out[name] = dict(camera.refused)
        return out

    async def handle(self, request: Request) -> Response:
        self.last_push_at = time.monotonic()
        name = request.path_params.get("camera", "")
        camera = self.cameras.get(name)
        peer = request.client.host if request.client else "?"
        if camera is None:
            return self._refuse("unknown_camera", 404, peer)
        if not _same_address(peer, camera.opts.address):
            return self._refuse("wrong_address", 403, peer, camera)
        allowed, challenge = camera.authenticate(
            request.method, _uri(request), request.url.query,
            request.headers.get("authorization", ""), request.headers.get("x-gate-token", ""),
        )  # fmt: skip
        if not allowed:
            response = self._refuse("wrong_credentials", 401, peer, camera)
            if challenge is not None:
                response.headers["www-authenticate"] = challenge
            return response
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return self._refuse("no_length", 411, peer, camera)
        if int(length) > camera.opts.max_body:
            return self._refuse("too_large", 413, peer, camera)
        if not camera.admit():
            return self._refuse("flood", 429, peer, None)  # counted by the camera
        try:
            async with asyncio.timeout(BODY_S):
                body = await request.body()
        except TimeoutError:
            return self._refuse("too_slow", 408, peer, camera)
        try:
            outcome = camera.push(request.headers.get("content-type", ""), body)
        except PushRefused as exc:  # counted by the camera
            self._log(exc.reason, f"camera {name}: {exc}")
            return _answer(f"refused: {exc.reason}\n", 400)
        with self._lock:
            self.accepted[outcome] += 1
        if outcome in ("read", "unreadable"):
            # the read is in its lane (a 200 says so); step aside so the core loop gets the
            # interpreter at once: else it decides while this thread writes the answer and
            # each waits on the other for a switch interval (bench/plate_to_barrier.py)
            time.sleep(YIELD_S)
        return _answer("OK\n", 200)

    def _refuse(
        self, reason: str, status: int, peer: str, camera: PlateCamera | None = None
    ) -> Response:
        if camera is not None:
            camera.refused[reason] += 1
        elif reason != "flood":
            with self._lock:
                self.refused[reason] += 1
        self._log(reason, f"plate receiver: {reason} from {peer}")
        return _answer(f"refused: {reason}\n", status)

    def _log(self, reason: str, line: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._logged.get(reason, -LOG_EVERY_S) < LOG_EVERY_S:
                return
            self._logged[reason] = now
        log.warning("%s", line)


def _answer(text: str, status: int) -> Response:
    # one request per connection: the guarded protocol checks a connection's first head
    # only, so a second, pipelined request must never be read (as the console does)
    return PlainTextResponse(text, status, {"connection": "close"})


def _uri(request: Request) -> str:
    """The request target as the camera sent it: what a digest answer covers."""
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    return path + ("?" + request.url.query if request.url.query else "")


def _same_address(peer: str, pinned: str) -> bool:
    try:
        return ipaddress.ip_address(peer) == ipaddress.ip_address(pinned)
    except ValueError:
        return False


def receiver_app(receiver: PlateReceiver) -> Starlette:
    """POST ``/anpr/<camera>``; everything else is 404 or 405."""

    async def nothing(_request: Request) -> Response:
        return _answer("not found\n", 404)

    return Starlette(routes=[
        Route("/anpr/{camera}", receiver.handle, methods=["POST"]),
        Route("/{rest:path}", nothing, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
    ])  # fmt: skip


class PlateReceiverPart:
    """Serves the receiver on ``[plates] address:port`` while the gate runs."""

    name = "plates"

    def __init__(
        self, receiver: PlateReceiver, config: PlatesConfig, pictures: PictureStore
    ) -> None:
        self.receiver = receiver
        self.config = config
        self.pictures = pictures  # the console shows a guard the picture of a read
        self._server: GuardedServer | None = None
        self._done = threading.Event()
        self.port: int | None = None

    def start(self, threads: Threads) -> None:
        """Listen, or log why not: the gate (and its card readers) run on without it."""
        try:
            sock = listen(self.config.address, self.config.port, BACKLOG)
        except OSError as exc:
            log.error("plates: cannot serve on %s:%d: %s", self.config.address,
                      self.config.port, exc.strerror or exc)  # fmt: skip
            return
        self.port = sock.getsockname()[1]
        limits = ConnectionLimits(per_address=PER_CAMERA, total=256)
        server = GuardedServer(receiver_app(self.receiver), limits, keep_alive_s=5,
                               backlog=BACKLOG)  # fmt: skip
        self._server = server
        log.info("plate receiver on http://%s:%d/anpr/", self.config.address, self.port)

        serve_on_thread(threads, "gate-plates", server, sock, self._done, log)

        def prune() -> None:  # pictures past their days go even when no car comes
            while not threads.stopping.wait(PRUNE_S):
                self.pictures.prune()

        threads.spawn("gate-pictures", prune)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._done.wait(15.0)
            self._server = None


class PlateHost(GatePort, Protocol):
    """A gate that can carry the receiver: its port, state paths and runner."""

    @property
    def paths(self) -> StatePaths: ...

    @property
    def reads(self) -> ReadHandler: ...

    @property
    def hasher(self) -> CredentialHasher: ...

    @property
    def stores(self) -> Stores: ...

    pictures: PictureStore | None

    def add_part(self, part: Part) -> None: ...

    plate_counts: Callable[[], dict[str, dict[str, int]]] | None


def attach_plates(host: PlateHost) -> PlateReceiverPart | None:
    """Give the gate's cameras its picture store, and serve the receiver if ``[plates]``
    is enabled. None when the gate has no camera."""
    config = host.config_state().config
    cameras = {n: r for n, r in host.devices.readers.items() if isinstance(r, PlateCamera)}
    if not cameras:
        return None
    pictures = PictureStore(host.paths.dir / "pictures", config.plates.picture_days)
    for camera in cameras.values():
        camera.keep_picture = pictures.keep_as if pictures.keeps else None
    host.pictures = pictures  # what the office may ask for, tied to an incident
    host.reads.plates.keep_visitors(host.stores.passes)  # visitors' cars outlive a restart
    host.add_event_listener(host.reads.plates.visitors.heard)
    receiver = PlateReceiver(cameras)
    part = PlateReceiverPart(receiver, config.plates, pictures)
    if config.plates.enabled:
        host.add_part(part)
        host.plate_counts = receiver.counts  # refusals by reason, in the gate's status
    return part
