"""Real NATS servers speaking MQTT 3.1.1 on free ports: one node or a cluster of three.

NATS keeps MQTT sessions, retained messages and queued QoS 1 messages in JetStream, so
every node gets its own store folder, kept across ``stop``/``start``. Each node has its
own MQTT listener; the cluster shares sessions and topics over its routes.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"

_DISCONNECT = b"\xe0\x00"
# the readiness probe's own account: may connect, may neither publish nor subscribe
PROBE_USER, PROBE_PASSWORD = "ready-probe", "ready-probe-pw"


def quiet_port() -> int:
    """A free port below the ephemeral range.

    ``tests.broker.free_port`` hands out ports the kernel also gives to outgoing
    connections: while a node is down, a client reconnecting to it (or a node dialling
    its routes) can hold one of its ports just when it starts again, and it cannot bind.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    while True:
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _field(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def _connect_packet(client_id: str, user: str | None) -> bytes:
    """MQTT 3.1.1 CONNECT with a clean session and a 10 s keepalive (short: one length byte)."""
    flags = 0x02 | (0xC0 if user else 0)
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + b"\x00\x0a" + _field(client_id)
    if user:
        body += _field(user) + _field(PROBE_PASSWORD)
    return bytes([0x10, len(body)]) + body


def mqtt_ready(host: str, port: int, client_id: str, user: str | None = None) -> bool:
    """True once the node accepts an MQTT session (JetStream is up for the account).

    NATS answers a CONNECT only after its JetStream lookups (up to about 4 s each while
    a cluster forms): a short timeout would pile up half-open probes.
    """
    try:
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(_connect_packet(client_id, user))
            connack = s.recv(4)
            if connack[:2] != b"\x20\x02" or len(connack) < 4 or connack[3] != 0:
                return False
            s.sendall(_DISCONNECT)
            return True
    except OSError:
        return False


def subjects(topic_filter: str) -> list[str]:
    """The NATS subjects an MQTT topic filter covers: ``/`` -> ``.``, ``+`` -> ``*``.

    ``a/#`` also matches ``a`` itself, so NATS subscribes to ``a`` and ``a.>``: a user
    needs permission for both or the whole subscription is refused.
    """
    mapped = topic_filter.replace("/", ".").replace("+", "*")
    if mapped == "#":
        return [">"]
    if mapped.endswith(".#"):
        return [mapped[:-2], mapped[:-1] + ">"]
    return [mapped]


@dataclass(frozen=True)
class NatsUser:
    """An account with the MQTT topic filters it may publish and subscribe to."""

    name: str
    password: str
    publish: list[str]
    subscribe: list[str]

    def config(self) -> str:
        def allow(filters: list[str]) -> str:
            return ", ".join(f'"{s}"' for f in filters for s in subjects(f))

        # a QoS 1 subscription is delivered through $MQTT.sub.<id>: every MQTT user needs it
        return (
            f'{{ user: "{self.name}", password: "{self.password}", permissions: {{ '
            f"publish: {{ allow: [{allow(self.publish)}] }}, "
            f'subscribe: {{ allow: [{allow(self.subscribe)}, "$MQTT.sub.>"] }} }} }}'
        )


def authorization(users: list[NatsUser]) -> str:
    """An ``authorization`` block for ``users`` plus the readiness probe's account."""
    probe = (
        f'{{ user: "{PROBE_USER}", password: "{PROBE_PASSWORD}", permissions: '
        '{ publish: { deny: [">"] }, subscribe: { deny: [">"] } } }'
    )
    return (
        "authorization { users: [\n  "
        + ",\n  ".join([probe] + [u.config() for u in users])
        + "\n] }\n"
    )


class NotReady(RuntimeError):
    """A node running but not taking MQTT clients by the deadline."""


class NatsNode:
    """One nats-server process: ``host`` and ``port`` are its MQTT listener."""

    def __init__(self, folder: Path, name: str, route_port: int) -> None:
        self.folder = folder
        self.name = name
        self.host = "127.0.0.1"
        self.port = quiet_port()
        self.client_port = quiet_port()
        self.http_port = quiet_port()
        self.route_port = route_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.probe_user: str | None = None
        self._log_mark = 0
        self.conf = folder / "nats.conf"
        folder.mkdir(parents=True, exist_ok=True)

    def write_config(self, cluster: str | None, routes: list[int], mqtt: str, extra: str) -> None:
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.client_port}",
            f"http: 127.0.0.1:{self.http_port}",
            f'log_file: "{self.folder / "nats.log"}"',
            f'jetstream {{ store_dir: "{self.folder / "js"}" }}',
            f"mqtt {{ listen: 127.0.0.1:{self.port}{mqtt} }}",
        ]
        if cluster:
            urls = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
            lines.append(
                f"cluster {{ name: {cluster}, listen: 127.0.0.1:{self.route_port}, "
                f"routes: [{urls}] }}"
            )
        self.conf.write_text("\n".join(lines) + "\n" + extra)

    def launch(self) -> None:
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self._log_mark = len(self.log())
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                if "address already in use" in self.log()[self._log_mark :]:
                    # someone held one of our ports for a moment: try again
                    time.sleep(0.2)
                    self.launch()
                    continue
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"nats-server {self.name} exited: {err}\n{self.log()[-2000:]}")
            # an MQTT CONNECT sent before the cluster has a JetStream leader waits 4 s
            # for a lookup that is lost: ask the monitor first
            if self.healthy() and mqtt_ready(
                self.host, self.port, f"ready-{self.name}", self.probe_user
            ):
                return
            time.sleep(0.05)
        raise NotReady(f"nats-server {self.name} not ready\n{self.log()[-2000:]}")

    def start(self, timeout: float = 30) -> None:
        self.launch()
        try:
            self.wait_ready(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def healthy(self) -> bool:
        """The monitor says JetStream runs and knows its cluster's leader.

        (Plain ``/healthz`` also wants every consumer current; on a node that rejoins
        a cluster that took more than 30 s, so it is not waited for.)
        """
        url = f"http://127.0.0.1:{self.http_port}/healthz?js-server-only=true"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (the server closes its clients and its store), or SIGKILL with ``kill``."""
        if self.proc is not None and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def log(self) -> str:
        path = self.folder / "nats.log"
        return path.read_text(errors="replace") if path.exists() else ""


class NatsCluster:
    """``size`` NATS servers with JetStream and MQTT; ``host``/``port`` are node 0's.

    ``users`` turns on accounts with per-user topic permissions (anonymous otherwise);
    ``mqtt`` adds options to every node's ``mqtt`` block. ``start`` returns once every
    node accepts an MQTT session; ``stop`` keeps the store folders, so a later ``start``
    brings back sessions, queued and retained messages.
    """

    def __init__(
        self,
        folder: Path,
        size: int = 3,
        users: list[NatsUser] | None = None,
        mqtt: dict[str, str] | None = None,
    ) -> None:
        self._routes = [quiet_port() for _ in range(size)]
        self.nodes = [NatsNode(folder / f"n{i}", f"n{i}", self._routes[i]) for i in range(size)]
        self._mqtt = "".join(f", {key}: {value}" for key, value in (mqtt or {}).items())
        self._write(users)
        self.host = self.nodes[0].host
        self.port = self.nodes[0].port

    def _write(self, users: list[NatsUser] | None) -> None:
        extra = authorization(users) if users is not None else ""
        cluster = "gate-test" if len(self.nodes) > 1 else None
        for node in self.nodes:
            node.write_config(cluster, self._routes, self._mqtt, extra)
            node.probe_user = PROBE_USER if users is not None else None

    def reload(self, users: list[NatsUser]) -> None:
        """New accounts and permissions, applied live (SIGHUP): clients stay connected."""
        self._write(users)
        for node in self.nodes:
            done = node.log().count("Reloaded server configuration")
            if node.proc is not None:
                node.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                while node.log().count("Reloaded server configuration") == done:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"nats-server {node.name} did not reload")
                    time.sleep(0.05)

    def start(self, timeout: float = 30, attempts: int = 2) -> None:
        # all at once: a JetStream cluster elects its leader only when a quorum is up.
        # Now and then (about one start in ten on 2 busy cores) a node keeps refusing
        # MQTT clients with "no suitable peers for placement" although every node runs:
        # the servers are started again once. What the tests check comes after this.
        for attempt in range(1, attempts + 1):
            for node in self.nodes:
                node.launch()
            deadline = time.monotonic() + timeout
            try:
                for node in self.nodes:
                    node.wait_ready(deadline)
                return
            except NotReady:
                self.stop()  # no server outlives a failed start
                if attempt == attempts:
                    raise
                print(f"nats cluster not ready in {timeout} s: starting it again", file=sys.stderr)
            except BaseException:
                self.stop()
                raise

    def stop(self, kill: bool = False) -> None:
        for node in self.nodes:
            node.stop(kill)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return "\n".join(f"== {n.name}\n{n.log()[-3000:]}" for n in self.nodes)
