"""The storage floor of one decision: what any implementation in Python must pay.

HMAC-SHA256 of the card's canonical number, a point lookup in a plain SQLite table of
the same size as the gate's allow-list (text primary key, WITHOUT ROWID), and one
event row inserted into a bare table and committed with ``synchronous=FULL`` (WAL:
one fsync), all on the calling thread. No thread hand-off, no model, no JSON.

Two floors, measured side by side by ``bench/decision.py``:

- ``Floor``: the floor the README's figures before issue 23 were quoted against. It
  copies the agent's layout: cards and events in two files on two connections, the
  credential as 64 hex characters, ``wal_autocheckpoint=0`` on the event file.
- ``BareFloor``: the barest honest floor (issue 23 item 4): one file, one connection,
  the 32-byte digest as the key, SQLite's defaults otherwise. Still HMAC, a point
  lookup in a table of the gate's size and one fsynced event row a tap: nothing a gate
  may skip. ``bench/floor_parts.py`` times the steps between the two.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import percentiles_ms


class Storage:
    """One decision's storage work on a card table and an event table (``_cards`` and
    ``_events``, one connection or two); subclasses open them and hash a card."""

    _cards: sqlite3.Connection
    _events: sqlite3.Connection

    def credential(self, canonical: str) -> str | bytes:
        raise NotImplementedError

    def load(self, canonicals: Iterable[str]) -> int:
        """Fill the card table (not measured); returns how many rows it holds."""
        rows = ((self.credential(c), f"R-{i}", f"U-{i % 500}") for i, c in enumerate(canonicals))
        self._cards.execute("BEGIN")
        self._cards.executemany("INSERT INTO cards VALUES (?, ?, ?)", rows)
        self._cards.execute("COMMIT")
        return int(self._cards.execute("SELECT count(*) FROM cards").fetchone()[0])

    def tap(self, canonical: str) -> float:
        """One decision's storage work; returns its duration in seconds."""
        started = time.monotonic()
        credential = self.credential(canonical)
        row = self._cards.execute(
            "SELECT holder_id, unit FROM cards WHERE credential = ?", (credential,)
        ).fetchone()
        self._events.execute(
            "INSERT INTO events (time, type, door, credential) VALUES (?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(),
                "access_granted" if row else "access_denied",
                "main",
                credential,
            ),
        )
        return time.monotonic() - started

    def close(self) -> None:
        for conn in {self._cards, self._events}:
            conn.close()


class Floor(Storage):
    """A card table and an event table, as plain as they come, laid out as the agent
    lays them out: two files on two connections, the credential as hex text, the event
    file's WAL never checkpointed (it only grows). Kept as it was: the README's figures
    before issue 23 were measured against it; ``BareFloor`` is the stricter floor.
    """

    def __init__(self, folder: Path, key: bytes, synchronous: str = "full") -> None:
        self._key = key
        self._cards = sqlite3.connect(folder / "floor-cards.db", isolation_level=None)
        self._cards.execute("PRAGMA journal_mode=WAL")
        self._cards.execute(
            "CREATE TABLE IF NOT EXISTS cards (credential TEXT PRIMARY KEY, "
            "holder_id TEXT NOT NULL, unit TEXT) WITHOUT ROWID"
        )
        self._events = sqlite3.connect(folder / "floor-events.db", isolation_level=None)
        self._events.execute("PRAGMA journal_mode=WAL")
        self._events.execute(f"PRAGMA synchronous={synchronous.upper()}")
        # no checkpoint inside a measured commit: the agent keeps them off its path too
        self._events.execute("PRAGMA wal_autocheckpoint=0")
        self._events.execute(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, "
            "type TEXT NOT NULL, door TEXT, credential TEXT)"
        )

    def credential(self, canonical: str) -> str:
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()


class BareFloor(Storage):
    """The barest honest floor: ONE connection to ONE file (WAL, ``synchronous=FULL``),
    ``cards`` WITHOUT ROWID keyed by the 32-byte HMAC digest (``hmac.digest``, in C,
    not the pure-Python ``hmac.new``), and one autocommit INSERT of the event row a tap.
    The WAL keeps SQLite's default autocheckpoint (1000 pages): a WAL that is reset and
    rewritten in place, not one that grows, so a commit's fsync seldom extends the file.
    """

    def __init__(self, folder: Path, key: bytes, synchronous: str = "full") -> None:
        self._key = key
        self._cards = self._events = db = sqlite3.connect(
            folder / "bare-floor.db", isolation_level=None
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        db.execute(
            "CREATE TABLE IF NOT EXISTS cards (credential BLOB PRIMARY KEY, "
            "holder_id TEXT NOT NULL, unit TEXT) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, "
            "type TEXT NOT NULL, door TEXT, credential BLOB)"
        )

    def credential(self, canonical: str) -> bytes:
        return hmac.digest(self._key, canonical.encode(), "sha256")


class Floors:
    """Both floors, tapped one after the other after each agent tap (which goes first
    alternates), with their samples."""

    def __init__(self, floor: Floor, bare: BareFloor) -> None:
        self.floor, self.bare = floor, bare
        self.floor_s: list[float] = []
        self.bare_s: list[float] = []
        self._turn = 0

    def tap(self, canonical: str, keep: bool) -> None:
        self._turn += 1
        if self._turn % 2:
            took, bare = self.floor.tap(canonical), self.bare.tap(canonical)
        else:
            bare, took = self.bare.tap(canonical), self.floor.tap(canonical)
        if keep:
            self.floor_s.append(took)
            self.bare_s.append(bare)

    def report(self) -> dict[str, Any]:
        return {"floor": percentiles_ms(self.floor_s), "bare_floor": percentiles_ms(self.bare_s)}
