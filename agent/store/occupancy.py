"""Occupancy in ``events.db``: holders inside an area by kind, and guards' corrections.

On the event log's append connection, like the presence records it counts: a
correction is written in the commit of its ``occupancy_corrected`` event, so the two
are durable together. Counts are never stored; they are derived again from these
tables, so they survive a restart as they were.
"""

from __future__ import annotations

import sqlite3

from agent.errors import StorageFault

# a range of the (area, at_us) index: the rows of one area that have not expired
_SEEN = "SELECT kind, count(*) FROM presence WHERE area = ? AND at_us >= ? GROUP BY kind"
_SEEN_BETWEEN = (
    "SELECT kind, count(*) FROM presence WHERE area = ? AND at_us >= ? AND at_us < ? GROUP BY kind"
)
_CORRECTIONS = (
    "SELECT kind, sum(delta) FROM occupancy_corrections WHERE area = ? AND at_us >= ? GROUP BY kind"
)
_ADD = "INSERT INTO occupancy_corrections (area, kind, delta, at_us, seq) VALUES (?, ?, ?, ?, ?)"


class OccupancyStore:
    """Counts and corrections on one connection (the event log's append connection: the
    core loop's, so writes happen inside the journal's open group)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def seen(
        self, area: str, since_us: int, before_us: int | None = None
    ) -> list[tuple[str | None, int]]:
        """(kind, holders) last seen moving into ``area`` at or after ``since_us`` (and
        before ``before_us``)."""
        if before_us is None:
            return self._rows(_SEEN, (area, since_us))
        return self._rows(_SEEN_BETWEEN, (area, since_us, before_us))

    def corrections(self, area: str, since_us: int) -> list[tuple[str, int]]:
        """(kind, summed delta) of the corrections of ``area`` made at or after ``since_us``."""
        return [(str(k), int(n)) for k, n in self._rows(_CORRECTIONS, (area, since_us))]

    def add(self, area: str, kind: str, delta: int, at_us: int, seq: int) -> None:
        """Stage a correction (in the open group: durable with event ``seq``)."""
        try:
            self._conn.execute(_ADD, (area, kind, delta, at_us, seq))
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot write an occupancy correction: {exc}") from None

    def forget_before(self, before_us: int) -> int:
        """Retention: drop corrections older than ``before_us``; returns how many."""
        sql = "DELETE FROM occupancy_corrections WHERE at_us < ?"
        try:
            return self._conn.execute(sql, (before_us,)).rowcount
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot delete occupancy corrections: {exc}") from None

    def _rows(self, sql: str, args: tuple[str | int, ...]) -> list[tuple[str | None, int]]:
        try:
            return [(k, int(n)) for k, n in self._conn.execute(sql, args).fetchall()]
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot read occupancy: {exc}") from None
