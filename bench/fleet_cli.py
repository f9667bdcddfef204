"""The command line of ``bench/fleet.py``: its flags, checked, and the run described."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fleet_procs import BROKER_QUEUE

GATE_MODEL = (
    "full App per gate (build_app on sim drivers + attach: core loop, paho, uplink, inbox, "
    "housekeeping threads; real EventLog, AllowListStore, signed receipts); nothing left out"
)
# paho's network loop uses select(), which fails on a file descriptor above 1023, and a gate
# holds about 18 (SQLite files, WAL, lock, socket): more than ~50 gates in one process and
# the later gates' sockets can never connect
GATES_PER_PROC = 40


def parse(doc: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gates", default="10,100,1000", help="sizes N, comma-separated")
    parser.add_argument(
        "--backlog",
        default="10000,10000,1000",
        help="events per gate K: one for all sizes or one per size",
    )
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--procs", type=int, default=0, help="gate worker processes (0: auto)")
    parser.add_argument("--tap-seconds", type=float, default=60.0)
    parser.add_argument("--tap-gap", type=float, default=20.0, help="mean s between taps")
    parser.add_argument("--burst", type=int, default=5, help="most taps in one burst")
    parser.add_argument(
        "--receipt-timeout",
        type=float,
        default=30.0,
        help="the gates' mqtt.receipt_timeout_s (the config default: 30)",
    )
    parser.add_argument(
        "--gate-nice",
        type=int,
        default=10,
        help="niceness added to the gate workers: in the field the gates are other machines, "
        "here they share 2 cores with the office, broker and database, which come first",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="also write the JSON here after every run")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--quick", action="store_true", help="N=10, K=1,000, 20 s of taps")
    args = parser.parse_args()
    if args.quick:
        args.gates, args.backlog, args.tap_seconds = "10", "1000", 20.0
    try:
        args.sizes = [int(n) for n in args.gates.split(",")]
        backlogs = [int(k) for k in args.backlog.split(",")]
    except ValueError:
        parser.error("--gates and --backlog take whole numbers, comma-separated")
    if len(backlogs) == 1:
        backlogs *= len(args.sizes)
    if len(backlogs) != len(args.sizes):
        parser.error("--backlog needs one value, or one per --gates size")
    if min(args.sizes) < 1 or min(backlogs) < 0 or args.procs < 0:
        parser.error("--gates must be >= 1, --backlog >= 0, --procs >= 0")
    if args.tap_seconds <= 0 or args.tap_gap <= 0 or args.burst < 1:
        parser.error("--tap-seconds and --tap-gap must be > 0, --burst >= 1")
    if not 0 <= args.gate_nice <= 19:
        parser.error("--gate-nice must be within 0..19")
    if not 1 <= args.receipt_timeout <= 3600:
        parser.error("--receipt-timeout must be within 1..3600 s")
    args.backlogs = backlogs
    return args


def describe(args: argparse.Namespace, stores: list[str]) -> dict[str, Any]:
    """The run's settings and what the numbers mean, for the JSON."""
    return {
        "gates": args.sizes,
        "backlog_per_gate": args.backlogs,
        "stores": stores,
        "tap_seconds": args.tap_seconds,
        "tap_gap_s": args.tap_gap,
        "burst_max": args.burst,
        "receipt_timeout_s": args.receipt_timeout,
        "gate_worker_nice": args.gate_nice,
        "gates_per_process": f"at most {GATES_PER_PROC} unless --procs says otherwise",
        "gate_model": GATE_MODEL,
        "broker": f"mosquitto, persistence off, max_queued_messages {BROKER_QUEUE} "
        "(the office's session keeps every message; gates resend only on a receipt timeout)",
        "clocks": "event time (gate) and commit time (office) both from this machine's clock",
    }
