"""How long events in flight take to reach the office after it comes back.

Two scenarios, each with a real mosquitto, a gate recording a storm of events
(``--rate`` a second for ``--seconds``) and ``gate-office serve`` as a process:

- ``office-kill``: the office is killed (SIGKILL) one second into the storm and
  started again a second later: what it had taken from the broker but not committed
  is gone, and the broker believes it delivered.
- ``broker-restart``: a broker without persistence is restarted one second into the
  storm, and the office comes back ``--office-late`` s after the gate: what the gate
  sent again on its reconnect found no office session to keep it for.

``drain_s`` is the time from the office's (or broker's) return until the office holds
every event of the gate and the gate holds a receipt for each. JSON out.

    python bench/office_return.py [--scenario both] [--rate 300] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.kinds import EventType
from agent.gate.app import App
from agent.link.signing import public_key_text
from agent.link.wiring import attach
from bench.common import bench_gate, machine
from tests.broker import Mosquitto
from tests.office_proc import OfficeProcess

LIMIT_S = 180.0


def _storm(app: App, rate: float, seconds: float) -> threading.Thread:
    def run() -> None:
        start = time.monotonic()
        n = 0
        while (elapsed := time.monotonic() - start) < seconds:
            if n < elapsed * rate:
                app.record(EventType.EXIT_REQUEST, "main", n=n)
                n += 1
            else:
                time.sleep(0.001)

    thread = threading.Thread(target=run, name="storm", daemon=True)
    thread.start()
    return thread


def run(scenario: str, rate: float, seconds: float, office_late: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(folder / "broker", persistence=scenario != "broker-restart")
        broker.start()
        key = Ed25519PrivateKey.generate()
        office = OfficeProcess(folder / "office", broker, key)
        office.start()
        time.sleep(1.5)  # the office's session subscribes before the gate speaks
        app = bench_gate(
            folder,
            {"events_max_rows": 1_000_000},
            {"host": broker.host, "port": broker.port, "office_public_key": public_key_text(key),
             "reconnect_max_s": 2},
        )  # fmt: skip
        attach(app)
        app.start(threaded=True)
        try:
            storm = _storm(app, rate, seconds)
            time.sleep(1.0)
            if scenario == "office-kill":
                office.kill()
                time.sleep(1.0)
                office.start()
            else:
                office.kill()
                broker.restart()
                time.sleep(office_late)
                office.start()
            back = time.monotonic()
            storm.join()
            last = app.events.last_seq()
            drained = None
            while time.monotonic() - back < LIMIT_S:
                rows, seqs = office.stored("bench", "g1")
                if len(seqs) == last and app.events.unreceived() == 0:
                    drained = time.monotonic() - back
                    break
                time.sleep(0.05)
            rows, seqs = office.stored("bench", "g1")
        finally:
            app.stop()
            office.stop()
            broker.stop()
        return {
            "scenario": scenario,
            "events": last,
            "stored_rows": rows,
            "stored_distinct": len(seqs),
            "drain_s": round(drained, 2) if drained is not None else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", choices=("office-kill", "broker-restart", "both"), default="both"
    )
    parser.add_argument("--rate", type=float, default=300.0, help="events a second")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the storm lasts")
    parser.add_argument("--office-late", type=float, default=2.0,
                        help="broker-restart: s the office returns after the broker")  # fmt: skip
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    names = ("office-kill", "broker-restart") if args.scenario == "both" else (args.scenario,)
    results = [
        run(name, args.rate, args.seconds, args.office_late)
        for name in names
        for _ in range(args.runs)
    ]
    print(json.dumps({"machine": machine(), "runs": results}, indent=1))


if __name__ == "__main__":
    main()
