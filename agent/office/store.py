"""The office's own SQLite file: events received (each once) and what each gate was sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.models.wire import AllowListEntry
from agent.store.db import connect, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, site TEXT, gate TEXT, seq INTEGER, time TEXT, type TEXT,
    severity TEXT, door TEXT, details TEXT, received TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS events_gate_seq ON events (site, gate, seq);
CREATE TABLE IF NOT EXISTS pushed (
    site TEXT, gate TEXT, credential TEXT, entry TEXT, PRIMARY KEY (site, gate, credential)
);
CREATE TABLE IF NOT EXISTS pushed_version (site TEXT, gate TEXT, version INTEGER,
    PRIMARY KEY (site, gate));
"""


class OfficeStore:
    """Duplicates are dropped by event id: at-least-once in, exactly once stored."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)

    def add_event(self, event: dict[str, Any]) -> bool:
        """True if new, False for a repeat."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO events (id, site, gate, seq, time, type, severity, door, "
            "details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event["id"],
                event["site"],
                event["gate"],
                event["seq"],
                event["time"],
                event["type"],
                event["severity"],
                event.get("door"),
                json.dumps(event.get("details", {})),
            ),
        )
        return cur.rowcount == 1

    def events(self, site: str, gate: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT id, seq, type FROM events WHERE site = ? AND gate = ? ORDER BY seq",
            (site, gate),
        ).fetchall()
        return [{"id": r[0], "seq": r[1], "type": r[2]} for r in rows]

    def pushed(self, site: str, gate: str) -> tuple[int | None, dict[str, AllowListEntry]]:
        row = self._conn.execute(
            "SELECT version FROM pushed_version WHERE site = ? AND gate = ?", (site, gate)
        ).fetchone()
        entries = {
            cred: AllowListEntry.model_validate_json(text)
            for cred, text in self._conn.execute(
                "SELECT credential, entry FROM pushed WHERE site = ? AND gate = ?", (site, gate)
            )
        }
        return (row[0] if row else None), entries

    def record_push(
        self, site: str, gate: str, version: int, entries: list[AllowListEntry]
    ) -> None:
        with transaction(self._conn) as conn:
            conn.execute("DELETE FROM pushed WHERE site = ? AND gate = ?", (site, gate))
            conn.executemany(
                "INSERT INTO pushed VALUES (?, ?, ?, ?)",
                [(site, gate, e.credential, e.model_dump_json()) for e in entries],
            )
            conn.execute(
                "INSERT OR REPLACE INTO pushed_version VALUES (?, ?, ?)", (site, gate, version)
            )

    def close(self) -> None:
        self._conn.close()
