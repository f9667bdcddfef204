"""Salvaging the event table of a damaged ``events.db``: every row still readable, and
how many are lost.

Two passes. SQLite first, in seq order, as far as it gets (it also sees a WAL that was
set aside with the file). Then the file's pages are read directly (``pages.py``), which
finds the rows past a damaged or missing page that SQLite cannot reach: after a cut
that removed only the last page, SQLite's own reads stop at the first missing interior
page and find nothing. A row from the pages is kept only if it has the event table's
shape (an id, an ISO time, a known type, JSON details); rows already saved by SQLite
are not replaced. What is lost is counted from gaps in seq: every seq between the
oldest row saved and the newest seq the old file had handed out that was not saved.

A file cut mid-page is given to SQLite only up to its last whole page
(``whole_pages``): SQLite reads a torn last page as if the missing bytes were zeros,
and would hand back a row with a value that was never written (a ``sent`` of 2 read
as 0 when the cut took the row's last byte).
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from agent.core.kinds import EventType
from agent.store.pages import PageFile, Value

log = logging.getLogger(__name__)

_BATCH = 500
COLUMNS = ("seq", "id", "time", "type", "door", "details", "sent")
_TYPES = frozenset(t.value for t in EventType)


@dataclass(frozen=True)
class Salvaged:
    """Rows saved, and seqs known to be lost."""

    saved: int
    lost: int


def salvage_events(src: sqlite3.Connection, old: Path, dst: sqlite3.Connection) -> Salvaged:
    """Copy every readable row of ``events`` from ``old`` (open as ``src``) into ``dst``,
    whose ``events`` table exists; returns how many were saved and how many are lost."""
    insert = (
        f"INSERT OR IGNORE INTO events ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in COLUMNS)})"
    )
    seqs: set[int] = set()
    for batch in _batches(_sql_rows(src)):
        dst.executemany(insert, batch)
        seqs.update(_seq(row) for row in batch)
    try:
        pages: PageFile | None = PageFile(old)
    except OSError as exc:
        log.warning("salvage: %s cannot be read page by page: %s", old, exc)
        pages = None
    highest = _highest_seq(src)
    if pages is not None:
        fresh = (row for row in _page_rows(pages) if row[0] not in seqs)
        for batch in _batches(fresh):
            dst.executemany(insert, batch)
            seqs.update(_seq(row) for row in batch)
        highest = max(highest, _page_highest_seq(pages))
    if not seqs:
        return Salvaged(0, highest)
    top = max(highest, max(seqs))
    return Salvaged(len(seqs), top - min(seqs) + 1 - len(seqs))


@contextmanager
def whole_pages(old: Path, scratch: Path) -> Iterator[Path]:
    """``old``, or, if it ends in a torn page, a copy of its whole pages (and of its WAL)
    at ``scratch``, removed afterwards: the file SQLite may read for salvage."""
    try:
        with old.open("rb") as file:
            head = file.read(100)
            size = file.seek(0, 2)
    except OSError:
        yield old  # SQLite will say what is wrong with it
        return
    field = struct.unpack(">H", head[16:18])[0] if len(head) == 100 else 0
    page = 65536 if field == 1 else field
    if page < 512 or page & (page - 1) or size % page == 0:
        yield old  # whole pages, or no header SQLite would take
        return
    wal = old.with_name(old.name + "-wal")
    copies = [scratch, scratch.with_name(scratch.name + "-wal")]
    try:
        with old.open("rb") as src, scratch.open("wb") as dst:
            _copy_bytes(src, dst, size - size % page)
        if wal.exists():
            shutil.copyfile(wal, copies[1])
        yield scratch
    finally:
        for path in [*copies, scratch.with_name(scratch.name + "-shm")]:
            path.unlink(missing_ok=True)


def _copy_bytes(src: BinaryIO, dst: BinaryIO, count: int) -> None:
    while count > 0:
        chunk = src.read(min(count, 1 << 20))
        if not chunk:
            return
        dst.write(chunk)
        count -= len(chunk)


def _seq(row: tuple[Value, ...]) -> int:
    seq = row[0]
    assert isinstance(seq, int)  # every row was checked by _is_event
    return seq


def _batches(rows: Iterable[tuple[Value, ...]]) -> Iterator[list[tuple[Value, ...]]]:
    batch: list[tuple[Value, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sql_rows(src: sqlite3.Connection) -> Iterator[tuple[Value, ...]]:
    """Rows in seq order through SQLite, until the first page it cannot read."""
    cursor = 0
    while True:
        try:
            rows = src.execute(
                f"SELECT {', '.join(COLUMNS)} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (cursor, _BATCH),
            ).fetchall()
        except sqlite3.Error as exc:
            log.warning("salvage: SQLite stopped after seq %d: %s", cursor, exc)
            return
        if not rows:
            return
        for row in rows:
            if _is_event(row):
                yield tuple(row)
        highest = max(int(row[0]) for row in rows)
        if highest <= cursor:
            return  # a damaged tree handed back rows out of order: the pages take over
        cursor = highest


def _page_rows(pages: PageFile) -> Iterator[tuple[Value, ...]]:
    """Event rows from the file's pages: the table's b-tree, then orphaned leaves."""
    roots = [row[3] for row in pages.master() if row[:2] == ("table", "events")]
    visited: set[int] = set()
    for root in roots[:1]:
        if isinstance(root, int):
            yield from _events_of(pages.table_rows(root, visited))
    free = pages.freelist() or set()  # deleted rows wait there: never taken back
    for number in pages.leaf_pages():
        if number not in visited and number not in free:
            yield from _events_of(pages.leaf_rows(number))


def _events_of(rows: Iterable[tuple[int, tuple[Value, ...]]]) -> Iterator[tuple[Value, ...]]:
    for rowid, values in rows:
        if len(values) != len(COLUMNS) or values[0] not in (None, rowid):
            continue
        row = (rowid, *values[1:])
        if _is_event(row):
            yield row


def _is_event(row: tuple[Value, ...] | sqlite3.Row) -> bool:
    """The shape every event row has: anything else is not taken for one."""
    seq, ident, when, type_, door, details, sent = row
    if not (isinstance(seq, int) and seq > 0 and isinstance(ident, str) and ident):
        return False
    if not (isinstance(when, str) and isinstance(type_, str) and type_ in _TYPES):
        return False
    if not (door is None or isinstance(door, str)) or sent not in (0, 1, 2):
        return False
    try:
        datetime.fromisoformat(when)
        return isinstance(details, str) and isinstance(json.loads(details), dict)
    except ValueError:
        return False


def _highest_seq(src: sqlite3.Connection) -> int:
    try:
        row = src.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
    except sqlite3.Error:
        row = None
    return int(row[0]) if row else 0


def _page_highest_seq(pages: PageFile) -> int:
    roots = [row[3] for row in pages.master() if row[:2] == ("table", "sqlite_sequence")]
    for root in roots[:1]:
        if isinstance(root, int):
            for _, values in pages.table_rows(root, set()):
                if len(values) == 2 and values[0] == "events" and isinstance(values[1], int):
                    return values[1]
    return 0
