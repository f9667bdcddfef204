"""Why ``Floor`` is slower than ``BareFloor`` (issue 23 item 4). Prints JSON.

The variants between the two floors of ``bench/floor.py``, one change at a time, each
with its own files and a card table of the same size, tapped in the same rounds (the
same card each round; which variant goes first rotates), so every variant sees the
same machine at the same moments:

    floor                  Floor's layout: hmac.new().hexdigest(), hex TEXT key, cards and
                           events in two files on two connections, wal_autocheckpoint=0
    +hmac.digest           the digest in C (hmac.digest(...).hex()): the same hex key
    +blob_key              the 32-byte digest as the key and the event's credential
    +one_file              cards and events in one file on one connection
    +default_checkpoint    SQLite's autocheckpoint (1000 pages) = BareFloor

and two single changes against the ends: ``floor+default_checkpoint_only`` and
``bare+no_checkpoint_only``. ``Floor`` and ``BareFloor`` themselves run in the same
rounds too, to show that the first and last steps are them. With
``wal_autocheckpoint=0`` the WAL only grows, so every commit's fsync also extends the
file (the file system's journal commits its size too); with checkpoints the WAL is
rewritten in place. Each step reports its p50/p99 and its share of the whole gap.

    python bench/floor_parts.py [--entries 100000] [--taps 6000] [--synchronous full]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import itertools
import json
import os
import random
import sqlite3
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, percentiles_ms
from bench.floor import BareFloor, Floor, Storage

WARMUP = 500


@dataclass(frozen=True)
class Layout:
    python_hmac: bool  # hmac.new().hexdigest() (pure Python) rather than hmac.digest (C)
    hex_key: bool  # the credential as 64 hex characters rather than 32 bytes
    two_files: bool  # cards and events in two files on two connections
    no_checkpoint: bool  # the event connection's wal_autocheckpoint=0


FLOOR = Layout(python_hmac=True, hex_key=True, two_files=True, no_checkpoint=True)
CHAIN = {  # from Floor to BareFloor, one change a step
    "floor": FLOOR,
    "+hmac.digest": Layout(False, True, True, True),
    "+blob_key": Layout(False, False, True, True),
    "+one_file": Layout(False, False, False, True),
    "+default_checkpoint": Layout(False, False, False, False),
}
SINGLES = {
    "floor+default_checkpoint_only": Layout(True, True, True, False),
    "bare+no_checkpoint_only": Layout(False, False, False, True),
}


class Tapper(Protocol):
    def load(self, canonicals: list[str]) -> int: ...
    def tap(self, canonical: str) -> float: ...
    def close(self) -> None: ...


class Variant(Storage):
    """A floor with each of the four choices open; its WAL starts empty after the load."""

    def __init__(self, folder: Path, key: bytes, layout: Layout, synchronous: str) -> None:
        folder.mkdir()
        self._key, self._layout = key, layout
        self._cards = self._events = self._open(folder / "events.db", synchronous)
        if layout.no_checkpoint:
            self._events.execute("PRAGMA wal_autocheckpoint=0")
        if layout.two_files:
            self._cards = self._open(folder / "cards.db", synchronous)
        kind = "TEXT" if layout.hex_key else "BLOB"
        self._cards.execute(
            f"CREATE TABLE cards (credential {kind} PRIMARY KEY, holder_id TEXT NOT NULL, "
            "unit TEXT) WITHOUT ROWID"
        )
        self._events.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, "
            f"type TEXT NOT NULL, door TEXT, credential {kind})"
        )

    @staticmethod
    def _open(path: Path, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        return conn

    def credential(self, canonical: str) -> str | bytes:
        if self._layout.python_hmac:
            return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()
        digest = hmac.digest(self._key, canonical.encode(), "sha256")
        return digest.hex() if self._layout.hex_key else digest

    def load(self, canonicals: Iterable[str]) -> int:
        count = super().load(canonicals)
        for conn in {self._cards, self._events}:  # the load's pages out of the WAL
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count


def wal_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*-wal"))


def run(entries: int, taps: int, synchronous: str) -> dict[str, Any]:
    key = os.urandom(32)
    canonicals = [f"uid:{0x04000000000000 + i * 7919:014X}" for i in range(entries)]
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        floors: dict[str, tuple[Tapper, Path]] = {}
        for name, layout in (CHAIN | SINGLES).items():
            folder = root / name
            floors[name] = (Variant(folder, key, layout, synchronous), folder)
        for name, cls in (("Floor", Floor), ("BareFloor", BareFloor)):
            folder = root / name
            folder.mkdir()
            floors[name] = (cls(folder, key, synchronous), folder)
        for tapper, _ in floors.values():
            assert tapper.load(canonicals) == entries
        gc.collect()  # as bench/decision.py and ``gate-agent run`` do: no full collection
        gc.freeze()  # of the loaded cards lands on one variant's tap
        names = list(floors)
        samples: dict[str, list[float]] = {name: [] for name in names}
        rng = random.Random(5)
        for i in range(taps + WARMUP):
            n = rng.randrange(entries) if i % 5 else entries + rng.randrange(10**9)
            canonical = f"uid:{0x04000000000000 + n * 7919:014X}"
            start = i % len(names)
            for name in names[start:] + names[:start]:
                took = floors[name][0].tap(canonical)
                if i >= WARMUP:
                    samples[name].append(took)
        walls = {name: wal_bytes(folder) for name, (_, folder) in floors.items()}
        for tapper, _ in floors.values():
            tapper.close()
    variants = {name: percentiles_ms(samples[name]) | {"wal_bytes_at_end": walls[name]}
                for name in names}  # fmt: skip
    return {"entries": entries, "variants": variants, "steps": steps(variants)}


def steps(variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each step of the chain: what it saved at p50 and p99, and its share of the gap."""
    chain = list(CHAIN)
    first, last = variants[chain[0]], variants[chain[-1]]
    out: dict[str, Any] = {}
    for before, after in itertools.pairwise(chain):
        step: dict[str, Any] = {}
        for cut in ("p50_ms", "p99_ms"):
            saved = variants[before][cut] - variants[after][cut]
            gap = first[cut] - last[cut]
            step[f"{cut[:3]}_saved_ms"] = round(saved, 3)
            step[f"{cut[:3]}_share_of_gap"] = round(saved / gap, 2) if gap > 0 else None
        out[after] = step
    out["floor_vs_bare"] = {
        "p50_ratio": round(first["p50_ms"] / last["p50_ms"], 2),
        "p99_ratio": round(first["p99_ms"] / last["p99_ms"], 2),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--taps", type=int, default=6000)
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    args = parser.parse_args()
    report = {
        "benchmark": "floor_parts",
        "synchronous": args.synchronous,
        "taps": args.taps,
        "warmup": WARMUP,
        "run": run(args.entries, args.taps, args.synchronous),
        "machine": machine(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
