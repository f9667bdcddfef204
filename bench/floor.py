"""The storage floor of one decision: what any implementation in Python must pay.

HMAC-SHA256 of the card's canonical number, a point lookup in a plain SQLite table of
the same size as the gate's allow-list (text primary key, WITHOUT ROWID), and one
event row inserted into a bare table and committed with ``synchronous=FULL`` (WAL:
one fsync), all on the calling thread. No thread hand-off, no model, no JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path


class Floor:
    """A card table and an event table, as plain as they come."""

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
        credential = hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()
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
        self._cards.close()
        self._events.close()
