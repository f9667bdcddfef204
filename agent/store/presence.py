"""Presence records in ``events.db``: each holder's last move, merged last-writer-wins.

Like the card counters, they live beside the event log on purpose: a gate's own move
is written on the log's append connection inside the transaction of the event that
made it, so the two are durable together with its one fsync. Moves relayed from other
gates go through the same connection (inside a group of their own) and win only with a
later stamp (``agent.core.presence.wins``), in SQL so that a relayed move and a local
one are compared by the same rule.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from agent.core.presence import Presence
from agent.errors import StorageFault

_COLUMNS = "holder, area, kind, at_us, gate, seq"
_GET = f"SELECT {_COLUMNS} FROM presence WHERE holder = ?"
# row values compare left to right: the stamp (at_us, gate, seq) decides
_PUT = (
    f"INSERT INTO presence ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (holder) DO UPDATE SET area = excluded.area, kind = excluded.kind, "
    "at_us = excluded.at_us, gate = excluded.gate, seq = excluded.seq "
    "WHERE (excluded.at_us, excluded.gate, excluded.seq) > "
    "(presence.at_us, presence.gate, presence.seq)"
)
_INSIDE = (
    f"SELECT {_COLUMNS} FROM presence WHERE area IS NOT NULL AND area != 'outside' "
    "AND at_us >= ? ORDER BY area, holder"
)

# the state table of events.db (schema step 1): one row, "<epoch> <revision>"
_REVISION = "SELECT value FROM state WHERE key = 'presence_revision'"
_SET_REVISION = "INSERT OR REPLACE INTO state (key, value) VALUES ('presence_revision', ?)"


def _record(row: tuple[str, str | None, str | None, int, str, int]) -> Presence:
    return Presence(row[0], row[1], row[2], int(row[3]), row[4], int(row[5]))


class PresenceStore:
    """Holders' last moves on one connection (the event log's append connection: call
    it inside the log's open group, where its lock is held)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, for stores that write in the same commits (occupancy)."""
        return self._conn

    def get(self, holder_id: str) -> Presence | None:
        """The holder's record as this transaction sees it (its own staged moves too)."""
        try:
            row = self._conn.execute(_GET, (holder_id,)).fetchone()
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot read presence: {exc}") from None
        return None if row is None else _record(row)

    def put(self, record: Presence) -> bool:
        """Stage ``record`` if it is newer than the holder's; True when it was."""
        values = (record.holder_id, record.area, record.kind, record.at_us, record.gate)
        try:
            cursor = self._conn.execute(_PUT, (*values, record.seq))
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot write presence: {exc}") from None
        return cursor.rowcount > 0

    def put_all(self, records: Iterable[Presence]) -> list[Presence]:
        """Stage each record that wins; returns those that did."""
        return [r for r in records if self.put(r)]

    def inside(self, since_us: int) -> list[Presence]:
        """Holders last seen inside any area, moved at or after ``since_us``."""
        try:
            rows = self._conn.execute(_INSIDE, (since_us,)).fetchall()
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot read presence: {exc}") from None
        return [_record(r) for r in rows]

    def all(self) -> list[Presence]:
        """Every record (for a comparison across gates and for tests), by holder."""
        try:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM presence ORDER BY holder")
            return [_record(r) for r in rows.fetchall()]
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot read presence: {exc}") from None

    def forget_before(self, before_us: int) -> int:
        """Retention: drop records of moves older than ``before_us``; returns how many."""
        return self._delete("DELETE FROM presence WHERE at_us < ?", (before_us,))

    def forget_holders(self, holder_ids: Iterable[str]) -> int:
        """Drop the records of holders who left the site (the office deleted them)."""
        ids = [(h,) for h in holder_ids]
        try:
            before = self._conn.total_changes
            self._conn.executemany("DELETE FROM presence WHERE holder = ?", ids)
            return self._conn.total_changes - before
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot delete presence: {exc}") from None

    def revision(self) -> tuple[str | None, int]:
        """The office relay's (epoch, revision) this gate has merged up to ((None, 0): none)."""
        try:
            row = self._conn.execute(_REVISION).fetchone()
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot read presence: {exc}") from None
        if row is None:
            return None, 0
        epoch, _, rev = str(row[0]).partition(" ")
        return epoch, int(rev or 0)

    def set_revision(self, epoch: str, revision: int) -> None:
        """Stage the relay revision merged (in the group that merged its moves)."""
        try:
            self._conn.execute(_SET_REVISION, (f"{epoch} {revision}",))
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot write presence: {exc}") from None

    def _delete(self, sql: str, args: tuple[int]) -> int:
        try:
            return self._conn.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise StorageFault(f"cannot delete presence: {exc}") from None
