"""Opening SQLite the same way everywhere: WAL, a busy timeout, explicit transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

BUSY_S = 5.0


def connect(path: Path, synchronous: str = "normal") -> sqlite3.Connection:
    """A connection in autocommit mode; callers open transactions with BEGIN themselves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_S * 1000)}")
    _into_wal(conn)
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    return conn


def _into_wal(conn: sqlite3.Connection) -> None:
    """WAL mode, waiting as the busy timeout would: switching a file still in rollback mode
    (one another process is creating right now) fails at once while that process writes,
    because SQLite does not call the busy handler for it."""
    deadline = time.monotonic() + BUSY_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def transaction(
    conn: sqlite3.Connection, writer: threading.RLock | None = None
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception.

    ``writer``: the lock every writer of this file takes (``EventLog.writer``), held from
    BEGIN to COMMIT, so the others wait on it rather than in SQLite's busy handler.
    """
    with writer if writer is not None else contextlib.nullcontext():
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


@dataclass(frozen=True)
class Turns:
    """How another connection writes a file whose writers take turns (the event log's):
    under its writer ``lock``, telling it of each write (``wrote``: its WAL count)."""

    lock: threading.RLock | None = None
    wrote: Callable[[], None] = field(default=lambda: None)

    def connect(self, path: Path) -> sqlite3.Connection:
        conn = connect(path)
        # the file's owner folds the WAL: a checkpoint inside a commit here would hold
        # the writer lock, and a decision behind it, for the whole copy
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    @contextlib.contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        with transaction(conn, self.lock):
            yield conn
        self.wrote()
