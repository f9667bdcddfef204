"""Readings and the summary of ``bench/fleet.py``: CPU and memory per process, latency
percentiles, and one size's numbers side by side for each store."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fleet_procs import Child, cpu_s, machine_busy, memory_mb, postgres_pids
from tests.broker import Mosquitto


class Meter:
    """CPU seconds and memory of the broker, the office, the gate workers and the
    database's server processes (PostgreSQL), and the machine's busy share."""

    def __init__(
        self,
        broker: Mosquitto,
        office: Child,
        workers: list[Child],
        pg_server: str | None,
        target: str,
    ) -> None:
        assert broker.proc is not None
        self.broker_pid = broker.proc.pid
        self.office_pid = office.pid
        self.worker_pids = [w.pid for w in workers]
        self.pg_server = pg_server
        self.target = target
        self.t0 = time.time()
        self._start: dict[str, float] = {}
        self._busy = machine_busy()
        self._db_pids: list[int] = []

    def _cpu(self) -> dict[str, float]:
        if self.pg_server is not None and not self._db_pids:
            self._db_pids = postgres_pids(self.pg_server, self.target)
        return {
            "office": cpu_s(self.office_pid),
            "broker": cpu_s(self.broker_pid),
            "gates": sum(cpu_s(pid) for pid in self.worker_pids),
            "postgres": sum(cpu_s(pid) for pid in self._db_pids),
        }

    def mark(self) -> None:
        self.t0 = time.time()
        self._start = self._cpu()
        self._busy = machine_busy()

    def cpu_since(self) -> dict[str, Any]:
        """CPU seconds each used since ``mark``, and how busy both cores were."""
        now = self._cpu()
        busy, total = machine_busy()
        used: dict[str, Any] = {k: round(now[k] - self._start.get(k, 0.0), 2) for k in now}
        if self.pg_server is None:
            del used["postgres"]
        used["wall_s"] = round(time.time() - self.t0, 2)
        spent = total - self._busy[1]
        used["machine_busy_share"] = round((busy - self._busy[0]) / spent, 3) if spent else None
        return used

    def memory(self) -> dict[str, Any]:
        gates = [memory_mb(pid) for pid in self.worker_pids]
        return {
            "broker": memory_mb(self.broker_pid),
            "office": memory_mb(self.office_pid),
            "gates_rss_total": round(sum(g["rss"] for g in gates), 1),
        }


def percentiles(samples_s: list[float]) -> dict[str, Any]:
    """p50, p99 and max in ms (p99 is the highest sample below 100 samples' worth)."""
    if not samples_s:
        return {"p50": None, "p99": None, "max": None, "samples": 0}
    ordered = sorted(samples_s)
    p99 = (
        statistics.quantiles(ordered, n=100, method="inclusive")[98]
        if len(ordered) > 1
        else ordered[0]
    )
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(p99 * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
        "samples": len(ordered),
    }


def summary(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's numbers for one size, each by store, and every run in full."""

    def each(pick: Any) -> dict[str, Any]:
        picked = {}
        for store, run in runs.items():
            try:
                picked[store] = pick(run)
            except KeyError:  # a run that failed: its error is in "runs"
                picked[store] = None
        return picked

    return {
        "ingest_events_per_s": each(lambda r: r["drain"]["ingest_events_per_s"]),
        "drain_s": each(lambda r: r["drain"]["drain_s"]),
        "drain_events": each(lambda r: r["drain"]["events"]),
        "lost": each(lambda r: r["audit"]["lost"]),
        "duplicated": each(lambda r: r["audit"]["duplicated"]),
        "tap_to_office_ms": each(lambda r: r["steady"]["tap_to_office_ms"]),
        "broker_rss_mb": each(
            lambda r: {
                "peak": r["steady"]["memory_mb"]["broker"]["peak"],
                "steady": r["steady"]["memory_mb"]["broker"]["rss"],
            }
        ),
        "office_rss_mb": each(
            lambda r: {
                "peak": r["steady"]["memory_mb"]["office"]["peak"],
                "steady": r["steady"]["memory_mb"]["office"]["rss"],
            }
        ),
        "runs": runs,
    }
