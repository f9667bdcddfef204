"""One worker process of ``bench/fleet.py``: a slice of the fleet as full gate Apps.

Each gate is what ``gate-agent run`` builds on sim drivers (``build_app``, ``attach``):
its own state folder, site key, client id and event log, the office's public key, and
every thread of a real gate (core loop, paho, uplink, inbox, housekeeping). The worker
answers the orchestrator's commands over a pipe; every reply is a plain dict.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.clock import SystemClock
from agent.core.kinds import EventType, HolderKind
from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.link.wiring import GateLink, attach
from agent.models.config import GateConfig, validate_config
from agent.models.wire import AllowListEntry
from agent.store.credentials import CredentialHasher, write_new_key
from agent.store.eventlog import EventLog
from agent.store.paths import StatePaths
from bench.fleet_procs import LogTally
from drivers.cards import parse_card
from drivers.sim import SimCardReader

RESIDENTS = 20  # cards on each gate's allow-list
UNKNOWN_SHARE = 0.15  # taps by cards the gate does not know (denied)
POLL_S = 0.1


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker runs: its gates, where their state lives, the broker and key."""

    gate_ids: list[str]
    folder: str
    host: str
    port: int
    office_public_key: str
    backlog: int
    mqtt: dict[str, Any] = field(default_factory=dict)  # extra [mqtt] keys for every gate
    nice: int = 0  # added to the worker's niceness: the office and broker come first


def resident_card(n: int) -> str:
    return f"uid:04B7{n:06X}"


def gate_config(folder: Path, gate_id: str, spec: WorkerSpec) -> GateConfig:
    """One door, one sim reader, alarms that never trip (a bursty fleet is not an attack)."""
    return validate_config(
        {
            "gate": {"site": "fleet", "gate_id": gate_id, "timezone": "UTC", "simulated": True},
            "storage": {"dir": "state", "events_max_rows": max(100_000, 2 * spec.backlog)},
            "security": {"credential_key_file": "site.key"},
            "clock": {"sync_marker": ""},
            "doors": [{"id": "main", "readers": [{"id": "r1"}], "relay": {"driver": "sim"}}],
            "alarms": {
                "reader_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                "card_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
            },
            "mqtt": {
                "enabled": True,
                "host": spec.host,
                "port": spec.port,
                "office_public_key": spec.office_public_key,
                **spec.mqtt,
            },
        },
        folder,
    )


def fill(config: GateConfig, hasher: CredentialHasher, count: int) -> None:
    """``count`` granted entries recorded while the office is away, through the gate's own
    EventLog.append (bench-only ``synchronous=normal`` for speed; the App reopens it
    with ``full``). Each carries the details a real card read records."""
    log = EventLog(
        StatePaths(config.storage.dir).events_db,
        SystemClock(),
        config.gate.site,
        config.gate.gate_id,
        synchronous="normal",
    )
    try:
        for n in range(count):
            credential, masked = hasher.identify(parse_card(resident_card(n % RESIDENTS)))
            log.append(
                EventType.ACCESS_GRANTED,
                "main",
                granted=True,
                reason="granted",
                reader="r1",
                direction="in",
                card=masked,
                credential=credential,
                holder_id=f"R-{n % RESIDENTS}",
                kind="resident",
                unit=f"A-{n % RESIDENTS}",
            )
    finally:
        log.close()


def allow_list(hasher: CredentialHasher) -> list[AllowListEntry]:
    entries = []
    for n in range(RESIDENTS):
        credential, masked = hasher.identify(parse_card(resident_card(n)))
        entries.append(
            AllowListEntry(
                credential=credential,
                holder_id=f"R-{n}",
                kind=HolderKind.RESIDENT,
                unit=f"A-{n}",
                masked=masked,
            )
        )
    return entries


@dataclass
class Gate:
    """A running gate and its office link."""

    app: App
    link: GateLink

    @property
    def reader(self) -> SimCardReader:
        reader = self.app.hardware.readers["r1"]
        assert isinstance(reader, SimCardReader)
        return reader


