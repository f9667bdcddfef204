"""Card read to relay command, with the event write, on a 100,000-entry allow-list.

Runs the real App with its core thread and sim drivers. The reader stamps each read
with the clock's monotonic time as it reaches the agent; the sim relay stamps the
moment it is commanded. Prints JSON.

    python bench/decision.py [--entries 100000] [--taps 2000] [--synchronous full]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.gate.app import App
from agent.models.wire import AllowListEntry
from bench.common import bench_gate, current_rss_mb, machine, peak_rss_mb, percentiles_ms
from drivers.cards import CardNumber
from drivers.sim import SimCardReader, SimRelay


def build_app(folder: Path, synchronous: str) -> App:
    # the uplink is not attached: events stay in the outbox as they would offline
    return bench_gate(folder, {"synchronous": synchronous}, {"require_signatures": False})


def enroll(app: App, count: int) -> list[str]:
    cards: list[str] = []

    def entries() -> Iterator[AllowListEntry]:
        for i in range(count):
            uid = (0x04000000000000 + i * 7919).to_bytes(7, "big")
            number = CardNumber.from_uid(uid)
            cards.append("uid:" + uid.hex())
            yield AllowListEntry(
                credential=app.hasher.credential(number),
                masked=app.hasher.masked(number),
                holder_id=f"R-{i}",
                unit=f"U-{i % 500}",
            )

    assert app.allowlist.replace(entries(), 1) == count
    return cards


def run(entries: int, taps: int, synchronous: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp), synchronous)
        started = time.perf_counter()
        cards = enroll(app, entries)
        load_s = time.perf_counter() - started
        app.start(threaded=True)
        reader = app.devices.readers["r1"]
        relay = app.doors["main"].relay
        assert isinstance(reader, SimCardReader) and isinstance(relay, SimRelay)
        door = app.doors["main"]
        grants: list[float] = []
        denials: list[float] = []
        emitted: list[float] = []
        app.event_listeners.append(lambda _e: emitted.append(app.clock.monotonic()))
        rng = random.Random(7)
        for i in range(taps + 200):
            grant = i % 5 != 0  # one in five cards is unknown
            card = rng.choice(cards) if grant else f"uid:{rng.getrandbits(56):014x}"
            app.loop.run_sync(door.lock)
            before = len(relay.history)
            emitted.clear()
            read = reader.present(card)
            app.loop.run_sync(lambda: None)  # barrier: the read has been handled
            if i < 200:
                continue  # warm-up
            if grant:
                assert len(relay.history) == before + 1, "grant did not move the relay"
                grants.append(relay.history[-1][0] - read.at)
            else:
                denials.append(emitted[0] - read.at)
        rss_serving = current_rss_mb()
        app.stop()
        return {
            "benchmark": "decision",
            "entries": entries,
            "synchronous": synchronous,
            "allowlist_load_s": round(load_s, 2),
            "read_to_relay": percentiles_ms(grants),
            "read_to_denial_event": percentiles_ms(denials),
            "peak_rss_mb": peak_rss_mb(),
            "rss_while_serving_mb": rss_serving,
            "machine": machine(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--taps", type=int, default=2000)
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    args = parser.parse_args()
    print(json.dumps(run(args.entries, args.taps, args.synchronous), indent=2))


if __name__ == "__main__":
    main()
