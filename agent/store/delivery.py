"""Where each event is on its way to the office: the ``sent`` column of the event log.

``PENDING`` (0): not yet taken by the broker. ``AT_BROKER`` (1): the broker sent its
PUBACK; that says the broker has it, not that the office does. ``RECEIVED`` (2): the
office committed it and said so in a signed receipt (or, with ``delivery = "puback"``,
the broker's PUBACK is taken as enough). Only RECEIVED events are done: the others are
published again after a reconnect, and retention drops them last.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import TypeAlias

from agent.store.db import transaction

PENDING, AT_BROKER, RECEIVED = 0, 1, 2


def _count(conn: sqlite3.Connection, sql: str, *args: object) -> int:
    return int(conn.execute(sql, args).fetchone()[0])


Writer: TypeAlias = "threading.RLock | None"  # the event log's writer lock (``EventLog.writer``)


# Seqs a transaction marks: a backlog (thousands of PUBACKs after a snapshot held the
# network thread) is marked a step at a time, and a decision waiting for the writer
# lock gets it between two steps instead of after all of them.
MARK_STEP = 256


def _steps(ranges: Iterable[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    """Inclusive seq ranges regrouped so that each group covers at most MARK_STEP seqs."""
    group: list[tuple[int, int]] = []
    size = 0
    for low, high in ranges:
        while low <= high:
            upto = min(high, low + MARK_STEP - size - 1)
            group.append((low, upto))
            size += upto - low + 1
            low = upto + 1
            if size == MARK_STEP:
                yield group
                group, size = [], 0
    if group:
        yield group


def _runs(seqs: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Sorted seqs as inclusive ranges of consecutive ones."""
    low = high = None
    for seq in sorted(set(seqs)):
        if high is not None and seq == high + 1:
            high = seq
            continue
        if low is not None and high is not None:
            yield low, high
        low = high = seq
    if low is not None and high is not None:
        yield low, high


def _mark(
    conn: sqlite3.Connection, ranges: Iterable[tuple[int, int]], state: int, writer: Writer
) -> int:
    changed = 0
    # a receipt's range may run far past what the log holds: step only over what is there
    first, last = conn.execute("SELECT min(seq), max(seq) FROM events").fetchone()
    if first is None:
        return 0
    held = ((max(low, first), min(high, last)) for low, high in ranges)
    for group in _steps(held):
        with transaction(conn, writer):
            for low, high in group:
                changed += conn.execute(
                    "UPDATE events SET sent = ? WHERE seq BETWEEN ? AND ? AND sent < ?",
                    (state, low, high, state),
                ).rowcount
    return changed


def mark(conn: sqlite3.Connection, seqs: Iterable[int], state: int, writer: Writer) -> None:
    """Move events forward to ``state`` (never back: a late PUBACK after a receipt)."""
    _mark(conn, _runs(seqs), state, writer)


def mark_ranges(conn: sqlite3.Connection, ranges: Iterable[tuple[int, int]], writer: Writer) -> int:
    """Events in the inclusive seq ranges are RECEIVED; returns how many changed."""
    return _mark(conn, ranges, RECEIVED, writer)


def reopen_from(conn: sqlite3.Connection, seq: int, writer: Writer) -> tuple[int, int | None]:
    """The office lost what it had from ``seq`` on: send those again.

    Returns (how many events will go again, the oldest seq still held or None).
    """
    with transaction(conn, writer):
        conn.execute(
            "UPDATE events SET sent = ? WHERE seq >= ? AND sent = ?", (AT_BROKER, seq, RECEIVED)
        )
        again = _count(conn, "SELECT count(*) FROM events WHERE seq >= ? AND sent < ?", seq, 2)
        row = conn.execute("SELECT min(seq) FROM events").fetchone()
    return again, (int(row[0]) if row and row[0] is not None else None)


def prune(conn: sqlite3.Connection, cutoff: str, max_rows: int, writer: Writer) -> int:
    """Retention: age first, then the oldest RECEIVED, then what the office never
    confirmed. Returns how many events were dropped before the office had them.

    The table has no index on time (it would cost every append a page): the expired
    rows are found by a read, which in WAL mode takes no lock, and deleted by seq.
    When there is nothing to drop, the write lock the decision path needs is not taken.
    """
    row = conn.execute("SELECT max(seq), count(*) FROM events WHERE time < ?", (cutoff,)).fetchone()
    expired_upto, expired = int(row[0] or 0), int(row[1])
    if not expired and _count(conn, "SELECT count(*) FROM events") <= max_rows:
        return 0
    with transaction(conn, writer):
        lost = _count(
            conn,
            "SELECT count(*) FROM events WHERE seq <= ? AND time < ? AND sent < ?",
            expired_upto,
            cutoff,
            RECEIVED,
        )
        conn.execute("DELETE FROM events WHERE seq <= ? AND time < ?", (expired_upto, cutoff))
        for state_clause in ("sent = 2", "sent = 1", "1"):
            excess = _count(conn, "SELECT count(*) FROM events") - max_rows
            if excess <= 0:
                break
            if state_clause != "sent = 2":
                lost += min(
                    excess,
                    _count(conn, f"SELECT count(*) FROM events WHERE {state_clause} "
                           f"AND sent < {RECEIVED}"),
                )  # fmt: skip
            conn.execute(
                f"DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE {state_clause} "
                "ORDER BY seq LIMIT ?)",
                (excess,),
            )
    return lost
