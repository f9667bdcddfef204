"""The rows of a new list file: its table, its writes, its index, at full speed.

Nobody reads the file while it is built, so SQLite keeps its journal in memory and
never syncs, rows go into a plain table in arrival order, and the unique index on the
credential is made once at the end (SQLite sorts in bounded memory). The file then gets
one fsync and becomes WAL, ready for in-place patches next to readers.

A ``ListWriter`` is only the writing: the file itself (its name, its flock, its
removal) belongs to ``listfile.ListBuilder``, whose process may hand the writing to
another (the list worker, for an office snapshot).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from agent.errors import ImportRejected

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
    "credential_policy",  # NULL: plain (files from before secure cards lack the column)
    "pin_hash",  # NULL: no PIN set (and files from before card plus PIN)
)
# the layout of the first release's table (the catalog's schema steps keep it)
ENTRY_COLUMNS = """holder_id TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT, doors TEXT,
    valid_from TEXT, valid_until TEXT, schedule TEXT, suspended INTEGER,
    lockdown_override INTEGER, masked TEXT"""
# since: added to older files on opening
ADDED_COLUMNS = {"credential_policy": "TEXT", "pin_hash": "TEXT"}
# ``line``: where the row came from (a file's line, a snapshot's chunk and place), so a
# duplicate can be reported with both of its places
_TABLE = (
    f"CREATE TABLE allowlist (credential TEXT NOT NULL, {ENTRY_COLUMNS}, "
    "credential_policy TEXT, pin_hash TEXT, line INTEGER)"
)
_INDEX = "CREATE UNIQUE INDEX allowlist_credential ON allowlist (credential)"
_ADD = (
    f"INSERT INTO allowlist ({', '.join(COLUMNS)}, line) "
    f"VALUES ({', '.join('?' for _ in range(len(COLUMNS) + 1))})"
)
BUILD_CACHE_KB = 2 * 1024  # the table's pages and the sorter's runs: what a build holds
# A disk flush waits for every write before it, so a burst of written-back list pages
# holds up the event log's fsync (a decision) for as long as the burst takes: the
# build writes back a little at a time, as rows arrive and while the index is made.
SYNC_EVERY_BYTES = 128 << 10
WRITE_BACK_S = 0.02


class DuplicateRows(ImportRejected):
    """The new list holds a credential twice (``places``: the first repeat's place and
    its first occurrence's)."""

    def __init__(self, message: str, places: tuple[int, int]) -> None:
        super().__init__(message)
        self.places = places


def uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path``: ``ro``, ``rw`` (never creates) or ``rwc``."""
    return f"{path.resolve().as_uri()}?mode={mode}"


def open_uri(path: Path, mode: str) -> sqlite3.Connection:
    """A connection in autocommit mode that may ATTACH files by URI."""
    return sqlite3.connect(uri(path, mode), uri=True, isolation_level=None, check_same_thread=False)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ListWriter:
    """One connection writing a new list file: ``create`` makes its tables in the empty
    file, else they are there already (made by the process that handed the file over)."""

    def __init__(self, path: Path, cache_kb: int = BUILD_CACHE_KB, create: bool = False) -> None:
        self.size = 0
        self._fd = os.open(path, os.O_RDWR)  # for write-back and the final fsync
        self._synced_at = 0
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = conn = open_uri(path, "rw")
            # the journal only ever holds the few pages that existed before a statement
            # (new pages are not journaled), so a failed unique index rolls back cleanly
            conn.execute("PRAGMA journal_mode=MEMORY")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"PRAGMA cache_size=-{int(cache_kb)}")
            conn.execute("PRAGMA temp_store=FILE")
            if create:
                conn.execute(_TABLE)
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        except BaseException:
            self.close()
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ImportRejected("the new list was already finished or discarded")
        return self._conn

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows (each ``COLUMNS`` plus its place) in one transaction."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            before = conn.total_changes
            conn.executemany(_ADD, rows)
            self.size += conn.total_changes - before
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._write_back()

    def copy_from(self, source: Path) -> int | None:
        """Take every row of the ``allowlist`` table in another file (an older layout);
        returns the version that file recorded."""
        conn = self.conn
        conn.execute("ATTACH ? AS old", (uri(source, "ro"),))
        try:
            cols = ", ".join(COLUMNS)
            have = {r[1] for r in conn.execute("PRAGMA old.table_info(allowlist)")}
            picks = ", ".join(c if c in have else "NULL" for c in COLUMNS)
            before = conn.total_changes
            conn.execute(
                f"INSERT INTO allowlist ({cols}, line) SELECT {picks}, rowid FROM old.allowlist"
            )
            self.size += conn.total_changes - before
            row = conn.execute("SELECT value FROM old.meta WHERE key = 'version'").fetchone()
        finally:
            conn.execute("DETACH old")
        return int(row[0]) if row else None

    @contextlib.contextmanager
    def _paced_write_back(self) -> Iterator[None]:
        """Write the file back every ``WRITE_BACK_S`` while one long statement runs."""
        stop = threading.Event()

        def flush() -> None:
            # a failing flush stops here; the final fsync in ``finish`` reports it
            with contextlib.suppress(OSError):
                while not stop.wait(WRITE_BACK_S):
                    os.fdatasync(self._fd)

        flusher = threading.Thread(target=flush, name="allowlist-write-back", daemon=True)
        flusher.start()
        try:
            yield
        finally:
            stop.set()
            flusher.join()

    def _write_back(self) -> None:
        """Flush what the build wrote so far once it passes ``SYNC_EVERY_BYTES``: one
        long flush at the end would hold up the event log's fsync behind it."""
        end = os.fstat(self._fd).st_size
        if end - self._synced_at >= SYNC_EVERY_BYTES:
            os.fdatasync(self._fd)
            self._synced_at = end

    def finish(self, version: int | None) -> int:
        """Index, record version and size, make the file WAL and sync it; returns the
        size and closes. ``DuplicateRows`` if a credential is there twice (the writer
        stays open, for ``duplicates``)."""
        conn = self.conn
        try:
            with self._paced_write_back():
                conn.execute(_INDEX)
        except sqlite3.IntegrityError:
            (places,), _ = self.duplicates(1)
            raise DuplicateRows("a credential appears twice in the new list", places) from None
        meta = [("size", str(self.size))]
        if version is not None:
            meta.append(("version", str(version)))
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
        self._conn = None
        os.fsync(self._fd)
        self.close()
        return self.size

    def duplicates(self, limit: int) -> tuple[list[tuple[int, int]], int]:
        """(place, place of its first occurrence) for the first ``limit`` repeated
        credentials in place order, and how many repeats there are in all."""
        conn = self.conn
        total = conn.execute(
            "SELECT count(*) - count(DISTINCT credential) FROM allowlist"
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT line, first FROM (SELECT line, min(line) OVER (PARTITION BY credential) "
            "AS first FROM allowlist) WHERE line > first ORDER BY line LIMIT ?",
            (limit,),
        ).fetchall()
        return [(int(a), int(b)) for a, b in rows], int(total)

    def close(self) -> None:
        """Let go of the file without finishing it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
