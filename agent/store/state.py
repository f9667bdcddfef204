"""Small durable gate state (lockdown flag, config revision) beside the event log."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.store.db import Turns


class StateStore:
    """Key/value strings in their own table; survives restarts."""

    def __init__(self, path: Path, turns: Turns | None = None) -> None:
        # the table is in the event log's file: written in its turns
        self._turns = turns = turns or Turns()
        self._conn = turns.connect(path)
        self._conn.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        with self._lock, self._turns.transaction(self._conn) as conn:
            conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))

    def get_bool(self, key: str) -> bool:
        return self.get(key) == "1"

    def set_bool(self, key: str, value: bool) -> None:
        self.set(key, "1" if value else "0")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
