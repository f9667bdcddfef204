"""The office side of ``bench/fleet.py``: the real ``OfficeService`` in its own process,
over the real office store, with the store's calls timed; and the audit of what it stored.

Tap-to-office latency is taken here: the wall time just after ``add_events`` returned
(the batch is committed) minus the event's own time (the gate's clock). Gates and office
run on this one machine, so both times come from the same clock.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.link.mqtt import MqttSettings
from agent.office.db import OfficeDb, is_postgres, open_store
from agent.office.db.base import EventRow, Sql
from agent.office.service import Batch, OfficeService, ServeOptions
from bench.fleet_procs import LogTally

TAPS = frozenset({"access_granted", "access_denied"})
CLIENT_ID = "fleet-office"


class TimedStore:
    """The service's store, timed: commits, events offered and new, status updates."""

    def __init__(self, db: OfficeDb) -> None:
        self.db = db
        self.window_start: float | None = None  # taps recorded at or after this are measured
        self.latency_s: dict[str, float] = {}  # event id -> commit minus event time
        self.commits: list[tuple[float, int]] = []  # (wall time after commit, total new)
        self.offered = self.new = self.batches = self.status_updates = 0
        self.store_busy_s = self.status_busy_s = 0.0

    def add_rows(self, rows: Sequence[EventRow]) -> int:
        t = time.perf_counter()
        new = self.db.add_rows(rows)
        committed = time.time()
        self.store_busy_s += time.perf_counter() - t
        self.offered += len(rows)
        self.new += new
        self.batches += 1
        self.commits.append((committed, self.new))
        if self.window_start is not None:
            for row in rows:
                if row.type in TAPS and row.id not in self.latency_s:
                    when = row.time.timestamp()
                    if when >= self.window_start:
                        self.latency_s[row.id] = committed - when
        return new

    def update_gate(self, site: str, gate: str, **fields: Any) -> None:
        t = time.perf_counter()
        self.db.update_gate(site, gate, **fields)
        self.status_busy_s += time.perf_counter() - t
        self.status_updates += 1


class WatchedService(OfficeService):
    """The service, telling when it last read or stored anything: the office is idle
    once that was a while ago and nothing waits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_work = time.monotonic()

    def _take(self, topic: str, payload: bytes, batch: Batch) -> None:
        self.last_work = time.monotonic()
        super()._take(topic, payload, batch)

    def store_batch(self, batch: Batch) -> None:
        try:
            super().store_batch(batch)
        finally:
            self.last_work = time.monotonic()


class Office:
    """One store, and an ``OfficeService`` session that comes and goes on command."""

    def __init__(self, target: str, host: str, port: int, key: bytes) -> None:
        self.store = TimedStore(open_store(target))
        self.settings = MqttSettings(
            host=host, port=port, client_id=CLIENT_ID, clean_session=False, reconnect_max_s=1
        )
        self.key = Ed25519PrivateKey.from_private_bytes(key)
        self.service: WatchedService | None = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def _start(self) -> WatchedService:
        service = WatchedService(self.settings, self.store, self.key, ServeOptions())
        service.start()
        if not service.conn.wait_connected(30):
            raise RuntimeError("the office could not reach the broker")
        return service

    def session(self) -> dict[str, Any]:
        """Open the office's persistent session and leave: the broker now keeps events."""
        self._start().stop()
        return {}

    def serve(self) -> dict[str, Any]:
        started = time.time()
        self.service = service = self._start()
        self._stop.clear()
        self._watch = threading.Thread(target=service.wait, args=(self._stop,), daemon=True)
        self._watch.start()  # the gate watch, as `gate-office serve` runs it
        return {"started": started}

    def quiet(self, for_s: float, within: float) -> dict[str, Any]:
        """Wait until no batch has been stored for ``for_s`` (repeats still queued at the
        broker have come and gone): steady state starts from an idle office."""
        service, store = self.service, self.store
        assert service is not None
        started, offered = time.monotonic(), store.offered

        def quiet() -> bool:
            return not service.busy() and time.monotonic() - service.last_work >= for_s

        while not quiet() and time.monotonic() < started + within:
            time.sleep(0.1)
        return {
            "quiet": quiet(),
            "waited_s": round(time.monotonic() - started, 2),
            "events_meanwhile": self.store.offered - offered,
        }

    def measure(self, since: float | None) -> dict[str, Any]:
        self.store.window_start = since
        return {}

    def stats(self) -> dict[str, Any]:
        s, svc = self.store, self.service
        return {
            "offered": s.offered,
            "new": s.new,
            "batches": s.batches,
            "commits": s.commits,
            "store_busy_s": round(s.store_busy_s, 3),
            "status_updates": s.status_updates,
            "status_busy_s": round(s.status_busy_s, 3),
            "latency_s": list(s.latency_s.values()),
            "receipts_sent": svc.receipts_sent if svc else 0,
            "dropped": svc.dropped if svc else 0,
        }

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self.service is not None:
            self.service.stop()
        self.store.db.close()
        return {}


