"""``allowlist.db``: the small catalog that names the live allow-list file.

The catalog's write lock (``BEGIN IMMEDIATE``) is the one lock, across processes,
under which a list is switched, patched or cleaned away, so the file it names is the
live one for certain. A reader (``catalog_reader.py``) has the catalog open with the
live list attached; every lookup reads the pointer in the same statement, so a switch
made by this process or another (``gate-agent allowlist import`` next to a running
agent) is seen by the next card.

Files of the first release kept the list in the catalog itself: opening one moves
its rows into a list file of their own (``adopt``), as does opening a restored backup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.errors import StorageError
from agent.store.db import connect, transaction
from agent.store.list_writer import ADDED_COLUMNS, ENTRY_COLUMNS, open_uri
from agent.store.listfile import ListBuilder, generations, list_path
from agent.store.listgc import remove_stale
from agent.store.schema import upgrade

RESTORED = "restored"  # meta key: the list came from a backup; a newer one clears it
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

    def _add_columns(self, live: str) -> None:
        """Give a list file of an older release the columns added since (no rewrite:
        SQLite's ADD COLUMN only changes the schema; old rows read NULL)."""
        conn = self.live(live)
        have = {row[1] for row in conn.execute("PRAGMA table_info(allowlist)")}
        for name, kind in ADDED_COLUMNS.items():
            if name not in have:
                conn.execute(f"ALTER TABLE allowlist ADD COLUMN {name} {kind}")

    def _adopt(self) -> None:
        """Give the catalog a live list: the rows of an older layout's table (a file
        from before list files, or a restored backup), or an empty list."""
        with self.locked() as live:
            if live is not None and (self.folder / live).exists():
                self._add_columns(live)
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
