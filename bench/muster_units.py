"""A muster's start: the units of the holders inside, read from the live allow-list in one
pass (``agent.store.holders.holder_units``). Prints JSON.

The allow-list is indexed by credential only, so the read is a scan; it runs once per
muster on a connection of its own. This measures it for a list of N entries and K
holders inside, with the list's pages cold (just built) and warm.

    python bench/muster_units.py [--entries 100000] [--inside 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.models.wire import AllowListEntry
from agent.store.allowlist import AllowListStore
from agent.store.holders import holder_units
from bench.common import machine


def entries(count: int) -> Iterator[AllowListEntry]:
    for i in range(count):
        unit = f"{i % 40}-{i % 6}-{i % 900}"
        yield AllowListEntry(credential=f"{i:064x}", masked=f"****{i % 10000:04d}",
                             holder_id=f"h-{i:08d}", unit=unit)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--inside", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = AllowListStore(Path(folder) / "allowlist.db", ZoneInfo("UTC"))
        store.replace(entries(args.entries), 1)
        step = max(args.entries // args.inside, 1)
        inside = [f"h-{i:08d}" for i in range(0, args.entries, step)][: args.inside]
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            found = holder_units(store.path, inside)
            times.append((time.perf_counter() - t0) * 1000)
            assert len(found) == len(inside)
        store.close()
    print(json.dumps({"bench": "muster_units", "entries": args.entries, "inside": args.inside,
                      "first_ms": round(times[0], 1),
                      "median_ms": round(statistics.median(times), 1),
                      "max_ms": round(max(times), 1), "machine": machine()}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
