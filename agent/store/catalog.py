"""``allowlist.db``: the small catalog that names the live allow-list file.

The catalog's write lock (``BEGIN IMMEDIATE``) is the one lock, across processes,
under which a list is switched, patched or cleaned away, so the file it names is the
live one for certain. A reader has the catalog open with the live list attached;
every lookup reads the pointer in the same statement, so a switch made by this
process or another (``gate-agent allowlist import`` next to a running agent) is
seen by the next card.

Files of the first release kept the list in the catalog itself: opening one moves
its rows into a list file of their own (``adopt``), as does opening a restored backup.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.errors import StorageError
from agent.store.db import connect, transaction
from agent.store.listfile import (
    COLUMNS,
    ENTRY_COLUMNS,
    ListBuilder,
    generations,
    list_path,
    open_uri,
    uri,
)
from agent.store.listgc import let_go, remove_stale
from agent.store.schema import upgrade

_ATTACH_TRIES = 50
RESTORED = "restored"  # meta key: the list came from a backup; a newer one clears it
# the pointer, the restore mark and the row in one statement: a switch, or the office's
# list replacing a restored one, is noticed by the lookup itself
_LOOKUP = (
    f"SELECT m.value, (SELECT value FROM main.meta WHERE key = '{RESTORED}'), "
    f"{', '.join('a.' + c for c in COLUMNS)} FROM main.meta AS m "
    "LEFT JOIN cur.allowlist AS a ON a.credential = ? WHERE m.key = 'list'"
)

# each step takes the catalog one schema version further (agent/store/schema.py)
STEPS: tuple[tuple[str, ...], ...] = (
    (  # 1: the layout of the first release (files from before versions were recorded)
        f"CREATE TABLE IF NOT EXISTS allowlist (credential TEXT PRIMARY KEY, {ENTRY_COLUMNS})",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
        # a snapshot arriving in chunks is staged here until every chunk is in
        "CREATE TABLE IF NOT EXISTS staging ("
        f"snapshot_id TEXT NOT NULL, credential TEXT PRIMARY KEY, {ENTRY_COLUMNS})",
        "CREATE TABLE IF NOT EXISTS staging_chunks (snapshot_id TEXT, chunk INTEGER, "
        "chunks INTEGER, version INTEGER, PRIMARY KEY (snapshot_id, chunk))",
    ),
    (  # 2: a catalog; lists and staged snapshots live in files of their own. The old
        # table's rows move into the first list file when the store opens (adopt).
        "DROP TABLE IF EXISTS staging",
        "DROP TABLE IF EXISTS staging_chunks",
    ),
)


def live_list(catalog: Path) -> Path | None:
    """The list file the catalog at ``catalog`` names (None: none, or an older layout)."""
    try:
        conn = open_uri(catalog, "ro")
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'list'").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return catalog.parent / str(row[0]) if row else None


def meta_int(conn: sqlite3.Connection, key: str, schema: str = "main") -> int | None:
    row = conn.execute(f"SELECT value FROM {schema}.meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else None


class CatalogReader:
    """The decision path's connection: the catalog, with the live list attached as ``cur``.

    ``cache_kb`` and ``mmap_bytes`` bound what it keeps of the list in memory. The
    reader also holds a descriptor of the attached file with a shared ``flock`` (no
    cleanup removes a list being read). When a switch replaces the file, closing the
    last descriptor would free its blocks, tens of milliseconds for a million entries:
    the descriptor keeps the file alive past ``DETACH``, and ``release`` (the writer's
    or the housekeeping thread, never a lookup) lets go of it (``listfile.let_go``).
    """

    def __init__(self, catalog: Path, cache_kb: int, mmap_bytes: int) -> None:
        self._folder = catalog.parent
        self._tuning = (
            f"PRAGMA cur.cache_size=-{int(cache_kb)}",
            f"PRAGMA cur.mmap_size={int(mmap_bytes)}",
        )
        self.conn = open_uri(catalog, "rw")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.execute("PRAGMA main.cache_size=-64")  # the catalog is a few pages
        self.attached: str | None = None
        self.restored: str | None = None  # the restore mark as the last lookup saw it
        self.lock = threading.Lock()
        self._held = -1
        self._retired: list[tuple[int, Path]] = []
        self.follow()

    def follow(self) -> None:
        """Attach the list the catalog names now, if it is not the one attached."""
        for _ in range(_ATTACH_TRIES):
            row = self.conn.execute("SELECT value FROM main.meta WHERE key = 'list'").fetchone()
            name = str(row[0]) if row else None
            if name == self.attached:
                return
            if self.attached is not None:
                self.conn.execute("DETACH cur")
                fcntl.flock(self._held, fcntl.LOCK_UN)
                self._retired.append((self._held, self._folder / self.attached))
                self.attached, self._held = None, -1
            if name is None:
                raise StorageError("the allow-list catalog names no list")
            held = self._hold(name)
            if held < 0:
                continue  # switched again meanwhile: read the pointer again
            try:
                self.conn.execute("ATTACH ? AS cur", (uri(self._folder / name, "rw"),))
            except sqlite3.OperationalError:
                os.close(held)
                continue
            self._held = held
            for pragma in self._tuning:
                self.conn.execute(pragma)
            self.attached = name
        raise StorageError("the live allow-list file cannot be opened")

    def _hold(self, name: str) -> int:
        """A descriptor of list ``name`` with a shared flock, if the catalog still names
        it once the lock is taken (else a switch and a cleanup may be under way): -1."""
        try:
            fd = os.open(self._folder / name, os.O_RDWR)
        except FileNotFoundError:
            return -1
        try:  # held exclusively: being built, or let go of after a switch
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return -1
        row = self.conn.execute("SELECT value FROM main.meta WHERE key = 'list'").fetchone()
        if row is None or str(row[0]) != name:
            os.close(fd)
            return -1
        return fd

    def lookup(self, credential: str) -> tuple[Any, ...] | None:
        """The live list's row for ``credential`` (``COLUMNS`` order), or None."""
        for _ in range(_ATTACH_TRIES):
            row = self.conn.execute(_LOOKUP, (credential,)).fetchone()
            if row is not None and row[0] == self.attached:
                self.restored = row[1]
                return tuple(row[2:]) if row[2] is not None else None
            self.follow()
        raise StorageError("the allow-list keeps switching under a lookup")

    def meta(self, key: str) -> int | None:
        self.follow()
        return meta_int(self.conn, key, "cur")

    def restore_mark(self) -> str | None:
        """The catalog's restore mark (JSON: the backup's time and list version), if any."""
        row = self.conn.execute("SELECT value FROM main.meta WHERE key = ?", (RESTORED,))
        found = row.fetchone()
        self.restored = str(found[0]) if found else None
        return self.restored

    def release(self) -> None:
        """Let go of lists the reader has moved away from (call without ``lock``)."""
        with self.lock:
            retired, self._retired = self._retired, []
        for fd, path in retired:
            let_go(fd, path)

    def close(self) -> None:
        self.conn.close()
        if self._held >= 0:
            os.close(self._held)  # the live list: only the descriptor goes
            self._held = -1
        self.release()

    def __del__(self) -> None:
        # a store dropped without close (a short CLI command) must not keep descriptors:
        # many in one process push paho's sockets past select()'s limit of 1023
        fds = [self._held] if getattr(self, "_held", -1) >= 0 else []
        fds += [fd for fd, _ in getattr(self, "_retired", [])]
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


