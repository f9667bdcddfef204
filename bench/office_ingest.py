"""Office event ingest: events/s into SQLite and into PostgreSQL, in batches of 1,000 and
10,000, 200,000 events from 10 gates per run, each run on a fresh database.

Also measured on the loaded database: a batch that is all repeats (at-least-once
redelivery), and the two reads the office makes most (a gate's newest 100, a follow page).
PostgreSQL: a scratch database is made on the server (``--pg``) and dropped after. Its
reads are measured right after the load, before autovacuum has analysed the new table:
a gate's newest 100 then plans as a scan of the whole gate (a few ms; 0.1 ms once analysed).
SQLite runs with ``synchronous=FULL``: every batch is on disk before ``add_events`` returns.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import machine

from agent.office.db import OfficeDb, open_store

T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
GATES = 10


def make_events(total: int) -> list[dict[str, Any]]:
    """Gate Event JSON as it arrives: gates interleaved, each with its own seq."""
    events = []
    for n in range(total):
        gate, seq = f"g{n % GATES}", n // GATES + 1
        events.append(
            {
                "id": uuid.uuid4().hex,
                "seq": seq,
                "time": (T0 + timedelta(milliseconds=n * 50)).isoformat().replace("+00:00", "Z"),
                "site": "bench",
                "gate": gate,
                "type": "access_granted" if n % 4 else "access_denied",
                "severity": "info",
                "door": "main",
                "details": {
                    "reader": "r1",
                    "card": "uid:****24B2",
                    "holder_id": f"R-{n % 500}",
                    "kind": "resident",
                    "reason": "granted",
                },
            }
        )
    return events


@contextmanager
def sqlite_db() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield str(Path(folder) / "office.db")


@contextmanager
def postgres_db(server: str) -> Iterator[str]:
    import psycopg

    name = f"office_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(call: Callable[[], object], times: int = 20) -> dict[str, float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


def run(target: str, events: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    db: OfficeDb = open_store(target)
    try:
        per_batch = []
        started = time.perf_counter()
        for i in range(0, len(events), batch):
            t = time.perf_counter()
            assert db.add_events(events[i : i + batch]) == len(events[i : i + batch])
            per_batch.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        t = time.perf_counter()
        assert db.add_events(events[:batch]) == 0
        repeats = time.perf_counter() - t
        assert db.highest_contiguous_seq("bench", "g0") == len(events) // GATES
        cursor = db.last_serial() - 200
        return {
            "batch": batch,
            "events": len(events),
            "events_per_s": round(len(events) / elapsed),
            "batch_p50_ms": round(statistics.median(per_batch) * 1000, 1),
            "batch_max_ms": round(max(per_batch) * 1000, 1),
            "repeats_per_s": round(batch / repeats),
            "gate_newest_100": timed(lambda: db.query_events(site="bench", gate="g3")),
            "follow_page_100": timed(lambda: db.query_events(after=cursor)),
            "holder_newest_100": timed(lambda: db.query_events(holder="R-7")),
        }
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=200_000)
    parser.add_argument("--batches", default="1000,10000")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    events = make_events(args.total)
    results: dict[str, Any] = {"machine": machine(), "gates": GATES, "sqlite": [], "postgres": []}
    for batch in (int(b) for b in args.batches.split(",")):
        with sqlite_db() as path:
            results["sqlite"].append(run(path, events, batch))
        with postgres_db(args.pg) as dsn:
            results["postgres"].append(run(dsn, events, batch))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
