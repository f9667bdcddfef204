"""One allow-list in a file of its own, built apart at full speed and then switched in.

A new list (an import, an office snapshot, a list carried over from an older layout)
is written into a fresh file named for its generation, ``allowlist.<gen>.db``, beside
the catalog ``allowlist.db`` that names the live one. Nobody reads the file while it
is built, so SQLite keeps its journal in memory and never syncs, rows go into a plain
table in arrival order, and the unique index on the credential is made once at the
end (SQLite sorts in bounded memory). The file then gets one fsync and becomes WAL,
ready for in-place patches next to readers.

Locks (``flock``): a builder holds its file exclusively and a reader holds the list
it has attached shared, so a cleanup never removes a list another process is still
building or reading; every other file of that name pattern that the catalog does not
name is stale (a build cut short, a list replaced) and may go. Freeing a large file's
blocks at once holds up the event log's fsync for tens of milliseconds, so whoever
lets go of a replaced list last shrinks it a few megabytes at a time (``let_go``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
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
_NAME = re.compile(r"^allowlist\.(\d+)\.db(-wal|-shm|-journal)?$")
SIDE_FILES = ("-wal", "-shm", "-journal")
BUILD_CACHE_KB = 2 * 1024  # the table's pages and the sorter's runs: what a build holds
# A disk flush waits for every write before it, so a burst of written-back list pages
# holds up the event log's fsync (a decision) for as long as the burst takes: the
# build writes back a little at a time, as rows arrive and while the index is made.
SYNC_EVERY_BYTES = 4 << 20
WRITE_BACK_S = 0.02
FREE_STEP_BYTES = 8 << 20  # a replaced list is freed this much at a time ...
FREE_PAUSE_S = 0.001  # ... with the disk left to others in between


class DuplicateRows(ImportRejected):
    """The new list holds a credential twice."""


def list_path(folder: Path, gen: int) -> Path:
    return folder / f"allowlist.{gen:06d}.db"


def generations(folder: Path) -> dict[int, list[Path]]:
    """Every list file (and its side files) in ``folder``, by generation."""
    found: dict[int, list[Path]] = {}
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return found
    for name in names:
        match = _NAME.match(name)
        if match:
            found.setdefault(int(match.group(1)), []).append(folder / name)
    return found


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


class ListBuilder:
    """A new list being written into its own file; not read by anyone until switched in.

    Rows arrive as tuples in ``COLUMNS`` order plus the row's place (``line``).
    ``finish`` indexes and syncs the file; ``discard`` removes it (a no-op once the
    catalog names it: ``adopted``).
    """

    def __init__(self, path: Path, cache_kb: int = BUILD_CACHE_KB) -> None:
        self.path = path
        self.size = 0
        self.adopted = False
        # created here, so no other builder can have the name; the flock says "in use"
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        folder = os.stat(path.parent)
        if os.geteuid() == 0 and (folder.st_uid, folder.st_gid) != (0, 0):
            os.fchown(self._fd, folder.st_uid, folder.st_gid)  # an import run as root
        self._synced_at = 0
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = conn = open_uri(path, "rwc")
            # the journal only ever holds the few pages that existed before a statement
            # (new pages are not journaled), so a failed unique index rolls back cleanly
            conn.execute("PRAGMA journal_mode=MEMORY")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"PRAGMA cache_size=-{int(cache_kb)}")
            conn.execute("PRAGMA temp_store=FILE")
            conn.execute(_TABLE)
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        except BaseException:
            self.discard()
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
        """Index, record version and size, make the file WAL and durable; returns the size.

        ``DuplicateRows`` if a credential is there twice (the rows stay, for ``duplicates``).
        """
        conn = self.conn
        try:
            with self._paced_write_back():
                conn.execute(_INDEX)
        except sqlite3.IntegrityError:
            raise DuplicateRows("a credential appears twice in the new list") from None
        meta = [("size", str(self.size))]
        if version is not None:
            meta.append(("version", str(version)))
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
        self._conn = None
        os.fsync(self._fd)
        fsync_dir(self.path.parent)
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

    def release(self) -> None:
        """The catalog names the file now: give up the flock, keep the file."""
        self.adopted = True
        self._close_fd()

    def discard(self) -> None:
        """Remove the file (unless the catalog took it)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if not self.adopted:
            for suffix in ("", *SIDE_FILES):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
