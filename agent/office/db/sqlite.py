"""The office store in one SQLite file (WAL, ``synchronous=FULL``: a stored event survives a
power cut before the office's receipt lets the gate forget it)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import StorageError
from agent.office.db.base import SQLITE, EventRow, Row, Sql, iso_utc
from agent.office.db.store import SqlOfficeDb, utc_now
from agent.store.db import connect

_INSERT = (
    "INSERT INTO events (id, site, gate, seq, time, type, severity, door, details, received) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _one_line(where: Path, exc: BaseException) -> StorageError:
    return StorageError(f"{where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


class SqliteSql(Sql):
    """A ``Sql`` over one sqlite3 connection in autocommit mode (explicit transactions)."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if path.is_dir():
                raise StorageError(f"{path}: is a folder, not an office database file")
            self._conn = connect(path, synchronous="full")
            # 32 MiB of page cache instead of 2: the random-id unique index stays in memory
            # longer (+13% ingest at 200,000 events, measured with bench/office_ingest.py)
            self._conn.execute("PRAGMA cache_size = -32768")
        except sqlite3.Error as exc:
            raise _one_line(path, exc) from None
        except OSError as exc:
            raise StorageError(f"{path}: cannot create its folder: {exc.strerror}") from None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _one_line(self.path, exc) from None

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._errors():
            return self._conn.execute(sql, params).fetchall()

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._errors():
            self._conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")  # the write lock now: writers queue here
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        with self._errors():
            self._conn.execute("COMMIT")

    def lock_writers(self) -> None:
        """BEGIN IMMEDIATE already holds SQLite's one write lock."""

    def insert_events(self, rows: Sequence[EventRow], received: datetime) -> int:
        got = iso_utc(received)
        values = [
            (r.id, r.site, r.gate, r.seq, iso_utc(r.time), r.type, r.severity, r.door,
             r.details_json, got)
            for r in rows
        ]  # fmt: skip
        with self._errors():
            # sqlite3 sums the changes of every row: a skipped repeat changes nothing
            return int(self._conn.executemany(_INSERT, values).rowcount)

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.run("SELECT * FROM pragma_table_info(?)", (table,))]

    def time_in(self, value: datetime) -> str:
        return iso_utc(value)

    def json_in(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    def json_out(self, value: Any) -> Any:
        return None if value is None else json.loads(value)

    def close(self) -> None:
        self._conn.close()


class SqliteOfficeDb(SqlOfficeDb):
    """The office store in a SQLite file, created with its folder; a file from the first
    ``gate-office`` (schema version 0) is brought forward with its events."""

    def __init__(self, path: Path, now: Callable[[], datetime] = utc_now) -> None:
        super().__init__(SqliteSql(path), str(path), now)
