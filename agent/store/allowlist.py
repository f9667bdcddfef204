"""The local allow-list: its own SQLite file, read in the hot path, swapped atomically.

It lives apart from the event log so a long snapshot transaction never holds the
lock the decision path needs to write its event. Readers use WAL snapshots, so a
decision sees the old list until the new one commits, then the new one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.decision import AllowEntry
from agent.core.kinds import HolderKind
from agent.errors import ImportRejected
from agent.models.wire import AllowListEntry, bounds_utc
from agent.store.db import connect, transaction
from agent.store.schema import upgrade

COLUMNS = (
    "credential",
    "holder_id",
    "kind",
    "unit",
    "doors",
    "valid_from",
    "valid_until",
    "schedule",
    "suspended",
    "lockdown_override",
    "masked",
)
_INSERT = (
    f"INSERT OR REPLACE INTO allowlist ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_STAGE = (
    f"INSERT INTO staging (snapshot_id, {', '.join(COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in COLUMNS)})"
)
_LOOKUP = f"SELECT {', '.join(COLUMNS)} FROM allowlist WHERE credential = ?"


class PatchBaseMismatch(ImportRejected):
    """A patch was built against another version than the gate holds."""

    def __init__(self, have: int | None, want: int) -> None:
        super().__init__(f"patch is for version {want}, the gate has {have}")
        self.have = have
        self.want = want


_ENTRY = """holder_id TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT, doors TEXT,
    valid_from TEXT, valid_until TEXT, schedule TEXT, suspended INTEGER,
    lockdown_override INTEGER, masked TEXT"""
# each step takes the file one schema version further (agent/store/schema.py)
STEPS: tuple[tuple[str, ...], ...] = (
    (  # 1: the layout of the first release (files from before versions were recorded)
        f"CREATE TABLE IF NOT EXISTS allowlist (credential TEXT PRIMARY KEY, {_ENTRY})",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
        # a snapshot arriving in chunks is staged here until every chunk is in
        "CREATE TABLE IF NOT EXISTS staging ("
        f"snapshot_id TEXT NOT NULL, credential TEXT PRIMARY KEY, {_ENTRY})",
        "CREATE TABLE IF NOT EXISTS staging_chunks (snapshot_id TEXT, chunk INTEGER, "
        "chunks INTEGER, version INTEGER, PRIMARY KEY (snapshot_id, chunk))",
    ),
)


def to_row(entry: AllowListEntry, zone: ZoneInfo) -> tuple[Any, ...]:
    start, stop = bounds_utc(entry, zone)
    return (
        entry.credential,
        entry.holder_id,
        entry.kind.value,
        entry.unit,
        ";".join(entry.doors) if entry.doors is not None else None,
        start.isoformat() if start else None,
        stop.isoformat() if stop else None,
        entry.schedule,
        int(entry.suspended),
        int(entry.lockdown_override),
        entry.masked,
    )


def _to_entry(row: Sequence[Any]) -> AllowEntry:
    return AllowEntry(
        credential=row[0],
        holder_id=row[1],
        kind=HolderKind(row[2]),
        unit=row[3],
        doors=frozenset(row[4].split(";")) if row[4] is not None else None,
        valid_from=datetime.fromisoformat(row[5]) if row[5] else None,
        valid_until=datetime.fromisoformat(row[6]) if row[6] else None,
        schedule=row[7],
        suspended=bool(row[8]),
        lockdown_override=bool(row[9]),
        masked=row[10] or "",
    )


class AllowListStore:
    """Lookups on one connection, changes on another; both thread-safe."""

    def __init__(self, path: Path, zone: ZoneInfo) -> None:
        self.path = path
        self.zone = zone
        self._write = connect(path)
        try:
            upgrade(self._write, "allowlist", STEPS)
        except BaseException:
            self._write.close()
            raise
        # checkpoints run from housekeeping, not inside a long snapshot's commits
        self._write.execute("PRAGMA wal_autocheckpoint=0")
        self._read = connect(path)
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def close(self) -> None:
        self._read.close()
        self._write.close()

    def checkpoint(self) -> None:
        with self._write_lock:
            self._write.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def lookup(self, credential: str) -> AllowEntry | None:
        with self._read_lock:
            row = self._read.execute(_LOOKUP, (credential,)).fetchone()
        return _to_entry(row) if row else None

    def version(self) -> int | None:
        with self._read_lock:
            row = self._read.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0]) if row else None

    def count(self) -> int:
        """The list's size as its last writer recorded it: one row, not a table scan."""
        with self._read_lock:
            row = self._read.execute("SELECT value FROM meta WHERE key='size'").fetchone()
        return int(row[0]) if row else 0

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._read_lock:
            cur = self._read.execute(
                f"SELECT {', '.join(COLUMNS)} FROM allowlist ORDER BY holder_id, credential "
                "LIMIT ?",
                (-1 if limit is None else limit,),
            )
            return [dict(zip(COLUMNS, row, strict=True)) for row in cur]

    def replace(self, entries: Iterable[AllowListEntry], version: int) -> int:
        """Swap in a whole new list in one transaction; returns its size.

        Rows stream from ``entries`` into SQLite, so a large list is never held twice.
        """
        with self._write_lock, transaction(self._write) as conn:
            conn.execute("DELETE FROM allowlist")
            conn.executemany(_INSERT, (to_row(e, self.zone) for e in entries))
            return _set_version(conn, version)

    def patch(
        self,
        base: int,
        version: int,
        upserts: Iterable[AllowListEntry],
        removals: Iterable[str],
    ) -> None:
        """Apply changes made against ``base``; refuses if the gate holds another version."""
        rows = [to_row(e, self.zone) for e in upserts]
        with self._write_lock, transaction(self._write) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='version'").fetchone()
            have = int(row[0]) if row else None
            if have != base:
                raise PatchBaseMismatch(have, base)
            conn.executemany("DELETE FROM allowlist WHERE credential = ?", [(c,) for c in removals])
            conn.executemany(_INSERT, rows)
            _set_version(conn, version)

    def stage(
        self,
        snapshot_id: str,
        version: int,
        chunk: int,
        chunks: int,
        entries: Iterable[AllowListEntry],
    ) -> bool:
        """Stage one chunk (a repeat is ignored); True when every chunk is staged.

        A chunk of another snapshot discards whatever was staged before: the newest
        snapshot wins. A credential listed twice fails the whole snapshot.
        """
        with self._write_lock, transaction(self._write) as conn:
            _refuse_old(conn, version)
            conn.execute("DELETE FROM staging WHERE snapshot_id != ?", (snapshot_id,))
            conn.execute("DELETE FROM staging_chunks WHERE snapshot_id != ?", (snapshot_id,))
            plan = conn.execute(
                "SELECT DISTINCT chunks, version FROM staging_chunks WHERE snapshot_id = ?",
                (snapshot_id,),
            ).fetchall()
            if plan and plan != [(chunks, version)]:
                raise ImportRejected("chunks or version differ within one snapshot")
            seen = conn.execute(
                "SELECT 1 FROM staging_chunks WHERE snapshot_id = ? AND chunk = ?",
                (snapshot_id, chunk),
            ).fetchone()
            if not seen:
                try:
                    conn.executemany(
                        _STAGE, ((snapshot_id, *to_row(e, self.zone)) for e in entries)
                    )
                except sqlite3.IntegrityError:
                    raise ImportRejected("a credential appears twice in the snapshot") from None
                conn.execute(
                    "INSERT INTO staging_chunks VALUES (?, ?, ?, ?)",
                    (snapshot_id, chunk, chunks, version),
                )
            have = conn.execute(
                "SELECT count(*) FROM staging_chunks WHERE snapshot_id = ?", (snapshot_id,)
            ).fetchone()[0]
        return int(have) == chunks

    def commit_staged(self, snapshot_id: str, version: int) -> int:
        """Swap the staged snapshot in, in one transaction; returns the new size."""
        cols = ", ".join(COLUMNS)
        with self._write_lock, transaction(self._write) as conn:
            _refuse_old(conn, version)
            conn.execute("DELETE FROM allowlist")
            conn.execute(
                f"INSERT INTO allowlist ({cols}) SELECT {cols} FROM staging WHERE snapshot_id = ?",
                (snapshot_id,),
            )
            conn.execute("DELETE FROM staging")
            conn.execute("DELETE FROM staging_chunks")
            return _set_version(conn, version)

    def discard_staged(self) -> None:
        with self._write_lock, transaction(self._write) as conn:
            conn.execute("DELETE FROM staging")
            conn.execute("DELETE FROM staging_chunks")


def _refuse_old(conn: sqlite3.Connection, version: int) -> None:
    """A snapshot must be newer than the list held: an old signed one cannot roll back."""
    row = conn.execute("SELECT value FROM meta WHERE key='version'").fetchone()
    if row is not None and version <= int(row[0]):
        raise ImportRejected(f"snapshot version {version} is not newer than {row[0]}")


def _set_version(conn: sqlite3.Connection, version: int) -> int:
    """Record version and size in the writer's transaction; returns the size."""
    size = int(conn.execute("SELECT count(*) FROM allowlist").fetchone()[0])
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [("version", str(version)), ("size", str(size))],
    )
    return size