def serve(conn: Connection, target: str, host: str, port: int, key: bytes) -> None:
    """The office process's loop: a command dict in, a reply dict out, until ``stop``."""
    tally = LogTally.install()
    try:
        office = Office(target, host, port, key)
    except Exception as exc:
        conn.send({"error": f"office: {type(exc).__name__}: {exc}"})
        return
    conn.send({})
    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "session": office.session,
        "serve": office.serve,
        "quiet": office.quiet,
        "measure": office.measure,
        "stats": lambda: {**office.stats(), "log": tally.report()},
        "stop": office.stop,
    }
    while True:
        try:
            message = dict(conn.recv())
        except EOFError:  # the orchestrator is gone: no one to answer
            office.stop()
            return
        op = message.pop("op")
        try:
            reply = commands[op](**message)
        except Exception as exc:
            reply = {"error": f"office: {type(exc).__name__}: {exc}"}
        conn.send(reply)
        if op == "stop":
            return


def _sql(target: str) -> Sql:
    if is_postgres(target):
        from agent.office.db.postgres import PostgresSql

        return PostgresSql(target)
    from agent.office.db.sqlite import SqliteSql

    return SqliteSql(Path(target))


def audit(target: str, last_seq: Mapping[str, int]) -> dict[str, Any]:
    """What the store holds against what the gates recorded: lost (a seq 1..last the store
    lacks), duplicated (one gate seq stored twice), ids distinct, seqs contiguous."""
    sql = _sql(target)
    try:
        ((rows, ids),) = sql.run("SELECT count(*), count(DISTINCT id) FROM events")
        per_gate = sql.run(
            "SELECT gate, count(*), count(DISTINCT seq), min(seq), max(seq) FROM events "
            "WHERE site = 'fleet' GROUP BY gate"
        )
    finally:
        sql.close()
    stored = {
        gate: (int(n), int(distinct), int(low), int(high))
        for gate, n, distinct, low, high in per_gate
    }
    lost = duplicated = beyond = 0
    gapped: list[str] = []
    for gate, last in last_seq.items():
        n, distinct, low, high = stored.get(gate, (0, 0, 0, 0))
        duplicated += n - distinct
        beyond += max(0, high - last)
        lost += last - (distinct - max(0, high - last))
        if distinct and (low != 1 or high - low + 1 != distinct):
            gapped.append(gate)
    return {
        "expected": sum(last_seq.values()),
        "stored": int(rows),
        "distinct_ids": int(ids),
        "lost": lost,
        "duplicated": duplicated,
        "gates_with_gaps": gapped[:10],
        "gates_missing": sorted(set(last_seq) - set(stored))[:10],
        "unexpected_gates": sorted(set(stored) - set(last_seq))[:10],
        "seqs_beyond_last": beyond,
    }
