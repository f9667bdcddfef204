"""Presence across gates, measured (issue 21, item 9): three gates, one office, one broker.

Three full gate Apps (east, west, north; sim readers ``in`` and ``out``, the compound
hard anti-passback), the real office service on SQLite and a real mosquitto, in this one
process. Every gate knows ``--holders`` residents. A driver taps ``--rate`` cards a
second across the gates for ``--minutes``: a random holder at a random gate, at ``out``
if they are inside by the driver's own account (its last granted move), else ``in``.
North reaches the broker through a relay (``bench/link_cut.py``) that is cut for the
``--partition`` window (seconds from the start) and healed: a real partition.

Measured:

* propagation: from the commit of a grant at one gate (its decision listener) to the
  commit of the merge of that move at each other gate (the merge listener), one clock;
  moves made or received while north was cut off (to their catch-up) are counted
  apart, as ``catch_up``;
* divergence after healing: once the taps stop, how long until the three gates and the
  office hold the same record for every holder, and how many holders differ when the
  wait (``--settle``) ends (target 0);
* taps per second achieved, outcomes, north's partition and rejoin events.

    python bench/presence.py                  # 10,000 holders, 50 taps/s, 10 minutes
    python bench/presence.py --minutes 0.2 --holders 300 --rate 20 --partition 3,8 \\
        --partitioned-after 1                 # a few seconds (tests/test_presence_bench.py)

One JSON object goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.core.clock import SystemClock
from agent.core.presence import Presence
from agent.gate.app import App
from agent.gate.assemble import build_app
from agent.gate.ports import DecisionRecord
from agent.link.mqtt import MqttSettings
from agent.link.signing import public_key_text
from agent.link.wiring import GateLink, attach
from agent.models.config import validate_config
from agent.models.wire import AllowListEntry
from agent.office.db import open_store
from agent.office.db.presence import OfficePresence, presence_of
from agent.office.service import OfficeService, ServeOptions
from agent.store.credentials import CredentialHasher, write_new_key
from bench.common import machine, percentiles_ms
from bench.fleet_procs import fleet_broker
from bench.link_cut import LinkCut
from drivers.cards import parse_card
from drivers.sim import SimCardReader

GATES = ("east", "west", "north")
SITE = "bench"


def say(text: str) -> None:
    print(f"presence: {text}", file=sys.stderr, flush=True)


def card(n: int) -> str:
    return f"uid:04C1{n:06X}"


class Rig:
    """The broker, the office, the gates and what the listeners saw."""

    def __init__(self, folder: Path, args: argparse.Namespace) -> None:
        self.args = args
        self.broker = fleet_broker(folder / "broker")
        self.broker.start()
        self.cut = LinkCut(self.broker.host, self.broker.port)
        self.key = Ed25519PrivateKey.generate()
        self.lock = threading.Lock()
        self.granted_at: dict[tuple[str, int], float] = {}  # (gate, seq) -> commit time
        self.steady: list[float] = []
        self.catch_up: list[float] = []
        self.window = (float("inf"), float("inf"))  # monotonic: cut, healed + caught up
        self.decisions: dict[str, int] = {}
        settings = MqttSettings(
            host=self.broker.host,
            port=self.broker.port,
            client_id="gate-office-serve",
            clean_session=False,
            reconnect_min_s=0.2,
            reconnect_max_s=1,
        )
        self.store = open_store(folder / "office.db")
        presence = presence_of(self.store)
        assert presence is not None
        self.office_presence: OfficePresence = presence
        options = ServeOptions(prefix="gate", presence_heartbeat_s=args.heartbeat)
        self.office = OfficeService(settings, self.store, self.key, options)
        self.office.start()
        write_new_key(folder / "site.key")
        hasher = CredentialHasher.from_file(folder / "site.key")
        self.entries = [
            AllowListEntry(credential=c, masked=m, holder_id=f"R-{n}", unit=f"A-{n}")
            for n in range(args.holders)
            for c, m in [hasher.identify(parse_card(card(n)))]
        ]
        self.gates: dict[str, tuple[App, GateLink]] = {n: self._gate(folder, n) for n in GATES}

    def _gate(self, folder: Path, name: str) -> tuple[App, GateLink]:
        port = self.cut.port if name == "north" else self.broker.port
        config = validate_config(
            {
                "gate": {"site": SITE, "gate_id": name, "timezone": "UTC", "simulated": True},
                "storage": {"dir": f"state-{name}", "events_max_rows": 1_000_000},
                "security": {"credential_key_file": "site.key"},
                "clock": {"sync_marker": ""},
                "doors": [
                    {
                        "id": "main",
                        "readers": [{"id": "in"}, {"id": "out", "direction": "out"}],
                        "relay": {"driver": "sim"},
                    }
                ],
                "alarms": {
                    "reader_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                    "card_denials": {"count": 10**9, "window_s": 1, "lockout_s": 0},
                },
                "mqtt": {
                    "enabled": True,
                    "host": self.broker.host,
                    "port": port,
                    "office_public_key": public_key_text(self.key),
                    "reconnect_max_s": 1,
                },
                "presence": {
                    "areas": {"compound": {"passback": "hard"}},
                    "passages": {
                        "in": {"from": "outside", "to": "compound"},
                        "out": {"from": "compound", "to": "outside"},
                    },
                    "partitioned_after_s": self.args.partitioned_after,
                },
            },
            folder,
        )
        app = build_app(config, clock=SystemClock())
        app.allowlist.replace(self.entries, 1)
        link = attach(app)
        app.add_decision_listener(lambda d: self._decided(name, d))
        app.presence_merge.listeners.append(lambda won: self._merged(name, won))
        app.start(threaded=True)
        return app, link

    def _decided(self, gate: str, decision: DecisionRecord) -> None:
        now = time.monotonic()
        with self.lock:
            self.decisions[decision.reason] = self.decisions.get(decision.reason, 0) + 1
            if decision.granted:
                self.granted_at[gate, decision.seq] = now

    def _merged(self, gate: str, won: list[Presence]) -> None:
        now = time.monotonic()
        cut, healed = self.window
        with self.lock:
            for record in won:
                made = self.granted_at.get((record.gate, record.seq))
                if made is None or record.gate == gate:
                    continue
                # made or merged while north was cut off (until it rejoined): a catch-up
                during = cut <= made <= healed or cut <= now <= healed
                partitioned = "north" in (gate, record.gate) and during
                (self.catch_up if partitioned else self.steady).append(now - made)

    def reader(self, gate: str, name: str) -> SimCardReader:
        reader = self.gates[gate][0].devices.readers[name]
        assert isinstance(reader, SimCardReader)
        return reader

    def records(self) -> list[dict[str, Presence]]:
        views = [self.office_presence.all(SITE)]
        views += [app.presence_merge.all() for app, _link in self.gates.values()]
        return [{r.holder_id: r for r in view} for view in views]

    def divergence(self) -> tuple[int, int]:
        """(holders whose records differ anywhere, holders with any record)."""
        views = self.records()
        holders = set().union(*views)
        differ = sum(1 for h in holders if len({v.get(h) for v in views}) > 1)
        return differ, len(holders)

    def close(self) -> None:
        for app, _link in self.gates.values():
            app.stop()
        self.office.stop()
        self.store.close()
        self.cut.close()
        self.broker.stop()


def drive(rig: Rig, args: argparse.Namespace) -> dict[str, Any]:
    """Tap at ``--rate`` for ``--minutes``, cutting north for the partition window."""
    rng = random.Random(args.seed)
    inside: set[int] = set()  # the driver's own account: holders last granted in
    duration = args.minutes * 60
    cut_at, heal_at = args.partition
    north_sync = rig.gates["north"][1].presence
    assert north_sync is not None
    start = time.monotonic()
    taps = 0
    cut = healed = False
    while (elapsed := time.monotonic() - start) < duration:
        if not cut and elapsed >= cut_at:
            rig.cut.cut()
            rig.window = (time.monotonic(), float("inf"))
            cut = True
            say(f"north cut off at {elapsed:.0f} s")
        if cut and not healed and elapsed >= heal_at:
            rig.cut.heal()
            healed = True
            say(f"north healed at {elapsed:.0f} s")
        if healed and rig.window[1] == float("inf") and not north_sync.partitioned:
            rig.window = (rig.window[0], time.monotonic())  # rejoined: caught up
        holder = rng.randrange(args.holders)
        gate = GATES[rng.randrange(len(GATES))]
        reader = "out" if holder in inside else "in"
        rig.reader(gate, reader).present(card(holder))
        taps += 1
        # the driver's account follows each tap as granted (a refused one is the gate's
        # stale view: counted in outcomes, and the holder still walks through)
        (inside.discard if reader == "out" else inside.add)(holder)
        next_at = start + taps / args.rate
        time.sleep(max(0.0, next_at - time.monotonic()))
    tapped_s = time.monotonic() - start
    return {"taps": taps, "seconds": round(tapped_s, 1), "per_s": round(taps / tapped_s, 2)}


def settle(rig: Rig, within: float) -> dict[str, Any]:
    t = time.monotonic()
    differ, holders = rig.divergence()
    while differ and time.monotonic() - t < within:
        time.sleep(0.5)
        differ, holders = rig.divergence()
    return {
        "after_s": round(time.monotonic() - t, 2),
        "holders_differing": differ,
        "holders_with_records": holders,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--holders", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="taps a second, all gates")
    parser.add_argument(
        "--partition",
        default="",
        help="CUT,HEAL seconds from the start (default: 30%% and 60%% of the run)",
    )
    parser.add_argument("--partitioned-after", type=float, default=10.0)
    parser.add_argument("--heartbeat", type=float, default=2.0)
    parser.add_argument("--settle", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    duration = args.minutes * 60
    try:
        window = [float(x) for x in args.partition.split(",")] if args.partition else []
    except ValueError:
        window = [-1.0]
    if not window:
        window = [0.3 * duration, 0.6 * duration]
    if len(window) != 2 or not 0 <= window[0] < window[1] <= duration:
        parser.error("--partition takes CUT,HEAL seconds within the run, CUT < HEAL")
    args.partition = tuple(window)
    with tempfile.TemporaryDirectory(prefix="presence-bench-") as tmp:
        say(f"building: {args.holders} holders at 3 gates")
        rig = Rig(Path(tmp), args)
        try:
            for app, link in rig.gates.values():
                if not link.conn.wait_connected(30):
                    raise SystemExit(f"gate {app.config.gate.gate_id} did not connect")
            time.sleep(1.0)  # the first asks answered
            say(f"tapping {args.rate}/s for {duration:.0f} s")
            taps = drive(rig, args)
            say("taps done; waiting for every gate to agree")
            converged = settle(rig, args.settle)
            north = rig.gates["north"][0]
            events = {
                t: [e.details for e in north.events.matching(types=[t], limit=100)]
                for t in ("presence_partitioned", "presence_rejoined")
            }
            with rig.lock:
                steady, catch_up = list(rig.steady), list(rig.catch_up)
                outcomes = dict(sorted(rig.decisions.items()))
            result = {
                "bench": "presence",
                "config": {
                    "gates": len(GATES),
                    "holders": args.holders,
                    "rate": args.rate,
                    "minutes": args.minutes,
                    "partition_s": list(args.partition),
                    "partitioned_after_s": args.partitioned_after,
                    "heartbeat_s": args.heartbeat,
                    "office_store": "sqlite",
                    "process": "one process: 3 full gate Apps, office service, "
                    "and a separate mosquitto",
                },
                "machine": machine(),
                "taps": {**taps, "outcomes": outcomes},
                "propagation_ms": percentiles_ms(steady) if steady else None,
                "catch_up_ms": percentiles_ms(catch_up) if catch_up else None,
                "divergence_after_healing": converged,
                "north": {
                    "partitioned": events["presence_partitioned"],
                    "rejoined": events["presence_rejoined"],
                },
                "office": {
                    "relayed_moves": rig.office.relay.relayed_moves if rig.office.relay else 0,
                    "stored": rig.office.stored,
                },
            }
        finally:
            rig.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
