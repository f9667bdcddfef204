"""Small durable gate state (lockdown flag, config revision) beside the event log."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from agent.store.db import connect, transaction


class StateStore:
    """Key/value strings in their own table; survives restarts."""

    def __init__(
        self,
        path: Path,
        writer: threading.RLock | None = None,
        wrote: Callable[[], None] = lambda: None,
    ) -> None:
        # the table is in the event log's file: its writer lock, and its WAL count
        self._writer, self._wrote = writer, wrote
        self._conn = connect(path)
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # as in ReplayGuard: the log folds it
        self._conn.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        with self._lock, transaction(self._conn, self._writer) as conn:
            conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))
        self._wrote()

    def get_bool(self, key: str) -> bool:
        return self.get(key) == "1"

    def set_bool(self, key: str, value: bool) -> None:
        self.set(key, "1" if value else "0")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
