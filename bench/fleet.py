"""A fleet of gates against one mosquitto and the office service, measured.

For each size N and each store (SQLite, PostgreSQL), on a fresh broker and database:

1. The office service opens its persistent session and goes away (an office outage).
2. N gates, ~40 to a worker process, each a full App on sim drivers (``build_app`` +
   ``attach``: every thread a real gate runs), first record K events each in their own
   log, then start, one worker after another, and push them to the broker (QoS 1,
   100 to a message; the broker keeps them for the office: ``max_queued_messages``
   is raised). Gates without a receipt resend after ``--receipt-timeout`` as in the field.
3. The office service starts. Drain: until every gate has a receipt for every event;
   ingest: until the store holds them all.
4. Once the office has been idle for 3 s (repeats still queued are done), steady state:
   each gate taps cards (one per ``--tap-gap`` s on average, in bursts of 1..``--burst``
   taps 0.5-3 s apart) for ``--tap-seconds``. Tap-to-office latency is the office's
   commit time minus the event's time (one machine, one clock).
5. Audit: the store holds every seq 1..last of every gate exactly once.

    python bench/fleet.py --quick                  # N=10, K=1,000, 20 s of taps, both stores
    python bench/fleet.py                          # the full run: N=10, 100, 1,000 with
                                                   # K=10,000, 10,000, 1,000, both stores
    python bench/fleet.py --gates 1000 --backlog 10000 --store postgres --receipt-timeout 3600
                                                   # the 10-million-event drain, no resends

One JSON object goes to stdout (``--save FILE`` also writes it after every run);
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.link.signing import public_key_text
from bench import fleet_gates, fleet_office
from bench.common import machine
from bench.fleet_cli import GATES_PER_PROC, describe, parse
from bench.fleet_procs import (
    BenchError,
    Child,
    ask_all,
    fleet_broker,
    merge_logs,
    say,
    store_target,
)
from bench.fleet_report import Meter, percentiles, summary


def run(gates: int, backlog: int, store: str, args: argparse.Namespace) -> dict[str, Any]:
    """One size on one store, from an empty broker and database to the audit."""
    procs = args.procs or -(-gates // GATES_PER_PROC)
    if -(-gates // procs) > GATES_PER_PROC + 10:
        raise BenchError(
            f"{gates} gates need --procs >= {-(-gates // (GATES_PER_PROC + 10))}: "
            "paho's select() loop cannot use file descriptors above 1023"
        )
    names = [f"g{n:04d}" for n in range(gates)]
    key = Ed25519PrivateKey.generate()
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        folder = Path(tmp)
        broker = fleet_broker(folder / "broker")
        broker.start()
        try:
            with store_target(store, folder, args.pg) as target:
                try:
                    office = Child(
                        "office",
                        fleet_office.serve,
                        target,
                        broker.host,
                        broker.port,
                        key.private_bytes_raw(),
                    )
                    children.append(office)
                    office.reply(60)
                    office.ask("session", 60)
                    specs = [
                        fleet_gates.WorkerSpec(
                            names[i::procs],
                            str(folder / "gates"),
                            broker.host,
                            broker.port,
                            public_key_text(key),
                            backlog,
                            {"receipt_timeout_s": args.receipt_timeout},
                            args.gate_nice,
                        )
                        for i in range(procs)
                    ]
                    workers = [
                        Child(f"worker{i}", fleet_gates.serve, s) for i, s in enumerate(specs)
                    ]
                    children += workers
                    meter = Meter(
                        broker, office, workers, args.pg if store == "postgres" else None, target
                    )
                    return measure(
                        gates, backlog, store, procs, office, workers, meter, target, args
                    )
                finally:  # gates and office stop before their database goes
                    stop_all(children)
        finally:
            broker.stop()


def stop_all(children: list[Child]) -> None:
    """Ask every child still running to stop, all at once; end each after its answer."""
    alive = [child for child in children if child.proc.is_alive()]
    for child in alive:
        child.send("stop")
    for child in alive:
        try:
            child.reply(180)
        except BenchError as exc:
            say(f"{child.name}: {exc}")
    for child in children:
        child.end()


def measure(
    gates: int,
    backlog: int,
    store: str,
    procs: int,
    office: Child,
    workers: list[Child],
    meter: Meter,
    target: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    label = f"N={gates} K={backlog} {store}"
    slow = max(120.0, gates * backlog / 2000)  # generous: a timeout is a finding, not a hang
    say(f"{label}: {procs} worker(s) filling and starting the gates")
    t_build = time.time()
    built = ask_all(workers, "build", slow + gates * 2)
    say(f"{label}: office away; gates starting and pushing their backlog to the broker")
    t_start = time.time()
    started_gates = []
    for worker in workers:
        # one worker at a time, its backlog at the broker before the next: the whole fleet
        # starting at once starves gates' core loops past App.start's 5 s run_sync limit
        started_gates.append(worker.ask("start", 60 + gates))
        if worker.ask("wait", slow + 30, what="pushed", within=slow)["missing"]:
            raise BenchError(f"{label}: {worker.name}'s gates did not reach the broker")
    if any(r["missing"] for r in ask_all(workers, "wait", 60, what="pushed", within=30)):
        raise BenchError(f"{label}: not every gate's backlog reached the broker")
    counts = ask_all(workers, "counts", 300)
    expected = sum(sum(c["last_seq"].values()) for c in counts)
    published_before = sum(c["published"] for c in counts)
    say(f"{label}: {expected} events at the broker; office service starting")
    meter.mark()
    started = office.ask("serve", 60)["started"]
    drained = ask_all(workers, "wait", slow + 30, what="received", within=slow)
    cpu = meter.cpu_since()
    memory_drain = meter.memory()
    stats = office.ask("stats", 120)
    after = ask_all(workers, "counts", 300)
    done = [t for r in drained for t in r["done"].values()]
    missing = sum(r["missing"] for r in drained)
    committed = next((t for t, total in stats["commits"] if total >= expected), None)
    drain_s = round(max(done) - started, 2) if done and not missing else None
    store_s = round(committed - started, 2) if committed else None
    say(f"{label}: drained in {drain_s} s (stored in {store_s} s); taps for {args.tap_seconds} s")
    quiet = office.ask("quiet", slow + 30, for_s=3.0, within=slow)
    window = time.time()
    office.ask("measure", 30, since=window)
    meter.mark()
    tapped = ask_all(
        workers,
        "taps",
        args.tap_seconds + 120,
        seconds=args.tap_seconds,
        gap_s=args.tap_gap,
        burst_max=args.burst,
        seed=args.seed,
    )
    steady_cpu = meter.cpu_since()
    settled = ask_all(workers, "wait", 130, what="received", within=120)
    steady = office.ask("stats", 120)
    final = ask_all(workers, "counts", 300)
    last_seq = {g: s for c in final for g, s in c["last_seq"].items()}
    audit = fleet_office.audit(target, last_seq)
    memory_end = meter.memory()
    taps = sum(t["taps"] for t in tapped)
    return {
        "gates": gates,
        "backlog_per_gate": backlog,
        "store": store,
        "worker_procs": procs,
        "start": {
            "fill_s_max": max(b["fill_s"] for b in built),
            "build_s_max": max(b["build_s"] for b in built),
            "start_s_max": max(b["start_s"] for b in started_gates),
            "threads_per_worker": max(b["threads"] for b in started_gates),
            "fill_build_s": round(t_start - t_build, 2),
            "gates_up_until_office_s": round(started - t_start, 2),
        },
        "drain": {
            "events": expected,
            "drain_s": drain_s,
            "store_s": store_s,
            "gates_not_receipted": missing,
            "ingest_events_per_s": round(expected / store_s) if store_s else None,
            "events_per_s_until_receipted": round(expected / drain_s) if drain_s else None,
            "office_got": stats["offered"],
            "office_stored_new": stats["new"],
            "redelivered": stats["offered"] - stats["new"],
            "gate_publishes_during_drain": sum(c["published"] for c in after) - published_before,
            "store_batches": stats["batches"],
            "store_busy_s": stats["store_busy_s"],
            "status_updates": stats["status_updates"],
            "status_busy_s": stats["status_busy_s"],
            "receipts_sent": stats["receipts_sent"],
            "cpu_s": cpu,
            "memory_mb": memory_drain,
            "repeats_after_receipted": quiet,
        },
        "steady": {
            "taps": taps,
            "late_taps": sum(t["late_taps"] for t in tapped),
            "gates_not_receipted": sum(r["missing"] for r in settled),
            "tap_to_office_ms": percentiles(steady["latency_s"]),
            "measured": len(steady["latency_s"]),
            "office_got": steady["offered"] - stats["offered"] - quiet["events_meanwhile"],
            "status_updates": steady["status_updates"] - stats["status_updates"],
            "status_busy_s": round(steady["status_busy_s"] - stats["status_busy_s"], 3),
            "cpu_s": steady_cpu,
            "memory_mb": memory_end,
        },
        "audit": audit,
        "warnings": {"gates": merge_logs([c["log"] for c in final]), "office": steady["log"][:12]},
    }


def main() -> None:
    args = parse(__doc__)
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    results: dict[str, Any] = {
        "benchmark": "fleet",
        "machine": machine(),
        "config": describe(args, stores),
        "sizes": {},
    }
    failed = False

    def save() -> None:  # a long run keeps what it has measured so far
        if args.save:
            Path(args.save).write_text(json.dumps(results, indent=2) + "\n")

    try:
        for gates, backlog in zip(args.sizes, args.backlogs, strict=True):
            runs: dict[str, dict[str, Any]] = {}
            for store in stores:
                try:
                    runs[store] = run(gates, backlog, store, args)
                except BenchError as exc:  # told, kept in the JSON; the other runs go on
                    say(f"N={gates} K={backlog} {store}: {exc}")
                    runs[store], failed = {"error": str(exc)}, True
                results["sizes"][str(gates)] = summary(runs)
                save()
    except KeyboardInterrupt:
        sys.exit(130)
    print(json.dumps(results, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
