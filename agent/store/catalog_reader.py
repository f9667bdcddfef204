"""The decision path's side of ``allowlist.db``: the catalog with the live list attached.

Every lookup reads the catalog's pointer in the same statement as the row, so a switch
made by this process or another is seen by the next card (``catalog.py`` has the
writer's side).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from agent.errors import StorageError
from agent.store.catalog import RESTORED, meta_int
from agent.store.list_writer import COLUMNS, open_uri, uri
from agent.store.listgc import let_go

_ATTACH_TRIES = 50
# the pointer, the restore mark and the row in one statement: a switch, or the office's
# list replacing a restored one, is noticed by the lookup itself
_LOOKUP = (
    f"SELECT m.value, (SELECT value FROM main.meta WHERE key = '{RESTORED}'), "
    f"{', '.join('a.' + c for c in COLUMNS)} FROM main.meta AS m "
    "LEFT JOIN cur.allowlist AS a ON a.credential = ? WHERE m.key = 'list'"
)


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
