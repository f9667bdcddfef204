"""Opening a SQLite file another process is creating at that moment (two `gate-office
events tail` started together): the second waits for WAL mode instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from agent.store.db import connect


def test_a_file_being_written_in_rollback_mode_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")  # a new file, still in rollback mode
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    done = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    done.start()
    started = time.monotonic()
    try:
        conn = connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert time.monotonic() - started >= 0.2  # it waited for the writer
        conn.close()
    finally:
        done.join()
        other.close()