class Fleet:
    """The gates of this worker and the commands the orchestrator sends."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.gates: list[Gate] = []
        self.log = LogTally.install()

    def build(self) -> dict[str, Any]:
        """Fill each gate's log with the backlog and build its App and link (not started)."""
        filled = built = 0.0
        for gate_id in self.spec.gate_ids:
            folder = Path(self.spec.folder) / gate_id
            folder.mkdir(parents=True)
            write_new_key(folder / "site.key")
            config = gate_config(folder, gate_id, self.spec)
            hasher = CredentialHasher.from_file(config.security.credential_key_file)
            t = time.perf_counter()
            fill(config, hasher, self.spec.backlog)
            filled += time.perf_counter() - t
            t = time.perf_counter()
            app = build_app(config)
            app.allowlist.replace(allow_list(hasher), 1)
            self.gates.append(Gate(app, attach(app)))
            built += time.perf_counter() - t
        return {"fill_s": round(filled, 2), "build_s": round(built, 2)}

    def start(self) -> dict[str, Any]:
        """Start every gate: each connects and pushes its backlog at once."""
        t = time.perf_counter()
        for gate in self.gates:
            gate.app.start(threaded=True)
        return {"start_s": round(time.perf_counter() - t, 2), **self._threads()}

    def _threads(self) -> dict[str, Any]:
        return {"threads": threading.active_count()}

    def wait(self, what: str, within: float) -> dict[str, Any]:
        """Until every gate is ``connected``, has ``pushed`` its log to the broker, or has
        every event ``received`` (receipted); the wall time each got there."""
        test: Callable[[Gate], bool] = {
            "connected": lambda g: g.link.conn.connected,
            "pushed": lambda g: g.app.events.depth() == 0,
            "received": lambda g: g.app.events.unreceived() == 0,
        }[what]
        done: dict[str, float] = {}
        deadline = time.monotonic() + within
        while len(done) < len(self.gates) and time.monotonic() < deadline:
            for gate in self.gates:
                name = gate.app.config.gate.gate_id
                if name not in done and test(gate):
                    done[name] = time.time()
            time.sleep(POLL_S)
        return {"done": done, "missing": len(self.gates) - len(done)}

    def taps(self, seconds: float, gap_s: float, burst_max: int, seed: int) -> dict[str, Any]:
        """Cards tapped for ``seconds``: each gate's bursts (1..burst_max taps 0.5-3 s
        apart) arrive as a Poisson process, one tap per ``gap_s`` on average."""
        rng = random.Random(seed)
        burst_gap = gap_s * (1 + burst_max) / 2
        plan: list[tuple[float, int, str]] = []
        for index in range(len(self.gates)):
            at = rng.expovariate(1 / burst_gap)
            while at < seconds:
                tap = at
                for _ in range(rng.randint(1, burst_max)):
                    if tap >= seconds:
                        break
                    plan.append((tap, index, self._card(rng)))
                    tap += rng.uniform(0.5, 3.0)
                at += rng.expovariate(1 / burst_gap)
        plan.sort()
        start = time.monotonic()
        late: list[float] = []
        for at, index, card in plan:
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                late.append(-delay)
            self.gates[index].reader.present(card)
        time.sleep(max(0.0, start + seconds - time.monotonic()))
        return {"taps": len(plan), "late_taps": sum(1 for d in late if d > 0.05)}

    @staticmethod
    def _card(rng: random.Random) -> str:
        if rng.random() < UNKNOWN_SHARE:
            return f"uid:04C1{rng.randrange(16**6):06X}"
        return resident_card(rng.randrange(RESIDENTS))

    def counts(self) -> dict[str, Any]:
        """Per gate: the last seq recorded and how many events await a receipt."""
        return {
            "last_seq": {g.app.config.gate.gate_id: g.app.events.last_seq() for g in self.gates},
            "unreceived": sum(g.app.events.unreceived() for g in self.gates),
            "published": sum(g.link.uplink.sent_count for g in self.gates),
            "log": self.log.report(),
            **self._threads(),
        }

    def stop(self) -> dict[str, Any]:
        """Stop every gate, many at a time: each stop waits for its threads to notice."""
        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=64) as pool:
            list(pool.map(lambda g: g.app.stop(), self.gates))
        return {"stop_s": round(time.perf_counter() - t, 2)}


def serve(conn: Connection, spec: WorkerSpec) -> None:
    """The worker's loop: a command dict in, a reply dict out, until ``stop``."""
    os.nice(spec.nice)
    fleet = Fleet(spec)
    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "build": fleet.build,
        "start": fleet.start,
        "wait": fleet.wait,
        "taps": fleet.taps,
        "counts": fleet.counts,
        "stop": fleet.stop,
    }
    while True:
        try:
            message = dict(conn.recv())
        except EOFError:  # the orchestrator is gone: no one to answer
            fleet.stop()
            return
        op = message.pop("op")
        try:
            reply = commands[op](**message)
        except Exception as exc:  # told to the orchestrator in one line
            reply = {"error": f"worker {spec.gate_ids[0]}..: {type(exc).__name__}: {exc}"}
        conn.send(reply)
        if op == "stop":
            return