class Catalog:
    """The writer's side of the catalog: the lock, new list files, the switch, and a
    connection to the live list for patches. Callers serialize their calls."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent
        self.conn = connect(path, synchronous="full")  # a switch is durable at once
        self._live: tuple[str, sqlite3.Connection] | None = None
        try:
            upgrade(self.conn, "allowlist", STEPS)
            self._adopt()
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        if self._live is not None:
            self._live[1].close()
            self._live = None
        self.conn.close()

    @contextmanager
    def locked(self) -> Iterator[str | None]:
        """The catalog's write lock: the live list cannot change meanwhile. Yields the
        live list's file name."""
        with transaction(self.conn) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'list'").fetchone()
            yield str(row[0]) if row else None

    def new_list(self) -> ListBuilder:
        """A new, empty list file, named and created under the lock (no two match,
        and a cleanup sees its flock from the start)."""
        with self.locked():
            stored = meta_int(self.conn, "next_gen") or 0
            gen = max(stored, *generations(self.folder), 0) + 1
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_gen', ?)", (str(gen),)
            )
            return ListBuilder(list_path(self.folder, gen))

    def point(self, build: ListBuilder) -> None:
        """Make the finished, released ``build`` the live list (call under ``locked``:
        no cleanup runs between its builder's flock going and the pointer naming it)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('list', ?)", (build.path.name,)
        )

    def clear_restored(self) -> bool:
        """Drop the restore mark (call under ``locked``); True if there was one."""
        gone = self.conn.execute("DELETE FROM meta WHERE key = ?", (RESTORED,)).rowcount
        return bool(gone)

    def tidy(self) -> None:
        """Remove list files nobody uses any more (a replaced list, a dead build)."""
        with self.locked() as live:
            if self._live is not None and self._live[0] != live:
                self._live[1].close()  # a patch connection to the replaced list
                self._live = None
            remove_stale(self.folder, keep=live)

    def live(self, name: str | None) -> sqlite3.Connection:
        """A writing connection to the live list ``name`` (reopened after a switch)."""
        if name is None:
            raise StorageError("the allow-list catalog names no list")
        if self._live is None or self._live[0] != name:
            if self._live is not None:
                self._live[1].close()
            conn = open_uri(self.folder / name, "rw")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-1024")
            self._live = (name, conn)
        return self._live[1]

    def checkpoint(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        if self._live is not None:
            self._live[1].execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _adopt(self) -> None:
        """Give the catalog a live list: the rows of an older layout's table (a file
        from before list files, or a restored backup), or an empty list."""
        with self.locked() as live:
            if live is not None and (self.folder / live).exists():
                remove_stale(self.folder, keep=live)
                return
            remove_stale(self.folder, keep=None)
            legacy = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'allowlist'"
            ).fetchone()
        build = self.new_list()
        try:
            version = build.copy_from(self.path) if legacy else None
            build.finish(version)
            with self.locked() as live:
                if live is not None and (self.folder / live).exists():
                    return  # another process got there first
                build.release()
                self.point(build)
                self.conn.execute("DROP TABLE IF EXISTS allowlist")
                self.conn.execute("DELETE FROM meta WHERE key IN ('version', 'size')")
        finally:
            build.discard()
        if (self.conn.execute("PRAGMA freelist_count").fetchone()[0] or 0) > 64:
            self.conn.execute("VACUUM")  # the old rows' pages: give the space back
