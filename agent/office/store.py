"""The office's store as the first ``gate-office`` commands use it: events received (each
once) and what each gate was sent. A thin face over ``agent.office.db`` (SQLite or
PostgreSQL); new code uses ``open_store`` and the ``OfficeDb`` interface directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.models.wire import AllowListEntry
from agent.office.db import OfficeDb, open_store


class OfficeStore:
    """Duplicates are dropped by event id: at-least-once in, exactly once stored."""

    def __init__(self, path: str | Path) -> None:
        self.db: OfficeDb = open_store(path)

    def add_event(self, event: dict[str, Any]) -> bool:
        """True if new, False for a repeat."""
        return self.db.add_events([event]) == 1

    def events(self, site: str, gate: str) -> list[dict[str, Any]]:
        """Every stored event of the gate as id, seq and type, in seq order."""
        rows = self.db.query_events(site=site, gate=gate, limit=None)
        rows.sort(key=lambda e: (e["seq"], e["serial"]))
        return [{"id": e["id"], "seq": e["seq"], "type": e["type"]} for e in rows]

    def pushed(self, site: str, gate: str) -> tuple[int | None, dict[str, AllowListEntry]]:
        return self.db.pushed(site, gate)

    def record_push(
        self, site: str, gate: str, version: int, entries: list[AllowListEntry]
    ) -> None:
        self.db.record_push(site, gate, version, entries)

    def close(self) -> None:
        self.db.close()
